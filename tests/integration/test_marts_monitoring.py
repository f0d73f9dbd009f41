"""Monitoring and insight marts end to end (budgets, latency, errors, tokens, anomalies,
alerts, report; cost drivers, runaway sessions, cache, savings), checked against independent
Python computations over the landed files and the planted ground truth.

The session sample warehouse (10 days) has too little history before its spend spikes, so
this module builds its own with plain `dbt build`: 21 days x 1,000 events, seed 10 (spikes
of the runaway pr-review-bot loop on 2026-11-09 and 2026-11-18, with 9 and 18 days of
history), monitoring marts anchored on 2026-11-18 (var as_of_date)."""

from __future__ import annotations

import csv
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest

from aiusage.sample import SPIKE_WORKFLOW, WORKFLOW_BY_NAME, generate
from tests.conftest import PROJECT_DIR
from tests.support.cli_env import dbt_command, dbt_env
from tests.support.reference import PriceBook, read_landing

pytestmark = pytest.mark.slow

END_DATE = date(2026, 11, 20)
AS_OF = date(2026, 11, 18)
AS_OF_VARS = "{as_of_date: '2026-11-18'}"
FAILED = {"error", "timeout", "rate_limited"}


def _dbt(root: Path, *args: str) -> None:
    env = dbt_env(root, PROJECT_DIR, AIUSAGE_DUCKDB_PATH=str(root / "warehouse.duckdb"))
    result = dbt_command(env, PROJECT_DIR, *args)
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.fixture(scope="module")
def spiky_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("spiky_warehouse")
    summary = generate(
        root / "landing", days=21, events_per_day=1000, seed=10, end_date=END_DATE, progress=False
    )
    # Anchor the monitoring marts on the last spike day, so rpt_alerts shows it.
    # Models and seeds only: the dbt tests run in every other build (test_end_to_end).
    _dbt(
        root,
        "build",
        "--quiet",
        "--resource-type",
        "model",
        "--resource-type",
        "seed",
        "--vars",
        AS_OF_VARS,
    )
    return root, summary


def _query(root: Path, sql: str, params=None):
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_spike_days_are_flagged_and_few_others(spiky_warehouse):
    root, summary = spiky_warehouse
    assert summary.spike_days == (date(2026, 11, 9), date(2026, 11, 18))
    team = WORKFLOW_BY_NAME[SPIKE_WORKFLOW].team
    flagged = {
        (scope_type, scope_id, day, metric)
        for scope_type, scope_id, day, metric in _query(
            root,
            """select scope_type, scope_id, usage_date, metric
               from rpt_cost_anomalies where is_anomaly""",
        )
    }
    expected = {
        (scope_type, scope_id, day, metric)
        for day in summary.spike_days
        for scope_type, scope_id in (("workflow", SPIKE_WORKFLOW), ("team", team))
        for metric in ("cost_usd", "total_tokens")
    }
    assert expected <= flagged
    (evaluable,) = _query(root, "select count(*) from rpt_cost_anomalies where history_days >= 7")[
        0
    ]
    # the planted steps (aiusage.sample.ground_truth.PLANTED_WORKFLOWS) are anomalies too:
    # the first days of the changed period, for the workflow and its team
    from aiusage.sample import PLANTED_PERIOD_DAYS, PLANTED_WORKFLOWS

    step = END_DATE - timedelta(days=PLANTED_PERIOD_DAYS - 1)
    stepped = [p for p in PLANTED_WORKFLOWS if p.current_day != p.previous_day]
    assert {("workflow", p.workflow, step, "cost_usd") for p in stepped} <= flagged
    planted = {
        (scope_type, scope_id, day, metric)
        for p in stepped
        for scope_type, scope_id in (("workflow", p.workflow), ("team", p.team))
        for day in (step, step + timedelta(days=1))
        for metric in ("cost_usd", "total_tokens")
    }
    others = flagged - expected - planted
    assert len(others) <= 0.02 * evaluable, sorted(others)


