"""The report sections over the efficiency, performance and audit marts, on rows of their
contracts: what they show, and that a filtered report (a team's) leaves out the marts that
have no team."""

from __future__ import annotations

from datetime import date

import pytest

from aiusage.reporting.build import build_report
from aiusage.reporting.period import ReportWindow
from tests.support.contract_warehouse import DAILY_USAGE, contract_warehouse

WEEK = ReportWindow(date(2026, 11, 14), date(2026, 11, 20))
ALL_TEAMS_ONLY = [
    "model_efficiency", "error_types", "latency_percentiles", "cost_reconciliation",
    "provider_reconciliation", "landed_files",
]  # fmt: skip


@pytest.fixture
def warehouse(tmp_path):
    cau = [
        {"cost_per_active_user_key": f"{team}{days}", "window_days": days, "team": team,
         "window_start_date": "2026-11-14", "window_end_date": "2026-11-20",
         "is_window_complete": True, "active_users": users, "total_cost_usd": cost,
         "cost_per_active_user_usd": cost / users}
        for team, days, users, cost in [("(all teams)", 7, 3, 3.5), ("search", 7, 2, 1.5),
                                        ("legal", 7, 1, 2.0), ("(all teams)", 30, 4, 8.0),
                                        ("search", 30, 2, 6.0)]
    ]  # fmt: skip
    errors = [
        {"error_rate_key": f"e{i}", "usage_date": day, "provider": "openai", "model": "gpt-4o",
         "status": status, "error_type": kind, "failed_requests": n, "model_requests": 10,
         "error_rate": n / 10}
        for i, (day, status, kind, n) in enumerate([
            ("2026-11-20", "error", "server_error", 2), ("2026-11-19", "error", "server_error", 1),
            ("2026-11-20", "timeout", "timeout", 1), ("2026-11-01", "error", "server_error", 9),
        ])
    ]  # fmt: skip
    files = [
        {"source_file": name, "source_system": "events", "landing_date": day,
         "landed_rows": 100, "accepted_rows": 100 - rejected, "duplicate_rows": 0,
         "conflicting_duplicate_rows": 0, "rejected_rows": rejected, "reject_rate": rejected / 100}
        for name, day, rejected in [("a.jsonl", "2026-11-18", 3), ("b.jsonl", "2026-11-19", 0),
                                    ("c.jsonl", "2026-11-20", 1), ("d.jsonl", "2026-11-02", 7)]
    ]  # fmt: skip
    drift = [
        {"reconciliation_key": f"d{i}", "usage_date": "2026-11-19", "provider": "openai",
         "model": model, "reported_requests": 5, "reported_cost_usd": reported,
         "computed_cost_usd": 1.0, "drift_usd": reported - 1.0,
         "drift_pct": (reported - 1.0) * 100, "is_drift_over_threshold": flagged}
        for i, (model, reported, flagged) in enumerate([("gpt-4o", 1.2, True),
                                                        ("gpt-4o-mini", 1.001, False)])
    ]  # fmt: skip
    return contract_warehouse(
        tmp_path / "w.duckdb",
        {
            "fct_daily_usage": DAILY_USAGE,
            "rpt_cost_per_active_user": cau,
            "rpt_error_rates": errors,
            "rpt_landing_accounting": files,
            "rpt_cost_reconciliation": drift,
        },
    )


def _cau(report):
    return [
        (r["team"], r["window_days"], r["active_users"], float(r["cost_per_active_user_usd"]))
        for r in report["cost_per_active_user"]
    ]


def test_sections_read_their_marts_over_the_period(warehouse):
    report = build_report(warehouse, WEEK)
    # the period's own CAU from DAILY_USAGE (u1 search $1.50, u2 legal $2.00, u3 search
    # unpriced), then the mart's other windows ending on 2026-11-20 (its 7-day rows are the
    # period's)
    assert _cau(report) == [
        ("(all teams)", 7, 3, pytest.approx(3.5 / 3)),
        ("legal", 7, 1, 2.0),
        ("search", 7, 2, 0.75),
        ("(all teams)", 30, 4, 2.0),
        ("search", 30, 2, 3.0),
    ]
    assert all(r["is_window_complete"] for r in report["cost_per_active_user"])
    assert [
        (r["status"], r["error_type"], r["failed_requests"]) for r in report["error_types"]
    ] == [
        ("error", "server_error", 3),
        ("timeout", "timeout", 1),
    ]  # 2026-11-01 is outside the period
    assert [r["source_file"] for r in report["landed_files"]] == ["a.jsonl", "c.jsonl"]
    assert [r["model"] for r in report["cost_reconciliation"]] == ["gpt-4o"]


def test_a_team_report_leaves_out_what_has_no_team(warehouse):
    report = build_report(warehouse, WEEK, {"team": "search"})
    assert _cau(report) == [("search", 7, 2, 0.75), ("search", 30, 2, 3.0)]
    for key in ALL_TEAMS_ONLY:
        assert report[key] == [], key
    client = build_report(warehouse, WEEK, {"client": "acme"})
    # acme: u1 (search, $1.50) and u2 (legal, $2.00); the mart has no client: no windows
    assert _cau(client) == [
        ("(all teams)", 7, 2, 1.75),
        ("legal", 7, 1, 2.0),
        ("search", 7, 1, 1.5),
    ]


def test_cost_per_active_user_of_any_period(warehouse):
    """A past period gets its own CAU (the mart's windows end on the data's last day); one
    the data does not cover whole says so; a period without usage has no row."""
    past = build_report(warehouse, ReportWindow(date(2026, 11, 4), date(2026, 11, 10)))
    assert _cau(past) == [("(all teams)", 7, 1, 1.75), ("search", 7, 1, 1.75)]  # u1 on 11-10
    assert [r["is_window_complete"] for r in past["cost_per_active_user"]] == [False, False]
    empty = build_report(warehouse, ReportWindow(date(2026, 10, 1), date(2026, 10, 7)))
    assert empty["cost_per_active_user"] == []
