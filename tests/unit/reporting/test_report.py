"""The report over a small warehouse built from the marts' contracts: every figure below is
computed by hand from the rows of tests/support/contract_warehouse.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import duckdb
import pytest
from click.testing import CliRunner

from aiusage.cli import main
from aiusage.reporting.build import build_report, convert_currency
from aiusage.reporting.period import ReportQuery, ReportWindow, report_window
from aiusage.reporting.render import render_csv, render_json, render_markdown, render_text
from tests.support.contract_warehouse import contract_warehouse, small_warehouse

WEEK = ReportWindow(date(2026, 11, 14), date(2026, 11, 20))


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    path = small_warehouse(tmp_path / "small.duckdb")
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(path))
    return path


def test_latency_is_percentiles_of_interactive_requests_with_batch_and_flex_apart(tiny):
    """contract_warehouse.LLM_REQUESTS, by hand (continuous percentiles: p at position
    (n - 1) x p of the sorted values): gpt-4o's successful standard requests 100, 200, 300,
    400 ms -> p50 250, p95 300 + 0.85 x 100 = 385; its batch success (600,000 ms) and its
    timeout are not in them."""
    report = build_report(tiny, WEEK)
    models = {r["model"]: r for r in report["by_model"]}
    latency = {m: (r["latency_p50_ms"], r["latency_p95_ms"]) for m, r in models.items()}
    assert latency == {
        "gpt-4o": (250, 385),
        "claude-sonnet-4-5": (1500, 1950),  # 1000, 2000; the flex request apart
        "gemini-3-pro-preview": (400, 400),
    }
    assert models["gpt-4o"]["ttft_p50_ms"] == 65  # 50, 60, 70, 80
    assert models["claude-sonnet-4-5"]["ttft_p50_ms"] is None  # none reported
    workflows = {r["workflow"]: (r["latency_p50_ms"], r["latency_p95_ms"])
                 for r in report["by_workflow"]}  # fmt: skip
    # docs-qa: 100, 200, 300, 400, 400 -> p50 300, p95 400 + 0.8 x 0 = 400
    assert workflows == {"docs-qa": (300, 400), "legal-research": (1500, 1950)}
    teams = {r["team"]: (r["latency_p50_ms"], r["latency_p95_ms"]) for r in report["by_team"]}
    assert teams == {"search": (300, 400), "legal": (1500, 1950)}
    tiers = {r["service_tier"]: (round(r["latency_p50_ms"], 6), round(r["latency_p95_ms"], 6))
             for r in report["latency_by_tier"]}  # fmt: skip
    # standard: 100, 200, 300, 400, 400, 1000, 2000 -> p50 400, p95 1000 + 0.7 x 1000
    assert tiers == {"standard": (400, 1700), "batch": (600_000, 600_000), "flex": (9000, 9000)}


def test_latency_by_day_keeps_batch_and_flex_apart(tiny):
    from aiusage.reporting.usage import latency_by_day

    with duckdb.connect(str(tiny), read_only=True) as con:
        rows = latency_by_day(con, ReportQuery(WEEK))
    by_day = {
        r["usage_date"]: tuple(
            None if r[k] is None else round(r[k], 6)
            for k in ("latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "batch_latency_p95_ms",
                      "flex_latency_p95_ms")
        )
        for r in rows
    }  # fmt: skip
    assert by_day == {
        # 400, 1000, 2000 -> p50 1000, p95 1000 + 0.9 x 1000; the flex request apart
        date(2026, 11, 19): (1000, 1900, 100, None, 9000),
        date(2026, 11, 20): (250, 385, 65, 600_000, None),
    }


def test_summary_and_change_vs_previous_period(tiny):
    report = build_report(tiny, WEEK)
    s = report["summary"]
    assert s["requests"] == 16 and s["successful_requests"] == 13
    assert s["total_cost_usd"] == Decimal("3.50")
    assert s["success_rate"] == pytest.approx(13 / 16)
    # 3.50 over the 14 priced requests; the 2 unpriced ones have no cost
    assert s["cost_per_request_usd"] == Decimal("0.25")
    assert s["previous_total_cost_usd"] == Decimal("1.75")
    assert s["cost_change_pct"] == pytest.approx(100.0)
    assert report["period"]["previous_start"] == date(2026, 11, 7)


def test_sections_group_and_order_by_cost(tiny):
    report = build_report(tiny, WEEK)
    assert [(r["team"], r["total_cost_usd"], r["requests"]) for r in report["by_team"]] == [
        ("legal", Decimal("2.00"), 4),
        ("search", Decimal("1.50"), 12),
    ]
    assert [(r["client"], r["requests"]) for r in report["by_client"]] == [
        ("acme", 14),
        ("globex", 2),
    ]
    search = next(r for r in report["by_team"] if r["team"] == "search")
    assert search["success_rate"] == pytest.approx(9 / 12)
    assert search["avg_quality_score"] == pytest.approx(0.8)
    assert search["pass_rate"] == pytest.approx(0.75)
    models = {r["model"]: r for r in report["by_model"]}
    assert models["gemini-3-pro-preview"]["total_cost_usd"] is None
    assert [r["usage_date"] for r in report["by_day"]] == [date(2026, 11, 19), date(2026, 11, 20)]
    assert {(r["status"], r["model"], r["failed_requests"]) for r in report["errors"]} == {
        ("error", "gpt-4o", 1),
        ("timeout", "gpt-4o", 1),
        ("rate_limited", "gemini-3-pro-preview", 1),
    }


def test_by_feature_shows_cost_tokens_and_errors_per_feature(tiny):
    """contract_warehouse.DAILY_USAGE by hand, week 2026-11-14..20: answer-search is u1's
    day (10 requests, 8 ok, an error and a timeout, 1,200 tokens, $1.50 over 10 priced
    requests); contract-review u2's (4 requests, all ok, 500 tokens, $2.00); globex's
    events carried no feature (2 requests, 1 ok, 1 rate limited, 60 tokens, both unpriced:
    no cost, no cost per request). Ordered by cost, the unpriced group last."""
    report = build_report(tiny, WEEK)
    rows = [
        (r["feature"], r["total_cost_usd"], r["requests"], r["total_tokens"],
         r["cost_per_request_usd"], r["failed_requests"], r["unpriced_requests"])
        for r in report["by_feature"]
    ]  # fmt: skip
    assert rows == [
        ("contract-review", Decimal("2.00"), 4, 500, pytest.approx(0.50), 0, 0),
        ("answer-search", Decimal("1.50"), 10, 1200, pytest.approx(0.15), 2, 0),
        ("(unattributed)", None, 2, 60, None, 1, 2),
    ]
    rates = {r["feature"]: (r["success_rate"], r["error_rate"]) for r in report["by_feature"]}
    assert rates == {
        "contract-review": (pytest.approx(1.0), pytest.approx(0.0)),
        "answer-search": (pytest.approx(8 / 10), pytest.approx(2 / 10)),
        "(unattributed)": (pytest.approx(1 / 2), pytest.approx(1 / 2)),
    }
    # the period and the filters: globex's requests only; the previous week's answer-search
    # day (2026-11-10, $1.75) is in no row
    (globex,) = build_report(tiny, WEEK, {"client": "globex"})["by_feature"]
    assert (globex["feature"], globex["requests"]) == ("(unattributed)", 2)
    previous = ReportWindow(date(2026, 11, 7), date(2026, 11, 13))
    assert [(r["feature"], r["total_cost_usd"], r["requests"])
            for r in build_report(tiny, previous)["by_feature"]] == [
        ("answer-search", Decimal("1.75"), 5)
    ]  # fmt: skip
    text = render_text(report)
    assert "\nBY FEATURE\n" in text
    assert "| contract-review | $2.00 | 4 |" in render_markdown(report)


def test_warnings_list_unpriced_and_rejected_in_period(tiny):
    warnings = build_report(tiny, WEEK)["warnings"]
    (unpriced,) = warnings["unpriced_usage"]
    assert (unpriced["provider"], unpriced["model"]) == ("google", "gemini-3-pro-preview")
    assert (unpriced["reasons"], unpriced["requests"]) == ("unknown_model", 2)
    # with a team filter the mart (no team column) cannot be used: fct_daily_usage counts
    by_team = build_report(tiny, WEEK, {"team": "search"})["warnings"]["unpriced_usage"]
    assert by_team == [
        {"provider": "google", "model": "gemini-3-pro-preview", "reasons": None, "requests": 2}
    ]
    # nor with a client filter: the unpriced requests are all globex's (it once listed
    # every client's under acme)
    for client, expected in (("acme", []), ("globex", by_team)):
        by_client = build_report(tiny, WEEK, {"client": client})["warnings"]["unpriced_usage"]
        assert by_client == expected
    assert warnings["rejected_lines"] == [{"rejection_reason": "malformed_json", "lines": 2}]


def test_filters_apply_to_both_periods(tiny):
    report = build_report(tiny, WEEK, {"team": "search"})
    s = report["summary"]
    assert (s["requests"], s["total_cost_usd"]) == (12, Decimal("1.50"))
    assert s["cost_change_pct"] == pytest.approx((1.50 - 1.75) / 1.75 * 100)
    assert build_report(tiny, WEEK, {"client": "globex", "user": "u3"})["summary"]["requests"] == 2
    assert build_report(tiny, WEEK, {"team": "nobody"})["summary"]["requests"] == 0


def test_filter_values_are_bound_not_spliced(tiny):
    report = build_report(tiny, WEEK, {"team": "search' or '1'='1"})
    assert report["summary"]["requests"] == 0
    with pytest.raises(ValueError, match="unknown report filter"):
        ReportQuery(WEEK, {"model; drop table x": "y"})


def test_period_validation():
    with pytest.raises(ValueError, match="before it starts"):
        ReportWindow(date(2026, 11, 20), date(2026, 11, 1))
    assert report_window(7, None, date(2026, 11, 20), date(2030, 1, 1)) == WEEK
    assert report_window(7, date(2026, 11, 14), None, date(2026, 11, 20)) == WEEK


def test_json_is_stable_and_complete(tiny):
    data = json.loads(render_json(build_report(tiny, WEEK)))
    assert list(data) == [
        "report_version", "period", "filters", "currency", "summary", "cost_drivers",
        "by_client", "by_team", "by_user", "cost_per_active_user", "by_workflow", "by_feature",
        "by_model",
        "model_efficiency", "cost_per_outcome", "by_day", "errors", "error_types",
        "by_prompt_version",
        "substitution", "savings", "runaway_sessions", "budgets",
        "anomalies", "alerts", "latency_percentiles", "latency_by_tier",
        "cost_reconciliation",
        "provider_reconciliation", "landed_files", "warnings",
    ]  # fmt: skip
    assert data["report_version"] == 3
    assert data["summary"]["total_cost_usd"] == 3.5
    assert data["period"]["start"] == "2026-11-14"


def test_csv_long_format_round_trips_sections(tiny):
    report = build_report(tiny, WEEK)
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert set(rows[0]) == {"section", "row", "field", "value"}
    teams = {}
    for row in rows:
        if row["section"] == "by_team":
            teams.setdefault(row["row"], {})[row["field"]] = row["value"]
    assert {(t["team"], Decimal(t["total_cost_usd"])) for t in teams.values()} == {
        ("legal", Decimal("2.00")),
        ("search", Decimal("1.50")),
    }
    warn = [r for r in rows if r["section"] == "warnings.unpriced_usage" and r["field"] == "model"]
    assert [r["value"] for r in warn] == ["gemini-3-pro-preview"]


def test_text_and_markdown_render_every_section(tiny):
    report = build_report(tiny, WEEK)
    text = render_text(report)
    for heading in ["SUMMARY", "BY CLIENT", "BY TEAM", "BY USER", "BY WORKFLOW", "BY MODEL"]:
        assert f"\n{heading}\n" in text
    assert "Cost:              $3.50  (+100.0% vs previous 7 days)" in text
    assert "UNPRICED: 2 requests of google/gemini-3-pro-preview" in text
    md = render_markdown(report)
    assert "| Team | Cost | Requests |" in md
    assert "| legal | $2.00 | 4 |" in md


def test_report_command_options(tiny, tmp_path):
    runner = CliRunner()
    out = tmp_path / "r.csv"
    result = runner.invoke(
        main,
        ["report", "--start-date", "2026-11-14", "--end-date", "2026-11-20", "--team", "legal",
         "--format", "csv", "--output", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "summary,1,total_cost_usd,2.000000000000" in out.read_text()
    result = runner.invoke(main, ["report", "--end-date", "2026-11-20", "--format", "markdown"])
    assert result.exit_code == 0 and result.output.startswith("# AI USAGE REPORT  2026-11-14")
    bad = runner.invoke(main, ["report", "--start-date", "2026-11-20", "--end-date", "2026-11-01"])
    assert bad.exit_code != 0 and "before it starts" in bad.output
    # without --end-date the period ends on the last usage day (2026-11-20 here), as the
    # API's and the dashboard's do, not on the clock's day (it once read an empty week)
    result = runner.invoke(main, ["report", "--format", "markdown"])
    assert result.exit_code == 0 and result.output.startswith("# AI USAGE REPORT  2026-11-14")
    result = runner.invoke(main, ["report", "--start-date", "2026-11-19", "--format", "json"])
    assert json.loads(result.output)["period"]["end"] == "2026-11-20"


def test_convert_currency_converts_every_money_field_and_stamps_the_rate():
    report = {
        "summary": {"requests": 3, "total_cost_usd": Decimal("10.00"), "cost_change_pct": 5.0},
        "by_team": [
            {"team": "a", "total_cost_usd": Decimal("4"), "requests": 1},
            {"team": "b", "total_cost_usd": None, "requests": 2},
        ],
    }
    out = convert_currency(report, "EUR", Decimal("0.855"), date(2026, 1, 1))
    assert out["summary"] == {
        "requests": 3,
        "total_cost_eur": Decimal("8.55"),
        "cost_change_pct": 5.0,
    }
    assert out["by_team"][0]["total_cost_eur"] == Decimal("3.420")
    assert out["by_team"][1]["total_cost_eur"] is None
    assert out["currency"] == {
        "code": "EUR",
        "usd_rate": Decimal("0.855"),
        "rate_valid_from": date(2026, 1, 1),
    }


def test_budget_section_shows_the_forecast_interval_and_run_out_date(tmp_path):
    def status(scope_id, p10, p90, weeks, run_out):
        return {
            "budget_status_key": scope_id, "scope": "team", "scope_id": scope_id,
            "as_of_date": date(2026, 11, 20), "is_current": True,
            "monthly_limit_usd": Decimal("100"), "spent_mtd_usd": Decimal("80"),
            "utilization": 0.8, "forecast_month_end_usd": Decimal("120"),
            "forecast_utilization": 1.2, "status": "ok", "forecast_status": "over",
            "forecast_month_end_p10_usd": p10, "forecast_month_end_p90_usd": p90,
            "forecast_backtest_weeks": weeks, "forecast_backtest_error": 0.1 if weeks else None,
            "budget_run_out_date": run_out,
        }  # fmt: skip

    path = contract_warehouse(
        tmp_path / "wh.duckdb",
        {
            "rpt_budget_status": [
                status("search", Decimal("110"), Decimal("135.5"), 8, date(2026, 11, 26)),
                status("legal", None, None, 1, None),  # too few backtests: no interval
            ]
        },
    )
    report = build_report(path, WEEK)
    rows = {r["scope_id"]: r for r in report["budgets"]}
    assert rows["search"]["forecast_month_end_p10_usd"] == Decimal("110")
    assert rows["search"]["forecast_month_end_p90_usd"] == Decimal("135.5")
    assert rows["search"]["budget_run_out_date"] == date(2026, 11, 26)
    assert rows["legal"]["forecast_month_end_p10_usd"] is None
    text = render_text(report)
    assert "P10" in text and "P90" in text and "Runs out" in text
    assert "2026-11-26" in text and "135.50" in text


def test_budget_section_shows_the_daily_limit_and_the_period_end_days_spend(tmp_path):
    """The period ends 2026-11-20: search (daily limit $10) spent $12.50 that day, 125% of
    it, over; legal has no daily limit, so neither limit nor day's spend is shown; the row of
    11-21, after the period, is not read."""

    def status(scope_id, as_of, daily_limit, spent_day):
        ratio = None if daily_limit is None else float(spent_day / daily_limit)
        return {
            "budget_status_key": f"{scope_id}|{as_of}", "scope": "team", "scope_id": scope_id,
            "as_of_date": as_of, "is_current": as_of == date(2026, 11, 21),
            "monthly_limit_usd": Decimal("300"), "spent_mtd_usd": Decimal("60"),
            "utilization": 0.2, "forecast_month_end_usd": Decimal("90"),
            "forecast_utilization": 0.3, "status": "ok", "forecast_status": "ok",
            "forecast_backtest_weeks": 0, "daily_limit_usd": daily_limit,
            "spent_day_usd": spent_day, "daily_utilization": ratio,
            "daily_status": None if ratio is None else ("over" if ratio >= 1 else "ok"),
        }  # fmt: skip

    path = contract_warehouse(
        tmp_path / "wh.duckdb",
        {
            "rpt_budget_status": [
                status("search", date(2026, 11, 20), Decimal("10"), Decimal("12.5")),
                status("legal", date(2026, 11, 20), None, Decimal("3")),
                status("search", date(2026, 11, 21), Decimal("10"), Decimal("99")),
                status("legal", date(2026, 11, 21), None, Decimal("4")),
            ]
        },
    )
    report = build_report(path, WEEK)
    rows = {r["scope_id"]: r for r in report["budgets"]}
    assert {r["as_of_date"] for r in rows.values()} == {date(2026, 11, 20)}
    search, legal = rows["search"], rows["legal"]
    assert (search["daily_limit_usd"], search["spent_day_usd"]) == (Decimal("10"), Decimal("12.5"))
    assert (search["daily_utilization"], search["daily_status"]) == (1.25, "over")
    assert (legal["daily_limit_usd"], legal["spent_day_usd"], legal["daily_status"]) == (
        None,
        None,
        None,
    )
    text = render_text(report)
    assert "Daily limit" in text and "Spent last day" in text and "Day status" in text
    line = next(line for line in text.splitlines() if line.split()[:2] == ["team", "search"])
    assert line.split()[-3:] == ["$10.00", "$12.50", "over"]
    line = next(line for line in text.splitlines() if line.split()[:2] == ["team", "legal"])
    assert line.split()[-3:] == ["n/a", "n/a", "n/a"]


def test_the_drivers_sentence_is_written_in_the_reports_currency(tmp_path):
    def drivers(scope_type, scope_id):
        return {
            "scope_type": scope_type, "scope_id": scope_id, "period_days": 7,
            "period_start": date(2026, 11, 14), "period_end": date(2026, 11, 20),
            "previous_cost_usd": Decimal("20"), "cost_usd": Decimal("30"),
            "delta_usd": Decimal("10"), "volume_effect_usd": Decimal("6"),
            "mix_effect_usd": Decimal("4"), "price_effect_usd": Decimal("0"),
            "efficiency_effect_usd": Decimal("0"), "reliability_effect_usd": Decimal("0"),
            "other_effect_usd": Decimal("0"), "top_driver": "volume",
        }  # fmt: skip

    path = contract_warehouse(
        tmp_path / "wh.duckdb",
        {"rpt_cost_change_drivers": [drivers("total", "total"), drivers("workflow", "wf")]},
    )
    with duckdb.connect(str(path)) as con:
        con.execute("create table fx_rates (currency varchar, valid_from date, usd_rate double)")
        con.execute("insert into fx_rates values ('EUR', '2025-01-01', 0.965)")
    usd = build_report(path, WEEK)["summary"]["cost_drivers"]
    assert usd == (
        "Cost +$10.00 in the 7 days to 2026-11-20 vs the 7 before, driven by volume +$6.00 "
        "and mix +$4.00; top workflows: wf (volume +$6.00)."
    )
    eur = build_report(path, WEEK, currency="EUR")
    # 10 x 0.965 = 9.65, 6 x 0.965 = 5.79, 4 x 0.965 = 3.86
    assert eur["summary"]["cost_drivers"] == (
        "Cost +EUR 9.65 in the 7 days to 2026-11-20 vs the 7 before, driven by volume "
        "+EUR 5.79 and mix +EUR 3.86; top workflows: wf (volume +EUR 5.79)."
    )
    assert "Why: Cost +EUR 9.65" in " ".join(render_text(eur).split())
    # a period the mart has no drivers for (another last day, another length): none, not the
    # drivers of the mart's period (a weekly report once said why another week's cost moved)
    for other in (
        ReportWindow(date(2026, 11, 7), date(2026, 11, 13)),
        ReportWindow(date(2026, 11, 11), date(2026, 11, 20)),
    ):
        report = build_report(path, other)
        assert report["summary"]["cost_drivers"] is None and report["cost_drivers"] == []
        assert "none for this period" in render_text(report)


def test_cost_per_outcome_prices_the_periods_completed_tasks_and_their_value(tmp_path):
    def task(task_id, workflow, first, attempts, cost, outcome, value=None, model="mini",
             unpriced=0):  # fmt: skip
        """A row of fct_task_costs: the task's attempts on one model, and how it ended."""
        return {
            "task_cost_key": f"{task_id}-{model}", "task_id": task_id, "workflow": workflow,
            "provider": "openai", "model": model, "first_attempt_date": date.fromisoformat(first),
            "attempts": attempts, "unpriced_attempts": unpriced, "cost_usd": Decimal(cost),
            "is_completed": outcome == "success", "is_failed": outcome == "failure",
            "has_no_outcome": outcome is None,
            "completed_value_usd": Decimal(value) if value and outcome == "success" else None,
        }  # fmt: skip

    tasks = [
        # refunds: t1 three attempts, completed, $2.00 of value; t2 tried on two models
        # (one task, its value once), completed, $1.00; t3 failed (its value not earned); t4
        # no outcome yet. t0 was first attempted before the period, t9 after it: neither.
        task("t0", "refunds", "2026-11-13", 2, "0.20", "success", "9.00"),
        task("t1", "refunds", "2026-11-15", 3, "0.30", "success", "2.00"),
        task("t2", "refunds", "2026-11-16", 1, "0.10", "success", "1.00"),
        task("t2", "refunds", "2026-11-16", 1, "0.50", "success", "1.00", model="big"),
        task("t3", "refunds", "2026-11-17", 2, "0.20", "failure", "5.00"),
        task("t4", "refunds", "2026-11-20", 1, "0.10", None),
        task("t9", "refunds", "2026-11-21", 1, "0.10", "success", "4.00"),
        # drafts: t5 completed without a value; t6 completed, $1.00, one attempt unpriced
        task("t5", "drafts", "2026-11-18", 1, "0.40", "success"),
        task("t6", "drafts", "2026-11-18", 2, "0.20", "success", "1.00", unpriced=1),
    ]
    path = contract_warehouse(
        tmp_path / "wh.duckdb",
        {
            "fct_task_costs": tasks,
            "dim_workflows": [
                {"workflow": "refunds", "team": "support"},
                {"workflow": "drafts", "team": "legal"},
            ],
        },
    )
    report = build_report(path, WEEK)
    rows = {r["workflow"]: r for r in report["cost_per_outcome"]}
    assert [r["workflow"] for r in report["cost_per_outcome"]] == ["refunds", "drafts"]
    # refunds: 4 tasks, 2 completed; 3 + 2 + 2 + 1 = 8 attempts; $0.30 + $0.60 + $0.20 +
    # $0.10 = $1.20; 8 / 2 = 4 attempts and $0.60 per completed task; value $3.00, roi 2.5
    refunds = rows["refunds"]
    assert (refunds["tasks"], refunds["completed_tasks"], refunds["attempts"]) == (4, 2, 8)
    assert refunds["cost_usd"] == Decimal("1.20")
    assert refunds["attempts_per_completed_task"] == 4
    assert refunds["cost_per_completed_task_usd"] == Decimal("0.60")
    assert (refunds["valued_completed_tasks"], refunds["completed_value_usd"]) == (2, Decimal(3))
    assert refunds["roi"] == Decimal("2.5")
    # drafts: 2 tasks, both completed, 3 attempts (1 unpriced): $0.60 of priced cost, the
    # cost per completed task and roi unknown (understated); value $1.00 (t5 has none)
    drafts = rows["drafts"]
    assert (drafts["tasks"], drafts["completed_tasks"], drafts["attempts"]) == (2, 2, 3)
    assert drafts["unpriced_attempts"] == 1 and drafts["attempts_per_completed_task"] == 1.5
    assert drafts["cost_per_completed_task_usd"] is None and drafts["roi"] is None
    assert (drafts["valued_completed_tasks"], drafts["completed_value_usd"]) == (1, Decimal(1))
    # a team reads its workflows; a client or user filter leaves the section out
    legal = build_report(path, WEEK, filters={"team": "legal"})["cost_per_outcome"]
    assert [r["workflow"] for r in legal] == ["drafts"]
    assert build_report(path, WEEK, filters={"user": "u1"})["cost_per_outcome"] == []
    assert build_report(path, WEEK, filters={"client": "acme"})["cost_per_outcome"] == []
    text = " ".join(render_text(report).split())
    assert "COST PER OUTCOME" in text
    assert "refunds 4 2 4.00 $1.20 $0.600000 $3.00 2.50" in text
    csv_rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    fields = {r["field"]: r["value"] for r in csv_rows
              if r["section"] == "cost_per_outcome" and r["row"] == "1"}  # fmt: skip
    assert Decimal(fields["roi"]) == Decimal("2.5") and fields["workflow"] == "refunds"
