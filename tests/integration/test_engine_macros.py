"""Engine macros rendered and run by dbt itself (`dbt show --inline`) on DuckDB:
ordered_sum / ordered_avg (macros/engine/text.sql), a group's doubles added in ascending
order, whatever order its rows arrive in, so that a mart summing doubles is the same in
every build (rpt_cost_change_drivers, rpt_budget_status); record_key_prefix
(macros/engine/lookup.sql), the narrow key of the delivery lookups' index."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.cli_env import dbt_env, run_dbt

PROJECT = Path(__file__).resolve().parents[2]


def _show(tmp_path: Path, sql: str) -> list[dict]:
    result = run_dbt(
        dbt_env(tmp_path, PROJECT), PROJECT, "--quiet", "show", "--inline", sql, "--output", "json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["show"]


def test_a_groups_doubles_are_added_in_ascending_order(tmp_path):
    # Added in the order listed, 1e16 + 1 rounds back to 1e16 (the doubles there are 2 apart)
    # twice; in ascending order 1 + 1 = 2 comes first and survives.
    values = [1e16, 1.0, 1.0]
    assert values[0] + values[1] + values[2] == 1e16
    assert sum(sorted(values)) == 1e16 + 2
    rows = _show(
        tmp_path,
        """
        select
            grp,
            {{ ordered_sum('x') }} as total,
            {{ ordered_avg('x') }} as mean
        from (values
            ('a', cast(1e16 as double)), ('a', cast(1 as double)), ('a', cast(1 as double)),
            ('b', cast(null as double)), ('b', cast(null as double))
        ) as t(grp, x)
        group by grp
        order by grp
        """,
    )
    assert rows == [
        {"grp": "a", "total": 1e16 + 2, "mean": (1e16 + 2) / 3},
        {"grp": "b", "total": None, "mean": None},  # no value: null, as sum and avg give
    ]


def test_a_record_keys_prefix_is_its_first_15_hex_digits_as_a_number(tmp_path):
    """record_key_prefix (macros/engine/lookup.sql), the key of fct_landed_rows' record-day
    index: the largest 15-digit prefix still fits a BIGINT; a null key (a rejected row)
    gives null."""
    keys = [hashlib.md5(b"p|r1").hexdigest(), "f" * 32, "0" * 31 + "1"]
    rows = _show(
        tmp_path,
        "select k, {{ record_key_prefix('k') }} as prefix from (values "
        + ", ".join(f"('{key}')" for key in keys)
        + ", (cast(null as string))) as t(k) order by k nulls last",
    )
    assert rows == [{"k": key, "prefix": int(key[:15], 16)} for key in sorted(keys)] + [
        {"k": None, "prefix": None}
    ]
    assert int("f" * 15, 16) < 2**63
