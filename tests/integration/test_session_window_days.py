"""int_sessions_windowed keeps its sessions between refreshes and recomputes only those a
refresh can change (macro delete_window_sessions_to_recompute): a session continued after
midnight, the window moving past a session's first day, a late request of an older day in
the window, a request delivered again under another session. After each refresh the
incremental state is compared with the model rebuilt from scratch on the same request fact,
and rpt_session_costs (a view over it and int_session_baselines_measured) with values worked out by
hand."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from aiusage.ingest import ingest
from tests.support.cli_env import dbt_env, run_dbt_ok, warehouse_rows
from tests.support.project import copy_project

pytestmark = pytest.mark.slow

SELECTION = "+rpt_session_costs"
STATE = "int_sessions_windowed"
WINDOW_DAYS = 3
# gpt-4o-mini per million tokens (seeds/model_prices.csv): input 0.15, output 0.60
MODEL = "gpt-4o-mini"


def _event(request_id, occurred_at, session, workflow="wf"):
    return {
        "request_id": request_id,
        "occurred_at": occurred_at,
        "provider": "openai",
        "model": MODEL,
        "team": "t",
        "workflow": workflow,
        "session_id": session,
        "input_tokens": "1000000",
        "output_tokens": "0",
    }


def _land(root, name, landing_day, events):
    path = root / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    ingest(root / "landing", "events", [path], landing_day)


def _refresh(env, project):
    run_dbt_ok(env, project, "build", "--quiet", "--exclude-resource-type", "unit_test",
        "--indirect-selection", "cautious", "--select", SELECTION)  # fmt: skip


def _state(env):
    return warehouse_rows(env, f"select * from {STATE} order by session_id")


def _sessions(env):
    """{session: (first day, last day, requests, cost)} of the incremental state."""
    rows = warehouse_rows(
        env,
        f"select session_id, usage_date, last_usage_date, requests, cost_usd from {STATE}",
    )
    return {row[0]: row[1:] for row in rows}


def _same_as_a_rebuild(env, project):
    """The incremental state and the mart read from it equal a rebuild from scratch."""
    incremental = _state(env)
    mart = warehouse_rows(env, "select * from rpt_session_costs order by session_id")
    run_dbt_ok(env, project, "run", "--quiet", "--full-refresh", "--select", STATE)
    assert _state(env) == incremental
    assert warehouse_rows(env, "select * from rpt_session_costs order by session_id") == mart


def test_a_refresh_recomputes_the_sessions_its_days_and_the_window_change(tmp_path):
    project = copy_project(tmp_path / "project")
    config = project / "dbt_project.yml"
    text = config.read_text()
    assert "  analysis_window_days: 30\n" in text
    config.write_text(text.replace(
        "  analysis_window_days: 30\n", f"  analysis_window_days: {WINDOW_DAYS}\n"
    ))  # fmt: skip
    root = tmp_path / "wh"
    root.mkdir()
    env = dbt_env(root, project)
    cost = Decimal("0.15")  # a request: 1M input tokens at $0.15 per million

    # 2026-11-10: s1 (two requests), s2 starts at 23:50
    _land(root, "d10.jsonl", date(2026, 11, 10), [
        _event("a1", "2026-11-10T09:00:00Z", "s1"),
        _event("a2", "2026-11-10T09:30:00Z", "s1"),
        _event("b1", "2026-11-10T23:50:00Z", "s2"),
    ])  # fmt: skip
    run_dbt_ok(env, project, "seed", "--quiet")
    _refresh(env, project)
    assert _sessions(env) == {
        "s1": (date(2026, 11, 10), date(2026, 11, 10), 2, 2 * cost),
        "s2": (date(2026, 11, 10), date(2026, 11, 10), 1, cost),
    }

    # 2026-11-11: s2 goes on after midnight, s3 starts; s1 is not touched and stays stored
    _land(root, "d11.jsonl", date(2026, 11, 11), [
        _event("b2", "2026-11-11T00:10:00Z", "s2"),
        _event("c1", "2026-11-11T12:00:00Z", "s3"),
    ])  # fmt: skip
    _refresh(env, project)
    assert _sessions(env) == {
        "s1": (date(2026, 11, 10), date(2026, 11, 10), 2, 2 * cost),
        "s2": (date(2026, 11, 10), date(2026, 11, 11), 2, 2 * cost),
        "s3": (date(2026, 11, 11), date(2026, 11, 11), 1, cost),
    }
    ((started, ended, minutes),) = warehouse_rows(
        env,
        "select started_at, ended_at, duration_minutes from rpt_session_costs "
        "where session_id = 's2'",
    )
    assert (str(started), str(ended), minutes) == (
        "2026-11-10 23:50:00",
        "2026-11-11 00:10:00",
        20.0,
    )
    _same_as_a_rebuild(env, project)

    # 2026-11-13: the window (3 days) is 11-11 to 11-13. s1 leaves; s2 keeps its day of
    # 11-11 only (one request, from 00:10)
    _land(root, "d13.jsonl", date(2026, 11, 13), [_event("d1", "2026-11-13T08:00:00Z", "s4")])
    _refresh(env, project)
    assert _sessions(env) == {
        "s2": (date(2026, 11, 11), date(2026, 11, 11), 1, cost),
        "s3": (date(2026, 11, 11), date(2026, 11, 11), 1, cost),
        "s4": (date(2026, 11, 13), date(2026, 11, 13), 1, cost),
    }
    ((started,),) = warehouse_rows(
        env, "select started_at from rpt_session_costs where session_id = 's2'"
    )
    assert str(started) == "2026-11-11 00:10:00"
    _same_as_a_rebuild(env, project)

    # a late request of s3 on 11-12, landed with 11-14's files: a day in the window that
    # no stored session spans, and s3's row grows
    _land(root, "late.jsonl", date(2026, 11, 14), [_event("c2", "2026-11-12T10:00:00Z", "s3")])
    _refresh(env, project)
    assert _sessions(env)["s3"] == (date(2026, 11, 11), date(2026, 11, 12), 2, 2 * cost)
    _same_as_a_rebuild(env, project)

    # c1 delivered again under session s5 (landed on 11-15: the refresh touches 11-11
    # alone, where s3 no longer has a request): s3 keeps c2 alone, s5 is new
    _land(root, "again.jsonl", date(2026, 11, 15), [_event("c1", "2026-11-11T12:00:00Z", "s5")])
    _refresh(env, project)
    sessions = _sessions(env)
    assert sessions["s3"] == (date(2026, 11, 12), date(2026, 11, 12), 1, cost)
    assert sessions["s5"] == (date(2026, 11, 11), date(2026, 11, 11), 1, cost)
    _same_as_a_rebuild(env, project)

    # nothing landed: nothing changes
    before = _state(env)
    _refresh(env, project)
    assert _state(env) == before
    # the baselines over the window's sessions: s2, s3, s4, s5 with 1 request each
    ((sessions_of_wf, p95),) = warehouse_rows(
        env,
        "select workflow_sessions, workflow_p95_requests from rpt_session_costs "
        "where session_id = 's4'",
    )
    assert (sessions_of_wf, p95) == (4, 1.0)

    # the landed file of 11-13 changed in place (a provider's export written again): its
    # request of s4 moves to 11-12. The data's last usage day goes back to 11-12, and so
    # does the window (11-10 to 11-12): s1 comes back and s2 has its day of 11-10 again,
    # neither touched by the refresh (days before the first stored one); s4 moves to 11-12
    (landed,) = (root / "landing" / "events" / "dt=2026-11-13").glob("*-d13.*.jsonl")
    landed.write_text(json.dumps(_event("d1", "2026-11-12T08:00:00Z", "s4")) + "\n")
    _refresh(env, project)
    assert _sessions(env) == {
        "s1": (date(2026, 11, 10), date(2026, 11, 10), 2, 2 * cost),
        "s2": (date(2026, 11, 10), date(2026, 11, 11), 2, 2 * cost),
        "s3": (date(2026, 11, 12), date(2026, 11, 12), 1, cost),
        "s4": (date(2026, 11, 12), date(2026, 11, 12), 1, cost),
        "s5": (date(2026, 11, 11), date(2026, 11, 11), 1, cost),
    }
    _same_as_a_rebuild(env, project)