def test_spike_day_statistics_match_python(spiky_warehouse):
    """Ratio and z-score of the spike workflow's cost, from priced landed events."""
    root, summary = spiky_warehouse
    totals = read_landing(root / "landing")
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    cost = defaultdict(float)
    workflows = {}
    for event in totals.requests.values():
        workflows[event["workflow"]] = True
        if event["workflow"] == SPIKE_WORKFLOW:
            cost[event["occurred_at"].date()] += float(prices.cost(event) or 0)
    day = summary.spike_days[-1]
    history = [cost.get(day - timedelta(days=i), 0.0) for i in range(1, 15)]
    mean, sd = statistics.fmean(history), statistics.stdev(history)
    ((ratio, z),) = _query(
        root,
        f"""select ratio_to_mean, z_score from rpt_cost_anomalies
            where scope_type = 'workflow' and scope_id = '{SPIKE_WORKFLOW}'
              and metric = 'cost_usd' and usage_date = date '{day}'""",
    )
    assert ratio == pytest.approx(cost[day] / mean, rel=1e-6)
    assert z == pytest.approx((cost[day] - mean) / sd, rel=1e-6)
    assert ratio > 1.5 and z > 3


def test_spike_raises_anomaly_alerts_on_the_spike_day(spiky_warehouse):
    root, summary = spiky_warehouse
    alerts = _query(
        root,
        "select alert_type, scope_type, scope_id, severity, as_of_date from rpt_alerts "
        "where alert_type in ('cost_anomaly', 'token_anomaly')",
    )
    assert ("cost_anomaly", "workflow", SPIKE_WORKFLOW) in {a[:3] for a in alerts}
    assert {a[4] for a in alerts} == {summary.spike_days[-1]}


@pytest.fixture(scope="module")
def landing(spiky_warehouse):
    root, _ = spiky_warehouse
    return read_landing(root / "landing"), PriceBook.load(PROJECT_DIR / "seeds")


def _events(landing):
    totals, prices = landing
    for event in totals.requests.values():
        model = prices.canonical(event["provider"], event["model"])
        yield event, model, event["occurred_at"].date()  # reporting time zone: UTC


def test_latency_percentiles_match_numpy(spiky_warehouse, landing):
    root, _ = spiky_warehouse
    samples = defaultdict(list)
    for event, model, day in _events(landing):
        interactive = event["service_tier"] not in ("batch", "flex")
        if event["status"] == "success" and interactive and event["latency_ms"] is not None:
            samples[(day, event["provider"], model)].append(event["latency_ms"])
    rows = _query(
        root,
        """select usage_date, provider, model, requests, latency_p50_ms, latency_p95_ms,
                  latency_p99_ms from rpt_latency_percentiles""",
    )
    assert {(d, p, m) for d, p, m, *_ in rows} == set(samples)
    for day, provider, model, requests, p50, p95, p99 in rows:
        values = np.array(samples[(day, provider, model)], dtype=float)
        assert requests == len(values)
        expected = np.percentile(values, [50, 95, 99])  # linear interpolation
        assert [p50, p95, p99] == pytest.approx(expected.tolist(), rel=1e-9)


def test_latency_by_hour_is_percentiles_of_interactive_requests(spiky_warehouse, landing):
    """The heat map's cells: p50 and p95 latency and p50 time to first token per day and
    hour (reporting time zone UTC here) of the successful standard and priority requests of
    every model, as numpy computes them from the landed events."""
    root, _ = spiky_warehouse
    latency, ttft = defaultdict(list), defaultdict(list)
    for event, _model, day in _events(landing):
        interactive = event["service_tier"] not in ("batch", "flex")
        if event["status"] == "success" and interactive and event["latency_ms"] is not None:
            cell = (day, event["occurred_at"].hour)
            latency[cell].append(event["latency_ms"])
            if event["ttft_ms"] is not None:
                ttft[cell].append(event["ttft_ms"])
    rows = _query(
        root,
        """select usage_date, hour_of_day, requests, latency_p50_ms, latency_p95_ms, ttft_p50_ms
           from rpt_latency_by_hour""",
    )
    assert {(d, h) for d, h, *_ in rows} == set(latency)
    assert len(rows) == len(latency)
    for day, hour, requests, p50, p95, ttft_p50 in rows:
        values = np.array(latency[(day, hour)], dtype=float)
        assert requests == len(values)
        assert [p50, p95] == pytest.approx(np.percentile(values, [50, 95]).tolist(), rel=1e-9)
        firsts = ttft[(day, hour)]
        expected_ttft = float(np.percentile(firsts, 50)) if firsts else None
        assert ttft_p50 == pytest.approx(expected_ttft, rel=1e-9)


