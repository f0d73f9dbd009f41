"""rpt_cache_efficiency from the days' sums of int_daily_cache_uses_judged: a refresh that
lands a cache read just after midnight recomputes the flags of the day before (a write it
reads is no longer wasted), and a refresh after a price change recomputes every day's
counterfactuals. Each incremental state is compared with the same model rebuilt from
scratch on the same request fact, and the flags with values worked out by hand."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from aiusage.ingest import ingest
from tests.support.cli_env import dbt_env, run_dbt_ok, warehouse_rows
from tests.support.project import copy_project

pytestmark = pytest.mark.slow

SELECTION = "+rpt_cache_efficiency"
STATE = "int_daily_cache_uses_judged"
# claude-3-5-haiku per million tokens (seeds/model_prices.csv): input 0.80, cache read 0.08,
# 5-minute write 1.00, 1-hour write 1.60
MODEL = "claude-3-5-haiku"
WRITE = 1_000_000


def _event(request_id, occurred_at, session, workflow="wf", **tokens):
    return {
        "request_id": request_id,
        "occurred_at": occurred_at,
        "provider": "anthropic",
        "model": MODEL,
        "team": "t",
        "workflow": workflow,
        "session_id": session,
        "input_tokens": str(WRITE),
        "output_tokens": "10",
        **{k: str(v) for k, v in tokens.items()},
    }


def _land(root, landing, name, landing_day, events):
    path = root / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    ingest(landing, "events", [path], landing_day)


def _state(env):
    return warehouse_rows(
        env, f"select * from {STATE} order by usage_date, workflow, provider, model"
    )


def _same_as_a_rebuild(env, project):
    """The incremental state equals the model rebuilt from the same request fact and seeds."""
    incremental = _state(env)
    run_dbt_ok(env, project, "run", "--quiet", "--full-refresh", "--select", STATE)
    assert _state(env) == incremental


def _day(env, day, workflow="wf", columns="wasted_cache_write_usd, ttl_1h_extra_usd"):
    (row,) = warehouse_rows(
        env,
        f"""select wasted_write_requests, {columns}
            from {STATE} where usage_date = '{day}' and workflow = '{workflow}'""",
    )
    return row


# Workflow "edge": cache uses an hour or less from a recomputed day on the day beyond it, which
# a refresh that lands 2026-11-17 (recomputing 2026-11-16 to 2026-11-18) judges those days'
# uses among, and uses further away, which it need not read.
EDGE = [
    # a late read at 00:10 of a 1-hour write at 23:30 the day before (40 minutes: more than
    # the 5-minute TTL, within the hour)
    _event("e-1", "2026-11-15T23:30:00Z", "e1", "edge", cache_write_tokens=WRITE,
           cache_write_1h_tokens=WRITE),
    _event("e-2", "2026-11-16T00:10:00Z", "e1", "edge", cache_read_tokens=WRITE),
    # a read at 00:20 whose context's last use was 12 hours before: not late (no 1-hour
    # write within the hour)
    _event("e-3", "2026-11-15T12:20:00Z", "e2", "edge", cache_write_tokens=WRITE,
           cache_write_1h_tokens=WRITE),
    _event("e-4", "2026-11-16T00:20:00Z", "e2", "edge", cache_read_tokens=WRITE),
    # a 1-hour write at 23:50 read 40 minutes later, after midnight: not wasted
    _event("e-5", "2026-11-18T23:50:00Z", "e3", "edge", cache_write_tokens=WRITE,
           cache_write_1h_tokens=WRITE),
    _event("e-6", "2026-11-19T00:30:00Z", "e3", "edge", cache_read_tokens=WRITE),
]  # fmt: skip


def test_a_read_after_midnight_and_a_price_change_recompute_the_days_they_touch(tmp_path):
    project = copy_project(tmp_path / "project")
    root = tmp_path / "wh"
    root.mkdir()
    landing = root / "landing"
    env = dbt_env(root, project)
    # an old day, landed long before the latest landing day (outside the look-back window),
    # and a 5-minute write at 23:58 that nothing reads yet
    _land(
        root,
        landing,
        "old.jsonl",
        date(2026, 11, 2),
        [_event("old-1", "2026-11-01T09:00:00Z", "s0", cache_write_tokens=WRITE)],
    )
    _land(
        root,
        landing,
        "day1.jsonl",
        date(2026, 11, 17),
        [_event("w-1", "2026-11-16T23:58:00Z", "s1", cache_write_tokens=WRITE), *EDGE],
    )
    run_dbt_ok(env, project, "seed", "--quiet")
    run_dbt_ok(env, project, "run", "--quiet", "--select", SELECTION)
    # premium of a wasted 5-minute write: 1M tokens at 1.00 instead of 0.80
    premium = Decimal("0.20")
    # 1-hour rate over the 5-minute rate of the written tokens: 1.60 - 1.00
    assert _day(env, "2026-11-16") == (1, premium, Decimal("0.60"))
    assert _day(env, "2026-11-01") == (1, premium, Decimal("0.60"))

    # a read of s1's cache three minutes later, on the next usage day
    _land(
        root,
        landing,
        "day2.jsonl",
        date(2026, 11, 18),
        [_event("r-1", "2026-11-17T00:01:00Z", "s1", cache_read_tokens=WRITE)],
    )
    run_dbt_ok(env, project, "run", "--quiet", "--select", SELECTION)
    assert _day(env, "2026-11-16") == (0, None, Decimal("0.60"))
    # the recomputed edge days judged with their neighbours beyond: one late read on
    # 2026-11-16 (e-2, not e-4), no wasted write on 2026-11-18 (e-5 was read)
    assert _day(env, "2026-11-16", "edge", "late_read_requests") == (0, 1)
    assert _day(env, "2026-11-18", "edge", "late_read_requests") == (0, 0)
    ((wasted, cost, reads),) = warehouse_rows(
        env,
        "select wasted_write_requests, wasted_cache_write_usd, cache_read_requests "
        "from rpt_cache_efficiency where workflow = 'wf'",
    )
    # the window (28 days to 2026-11-17) holds the three requests: the old write is wasted
    assert (wasted, cost, reads) == (1, premium, 1)
    _same_as_a_rebuild(env, project)

    # a new 5-minute write price: the next refresh reprices every day's counterfactuals,
    # the old day's too, although no landed row of it is re-read
    prices = project / "seeds" / "model_prices.csv"
    lines = prices.read_text().splitlines(keepends=True)
    (i,) = [n for n, line in enumerate(lines) if line.startswith(f"anthropic,{MODEL},")]
    fields = lines[i].split(",")
    assert fields[8] == "1"  # cache_write_5m_usd_per_mtok
    fields[8] = "1.2"
    lines[i] = ",".join(fields)
    prices.write_text("".join(lines))
    run_dbt_ok(env, project, "seed", "--quiet", "--select", "model_prices")
    run_dbt_ok(env, project, "run", "--quiet", "--select", SELECTION)
    assert _day(env, "2026-11-01")[2] == Decimal("0.40")  # 1.60 - 1.20
    _same_as_a_rebuild(env, project)
