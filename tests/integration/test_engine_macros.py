"""Engine macros rendered and run by dbt itself (`dbt show --inline`) on DuckDB:
ordered_sum / ordered_avg (macros/engine/text.sql), a group's doubles added in ascending
order, whatever order its rows arrive in, so that a mart summing doubles is the same in
every build (rpt_cost_change_drivers, rpt_budget_status); value_at_min / value_at_max
(macros/engine/text.sql), a group's value on its first or last row by several order
columns; record_key_prefix (macros/engine/lookup.sql), the narrow key of the delivery
lookups' index; the DuckDB settings profiles.yml gives dbt's connection."""

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


def test_a_groups_value_at_its_first_and_last_row_by_the_order_columns(tmp_path):
    """value_at_min / value_at_max: the order columns compared one after the other (the
    second decides a tie on the first; a null orders after every value), whatever the
    value; the value may be a struct (struct_of), read back field by field."""
    rows = [  # (group, first order column, second order column, value)
        ("a", 5, "m", "a-5m"), ("a", 5, "b", "a-5b"), ("a", 7, "a", "a-7a"),
        ("a", 1, None, "a-1null"), ("a", 1, "z", "a-1z"),
        ("b", None, "a", "b-nulla"), ("b", 3, "q", "b-3q"),
        ("c", 2, "k", "c-2k"),
    ]  # fmt: skip

    def order(row):  # a null after every value, as SQL's default ascending order puts it
        return tuple((value is None, value) for value in row[1:3])

    expected = []
    for group in sorted({row[0] for row in rows}):
        members = sorted((row for row in rows if row[0] == group), key=order)
        first, last = members[0][3], members[-1][3]
        expected.append(
            {"grp": group, "first_value": first, "last_value": last, "last_tag": last[:1]}
        )
    assert expected[0]["first_value"] == "a-1z" and expected[0]["last_value"] == "a-7a"
    assert expected[1]["first_value"] == "b-3q" and expected[1]["last_value"] == "b-nulla"

    def literal(value):
        return "cast(null as string)" if value is None else f"'{value}'"

    values = ", ".join(
        f"('{g}', {'cast(null as integer)' if k1 is None else k1}, {literal(k2)}, '{v}')"
        for g, k1, k2, v in rows
    )
    tagged = "struct_of({'tag': 'left(v, 1)', 'v': 'v'})"
    shown = _show(
        tmp_path,
        f"""
        select
            grp,
            {{{{ value_at_min('v', ['k1', 'k2']) }}}} as first_value,
            {{{{ value_at_max('v', ['k1', 'k2']) }}}} as last_value,
            {{{{ struct_field(value_at_max({tagged}, ['k1', 'k2']), 'tag') }}}} as last_tag
        from (values {values}) as t(grp, k1, k2, v)
        group by grp
        order by grp
        """,
    )
    assert shown == expected


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


def test_dbts_duckdb_connection_has_the_profiles_settings(tmp_path):
    """profiles.yml's `config_options` reach the connection dbt builds on: the 2300MB
    memory limit (the 10M build within 3 GB), no insertion order, and a 64MB checkpoint
    threshold (DuckDB's default is 16MB: docs/performance.md, forty-eighth round)."""
    rows = _show(
        tmp_path,
        """
        select
            current_setting('memory_limit') as memory_limit,
            current_setting('preserve_insertion_order') as preserve_insertion_order,
            current_setting('checkpoint_threshold') as checkpoint_threshold,
            current_setting('threads') as threads
        """,
    )
    # DuckDB prints sizes in binary units: 2300MB = 2,300,000,000 bytes = 2.1 GiB
    assert rows == [
        {
            "memory_limit": f"{2300 * 10**6 / 2**30:.1f} GiB",
            "preserve_insertion_order": False,
            "checkpoint_threshold": f"{64 * 10**6 / 2**20:.1f} MiB",
            "threads": 2,
        }
    ]