def test_success_and_error_rates_match_landing(spiky_warehouse, landing):
    root, _ = spiky_warehouse
    counts = defaultdict(lambda: [0, 0, 0])
    by_type = defaultdict(int)
    for event, model, day in _events(landing):
        row = counts[(day, event["provider"], model)]
        row[0] += 1
        row[1] += event["status"] == "success"
        row[2] += event["status"] in FAILED
        if event["status"] != "success":
            key = (
                day,
                event["provider"],
                model,
                event["status"],
                event["error_type"] or "(unknown)",
            )
            by_type[key] += 1
    rows = _query(
        root,
        """select usage_date, provider, model, requests, success_rate, error_rate
           from rpt_success_rates""",
    )
    assert len(rows) == len(counts)
    for day, provider, model, requests, success_rate, error_rate in rows:
        total, ok, failed = counts[(day, provider, model)]
        assert requests == total
        assert success_rate == pytest.approx(ok / total)
        assert error_rate == pytest.approx(failed / total)
    typed = _query(
        root,
        """select usage_date, provider, model, status, error_type, failed_requests,
                  model_requests, error_rate from rpt_error_rates""",
    )
    assert {r[:5]: r[5] for r in typed} == dict(by_type)
    for day, provider, model, _s, _t, failed, model_requests, rate in typed:
        assert model_requests == counts[(day, provider, model)][0]
        assert rate == pytest.approx(failed / model_requests)


def _budgets():
    with open(PROJECT_DIR / "seeds" / "budgets.csv", encoding="utf-8") as handle:
        return [
            (r["scope"], r["scope_id"], Decimal(r["monthly_limit_usd"]))
            for r in csv.DictReader(handle)
        ]


def _status(ratio: Decimal) -> str:
    if ratio >= 1:
        return "over"
    if ratio >= Decimal("0.95"):
        return "critical"
    if ratio >= Decimal("0.85"):
        return "warning"
    return "ok"


def test_budget_status_matches_independent_forecast(spiky_warehouse, landing):
    """Month to date and a weekday-shaped forecast, recomputed from priced landed events."""
    root, _ = spiky_warehouse
    totals, prices = landing
    daily = defaultdict(Decimal)
    days = set()
    for event in totals.requests.values():
        day = event["occurred_at"].date()
        if day > AS_OF:
            continue
        days.add(day)
        cost = prices.cost(event) or Decimal(0)
        for scope, field in (("team", "team"), ("client", "client"), ("user", "user_id")):
            daily[(scope, event[field], day)] += cost
    first, as_of = min(days), AS_OF
    month_start = as_of.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    window = [as_of - timedelta(days=i) for i in range(28) if as_of - timedelta(days=i) >= first]
    actual = {
        (scope, scope_id): (spent, forecast, status, forecast_status)
        for scope, scope_id, spent, forecast, status, forecast_status in _query(
            root,
            """select scope, scope_id, spent_mtd_usd, forecast_month_end_usd, status,
                      forecast_status
               from rpt_budget_status where is_current""",
        )
    }
    budgets = _budgets()
    assert len(actual) == len(budgets)
    for scope, scope_id, limit in budgets:
        cost = {d: daily.get((scope, scope_id, d), Decimal(0)) for d in window}
        spent = sum(
            (
                daily.get((scope, scope_id, month_start + timedelta(days=i)), Decimal(0))
                for i in range((as_of - month_start).days + 1)
            ),
            Decimal(0),
        )
        window_mean = sum(cost.values(), Decimal(0)) / len(window)
        forecast = spent
        day = as_of + timedelta(days=1)
        while day <= month_end:
            same = [cost[d] for d in window if d.weekday() == day.weekday()]
            forecast += sum(same, Decimal(0)) / len(same) if same else window_mean
            day += timedelta(days=1)
        got_spent, got_forecast, status, forecast_status = actual[(scope, scope_id)]
        assert abs(got_spent - spent) < Decimal("0.000001"), scope_id
        assert abs(got_forecast - forecast) < Decimal("0.00001"), scope_id
        assert status == _status(spent / limit)
        assert forecast_status == _status(forecast / limit)


def test_alerts_follow_thresholds_and_marts(spiky_warehouse, landing):
    root, _ = spiky_warehouse
    alerts = _query(
        root,
        """select alert_type, scope_type, scope_id, severity, measured_value, threshold_value
           from rpt_alerts""",
    )
    assert alerts, "the generated data breaches seed 003's latency thresholds"
    for alert_type, _st, scope_id, severity, measured, threshold in alerts:
        assert measured >= threshold, (alert_type, scope_id)
        assert severity in {"warning", "critical"}
    # latency alerts = models with >= 20 measured requests and p95 >= 5 s on the as-of day
    as_of = AS_OF
    samples = defaultdict(list)
    for event, model, day in _events(landing):
        if (
            day == as_of
            and event["status"] == "success"
            and event["service_tier"] != "batch"
            and event["latency_ms"] is not None
        ):
            samples[f"{event['provider']}/{model}"].append(event["latency_ms"])
    expected = {}
    for scope_id, values in samples.items():
        p95 = float(np.percentile(np.array(values, dtype=float), 95))
        if len(values) >= 20 and p95 >= 5000:
            expected[scope_id] = "critical" if p95 >= 10000 else "warning"
    got = {s: sev for t, _st, s, sev, _m, _th in alerts if t == "latency_p95"}
    assert got == expected


def _daily_limits():
    with open(PROJECT_DIR / "seeds" / "budgets.csv", encoding="utf-8") as handle:
        return {
            (r["scope"], r["scope_id"]): Decimal(r["daily_limit_usd"])
            for r in csv.DictReader(handle)
            if r["daily_limit_usd"]
        }


def test_daily_budgets_alert_on_the_as_of_days_spend_and_are_delivered(
    spiky_warehouse, landing, tmp_path
):
    """Each budget with a daily limit (seeds/budgets.csv): the as-of day's spend, recomputed
    from the priced landed events, against the limit; daily_budget_exceeded fires at or over
    it (critical: the seed's thresholds are 1.00 / 1.00), names spend and limit, and goes
    through alert delivery like every other alert type."""
    from aiusage.delivery.alerts import deliver_alerts, read_alerts
    from aiusage.delivery.slack import alerts_payload
    from aiusage.delivery.state import connect_state

    root, _ = spiky_warehouse
    totals, prices = landing
    spent = defaultdict(Decimal)
    for event in totals.requests.values():
        if event["occurred_at"].date() == AS_OF:
            cost = prices.cost(event) or Decimal(0)
            for scope, field in (("team", "team"), ("client", "client"), ("user", "user_id")):
                spent[(scope, event[field])] += cost
    limits = _daily_limits()
    expected = {key: spent[key] / limit for key, limit in limits.items() if spent[key] >= limit}
    # the spike of the as-of day breaks some daily limits, not all of them
    assert expected and len(expected) < len(limits)
    status = {
        (scope, scope_id): rest
        for scope, scope_id, *rest in _query(
            root,
            """select scope, scope_id, daily_limit_usd, spent_day_usd, daily_status
               from rpt_budget_status where is_current""",
        )
    }
    for key, limit in limits.items():
        daily_limit, spent_day, daily_status = status[key]
        assert daily_limit == limit
        assert abs(spent_day - spent[key]) < Decimal("0.000001"), key
        assert daily_status == _status(spent[key] / limit)
    assert all(status[key][0] is None for key in status if key not in limits)

    alerts = read_alerts(root / "warehouse.duckdb")
    daily = {(a["scope_type"], a["scope_id"]): a for a in alerts
             if a["alert_type"] == "daily_budget_exceeded"}  # fmt: skip
    assert set(daily) == set(expected)
    cent = Decimal("0.01")
    for key, ratio in expected.items():
        alert = daily[key]
        assert alert["severity"] == "critical" and alert["threshold_value"] == 1.0
        assert alert["measured_value"] == pytest.approx(float(ratio))
        assert alert["as_of_date"] == AS_OF
        day_spend = spent[key].quantize(cent, rounding=ROUND_HALF_UP)
        assert alert["message"] == (
            f"daily_budget_exceeded critical: {key[0]} {key[1]} at "
            f"{float(ratio) * 100:.1f}% (threshold 100.0%) - spent ${day_spend} on {AS_OF} "
            f"against a daily limit of ${limits[key].quantize(cent)}"
        )

    sent = []
    state = connect_state(tmp_path / "state.sqlite")
    result = deliver_alerts(alerts, state, {"test": lambda batch, _escalated: sent.extend(batch)})
    assert not result.failures
    assert {a["alert_key"] for a in sent} >= {a["alert_key"] for a in daily.values()}
    text = alerts_payload(list(daily.values()))["text"]
    for scope, scope_id in expected:
        assert f"[critical] daily_budget_exceeded {scope} {scope_id}" in text


def test_report_shows_budgets_anomalies_and_alerts(spiky_warehouse):
    from aiusage.reporting.build import build_report
    from aiusage.reporting.period import ReportWindow
    from aiusage.reporting.render import render_text

    root, _ = spiky_warehouse
    report = build_report(root / "warehouse.duckdb", ReportWindow.last_days(7, AS_OF))
    assert len(report["budgets"]) == len(_budgets())
    assert {row["as_of_date"] for row in report["budgets"]} == {AS_OF}
    text = render_text(report)
    for heading in ("BUDGETS AND MONTH-END FORECAST", "ANOMALIES", "ALERTS"):
        assert heading in text
    # the spike on the last day of the period is in the report's anomalies section
    assert any(row["usage_date"] == AS_OF for row in report["anomalies"])
    assert any(row["alert_type"] == "latency_p95" for row in report["alerts"])


# ---------------------------------------------------------------- insights (issue 20)
# The planted workflows (aiusage.sample.ground_truth.PLANTED_WORKFLOWS) have no noise: each
# expectation below is computed from their ground truth and the price seeds (PriceBook),
# never from the marts.


def _planted_cost(prices: PriceBook, provider: str, entry, day: date) -> Decimal:
    model, _n, input_tokens, cache_write_tokens, output_tokens = entry
    event = {
        "provider": provider, "model": model, "service_tier": "standard",
        "occurred_at": datetime.combine(day, time(12)).replace(tzinfo=UTC),
        "input_tokens": input_tokens, "cache_read_tokens": 0,
        "cache_write_tokens": cache_write_tokens, "cache_write_1h_tokens": 0,
        "output_tokens": output_tokens, "reasoning_tokens": 0,
    }  # fmt: skip
    return prices.cost(event)


def _cache_event(
    provider: str,
    model: str,
    written: int,
    *,
    one_hour: bool = False,
    read: int = 0,
    uncached: int = 0,
) -> dict:
    """A request whose prompt is only cache writes (``written`` tokens, 1-hour TTL when
    ``one_hour``), cache reads (``read``) or uncached tokens (``uncached``)."""
    return {
        "provider": provider, "model": model, "service_tier": "standard",
        "occurred_at": datetime.combine(END_DATE, time(12)).replace(tzinfo=UTC),
        "input_tokens": written + read + uncached, "cache_read_tokens": read,
        "cache_write_tokens": written, "cache_write_1h_tokens": written if one_hour else 0,
        "output_tokens": 0, "reasoning_tokens": 0,
    }  # fmt: skip


def test_cost_change_drivers_name_each_planted_cause_and_add_up(spiky_warehouse):
    from aiusage.sample import PLANTED_WORKFLOWS, RUNAWAY_REQUESTS, RUNAWAY_WORKFLOW

    root, _ = spiky_warehouse
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    columns = ["volume", "mix", "price", "efficiency", "reliability"]
    rows = _query(
        root,
        "select scope_type, scope_id, period_days, delta_usd, other_effect_usd, top_driver, "
        + ", ".join(f"{c}_effect_usd" for c in columns)
        + " from rpt_cost_change_drivers",
    )
    trailing = _query(
        root,
        "select scope_type, scope_id, period_days, period_end from rpt_cost_change_drivers "
        "where period_kind = 'trailing'",
    )
    assert {r[3] for r in trailing} == {END_DATE}  # the last full week's rows are apart
    by_scope = {
        (r[0], r[1], r[2]): r
        for r in _query(
            root,
            "select scope_type, scope_id, period_days, delta_usd, other_effect_usd, top_driver, "
            + ", ".join(f"{c}_effect_usd" for c in columns)
            + " from rpt_cost_change_drivers where period_kind = 'trailing'",
        )
    }
    for row in rows:  # the effects add up to the change, to the cent and beyond
        assert sum(row[6:], row[4]) == row[3], row
        assert abs(row[4]) < Decimal("0.000001"), row
    for planted in PLANTED_WORKFLOWS:
        row = by_scope[("workflow", planted.workflow, 7)]
        effects = dict(zip(columns, row[6:], strict=True))
        previous = 7 * sum(
            e[1] * _planted_cost(prices, planted.provider, e, END_DATE)
            for e in planted.previous_day
        )
        current = 7 * sum(
            e[1] * _planted_cost(prices, planted.provider, e, END_DATE) for e in planted.current_day
        )
        if planted.workflow == RUNAWAY_WORKFLOW:
            current += RUNAWAY_REQUESTS * _planted_cost(
                prices, planted.provider, planted.current_day[0], END_DATE
            )
        assert row[3] == current - previous, planted.workflow
        assert row[5] == planted.driver, (planted.workflow, row)
        for name, value in effects.items():  # the planted cause and nothing else
            expected = row[3] if name == planted.driver else 0
            assert abs(value - expected) < Decimal("0.000001"), (planted.workflow, name, value)


def test_runaway_sessions_are_the_spike_loops_and_the_planted_session(spiky_warehouse, landing):
    from aiusage.sample import RUNAWAY_REQUESTS, RUNAWAY_SESSION_ID, RUNAWAY_WORKFLOW

    root, summary = spiky_warehouse
    runaway = dict(
        _query(root, "select session_id, requests from rpt_session_costs where is_runaway")
    )
    assert set(runaway) == {*summary.spike_sessions, RUNAWAY_SESSION_ID}
    assert runaway[RUNAWAY_SESSION_ID] == RUNAWAY_REQUESTS
    ((workflow, p95),) = _query(
        root,
        "select workflow, workflow_p95_requests from rpt_session_costs where session_id = ?",
        [RUNAWAY_SESSION_ID],
    )
    assert workflow == RUNAWAY_WORKFLOW and p95 == 3  # eight 3-call sessions a day
    # alerts: the runaway sessions whose last call is on the as-of day, each named with its
    # workflow and calls (counted from the landed requests); warning at 3x, critical at 10x
    calls, last_day, workflow_of = Counter(), {}, {}
    for event, _model, day in _events(landing):
        session = event.get("session_id")
        if session in runaway:
            calls[session] += 1
            last_day[session] = max(day, last_day.get(session, day))
            workflow_of[session] = event["workflow"]
    alerts = {
        scope_id: (severity, measured, message)
        for scope_id, severity, measured, message in _query(
            root,
            "select scope_id, severity, measured_value, message from rpt_alerts "
            "where alert_type = 'runaway_session'",
        )
    }
    assert set(alerts) == {s for s, day in last_day.items() if day == AS_OF} != set()
    for session, (severity, measured, message) in alerts.items():
        assert severity == ("critical" if measured >= 10 else "warning") and measured >= 3
        assert f"workflow {workflow_of[session]}" in message, message
        assert f"{calls[session]} calls" in message, message


def test_cache_and_savings_name_the_planted_workflows(spiky_warehouse):
    from aiusage.sample import PLANTED_BY_NAME

    root, _ = spiky_warehouse
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    month = Decimal("30.4375") / 21  # the window's 28 days hold the data's 21
    invoice = PLANTED_BY_NAME["invoice-parser"]
    entry = invoice.current_day[0]
    # the written tokens at the write rate minus the same tokens at the input rate
    premium = _planted_cost(
        prices, invoice.provider, (entry[0], 0, entry[3], entry[3], 0), END_DATE
    ) - _planted_cost(prices, invoice.provider, (entry[0], 0, entry[3], 0, 0), END_DATE)
    writes = 21 * entry[1]
    ((hit, wasted, write_cost, net, wasted_requests),) = _query(
        root,
        """select cache_hit_ratio, wasted_cache_write_usd, cache_write_cost_usd,
                  net_cache_savings_usd, wasted_write_requests
           from rpt_cache_efficiency where workflow = 'invoice-parser'""",
    )
    assert hit == 0 and wasted_requests == writes
    assert wasted == write_cost == writes * premium and net == -wasted
    digest = PLANTED_BY_NAME["nightly-digest"]
    digest_cost = 21 * sum(
        e[1] * _planted_cost(prices, digest.provider, e, END_DATE) for e in digest.current_day
    )
    opportunities = {
        (r[0], r[1]): r[2]
        for r in _query(
            root,
            "select opportunity_type, workflow, monthly_savings_usd "
            "from rpt_savings_opportunities where opportunity_type != 'model_substitution'",
        )
    }
    # policy-qa: ten 3-call sessions a day; the first call writes W tokens with a 1-hour TTL,
    # the two others read them a minute later. At a 5-minute TTL the same reads hit, so the
    # saving is the 1-hour premium over the 5-minute rate of every write, nothing lost.
    ttl = PLANTED_BY_NAME["policy-qa"]
    model, requests_per_day, _input, written, _output = ttl.current_day[0]
    sessions = 21 * requests_per_day // ttl.session_length
    one_hour_premium = prices.cost(
        _cache_event(ttl.provider, model, written, one_hour=True)
    ) - prices.cost(_cache_event(ttl.provider, model, written, one_hour=False))
    read_cost = prices.cost(_cache_event(ttl.provider, model, 0, read=written))
    (ttl_row,) = _query(
        root,
        """select cache_write_requests, cache_read_requests, wasted_write_requests,
                  late_read_requests, expired_rewrite_requests, cache_write_1h_tokens,
                  ttl_5m_savings_usd, ttl_1h_savings_usd, recommended_ttl,
                  net_cache_savings_usd
           from rpt_cache_efficiency where workflow = 'policy-qa'""",
    )
    reads = sessions * (ttl.session_length - 1)
    assert ttl_row[:6] == (sessions, reads, 0, 0, 0, sessions * written)
    assert ttl_row[6] == sessions * one_hour_premium and ttl_row[7] == 0
    assert ttl_row[8] == "5m"
    uncached = prices.cost(_cache_event(ttl.provider, model, 0, uncached=written))
    ttl_write_cost = prices.cost(_cache_event(ttl.provider, model, written, one_hour=True))
    expected_net = reads * (uncached - read_cost) - sessions * (ttl_write_cost - uncached)
    assert expected_net > 0 and ttl_row[9] == expected_net  # caching pays: no cache_waste
    expected = {
        ("batch_tier", "nightly-digest"): digest_cost * Decimal("0.5") * month,
        ("cache_waste", "invoice-parser"): writes * premium * month,
        ("cache_ttl", "policy-qa"): sessions * one_hour_premium * month,
    }
    assert opportunities.keys() == expected.keys()
    for key, value in expected.items():
        assert abs(opportunities[key] - value) < Decimal("0.000001"), key


def test_cost_per_outcome_names_the_cheap_model_that_needs_many_attempts(spiky_warehouse):
    from aiusage.sample import PLANTED_WORKFLOWS

    root, _ = spiky_warehouse
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    days = 21  # the window's 28 days hold the data's 21
    expected, flagged = {}, set()
    for planted in (p for p in PLANTED_WORKFLOWS if p.tasks):
        figures = {}
        for model, per_task, completed in planted.tasks:
            (entry,) = {e for e in planted.current_day if e[0] == model}
            cost = days * entry[1] * _planted_cost(prices, planted.provider, entry, END_DATE)
            tasks, attempts = days * entry[1] // per_task, days * entry[1]
            figures[model] = (tasks, days * completed, attempts, cost, cost / attempts,
                              cost / (days * completed))  # fmt: skip
            expected[(planted.workflow, model)] = figures[model]
        for model, (*_, per_request, per_completed) in figures.items():
            if any(o[4] > per_request and o[5] < per_completed for o in figures.values()):
                flagged.add((planted.workflow, model))
    assert flagged == {("refund-resolver", "gpt-4.1-mini")}  # the planted cause
    rows = _query(
        root,
        """select workflow, model, tasks, completed_tasks, attempts, cost_usd,
                  cost_per_request_usd, cost_per_completed_task_usd,
                  is_dearer_per_completed_task, unpriced_attempts
           from rpt_cost_per_outcome""",
    )
    assert {(r[0], r[1]) for r in rows} == expected.keys()  # only requests with a task_id
    assert {(r[0], r[1]) for r in rows if r[8]} == flagged  # and nothing else
    for row in rows:
        want = expected[(row[0], row[1])]
        assert row[2:5] == want[:3] and row[9] == 0, row
        for got, value in zip(row[5:8], want[3:], strict=True):
            assert abs(got - value) < Decimal("0.000000001"), (row, want)
