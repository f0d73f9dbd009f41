"""Monitoring marts (budgets, latency, errors, alerts) on the session's sample warehouse,
checked against independent Python computations over the landed files."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import numpy as np
import pytest

from tests.conftest import PROJECT_DIR
from tests.support.reference import PriceBook, read_landing

pytestmark = pytest.mark.slow

FAILED = {"error", "timeout", "rate_limited"}


@pytest.fixture(scope="module")
def landing(sample_warehouse):
    settings, _ = sample_warehouse
    return read_landing(settings.landing_dir), PriceBook.load(PROJECT_DIR / "seeds")


def _query(settings, sql, params=None):
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _events(landing):
    totals, prices = landing
    for event in totals.requests.values():
        model = prices.canonical(event["provider"], event["model"])
        yield event, model, event["occurred_at"].date()  # reporting time zone: UTC


def test_latency_percentiles_match_numpy(sample_warehouse, landing):
    settings, _ = sample_warehouse
    samples = defaultdict(list)
    for event, model, day in _events(landing):
        interactive = event["service_tier"] != "batch"
        if event["status"] == "success" and interactive and event["latency_ms"] is not None:
            samples[(day, event["provider"], model)].append(event["latency_ms"])
    rows = _query(
        settings,
        """select usage_date, provider, model, requests, latency_p50_ms, latency_p95_ms,
                  latency_p99_ms from rpt_latency_percentiles""",
    )
    assert {(d, p, m) for d, p, m, *_ in rows} == set(samples)
    for day, provider, model, requests, p50, p95, p99 in rows:
        values = np.array(samples[(day, provider, model)], dtype=float)
        assert requests == len(values)
        expected = np.percentile(values, [50, 95, 99])  # linear interpolation
        assert [p50, p95, p99] == pytest.approx(expected.tolist(), rel=1e-9)


def test_success_and_error_rates_match_landing(sample_warehouse, landing):
    settings, _ = sample_warehouse
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
        settings,
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
        settings,
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


def test_budget_status_matches_independent_forecast(sample_warehouse, landing):
    """Month to date and a weekday-shaped forecast, recomputed from priced landed events."""
    settings, _ = sample_warehouse
    totals, prices = landing
    daily = defaultdict(Decimal)
    days = set()
    for event in totals.requests.values():
        day = event["occurred_at"].date()
        days.add(day)
        cost = prices.cost(event) or Decimal(0)
        for scope, field in (("team", "team"), ("client", "client"), ("user", "user_id")):
            daily[(scope, event[field], day)] += cost
    first, as_of = min(days), max(days)
    month_start = as_of.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    window = [as_of - timedelta(days=i) for i in range(28) if as_of - timedelta(days=i) >= first]
    actual = {
        (scope, scope_id): (spent, forecast, status, forecast_status)
        for scope, scope_id, spent, forecast, status, forecast_status in _query(
            settings,
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
    assert as_of == date(2026, 11, 20)


def test_alerts_follow_thresholds_and_marts(sample_warehouse, landing):
    settings, _ = sample_warehouse
    alerts = _query(
        settings,
        """select alert_type, scope_type, scope_id, severity, measured_value, threshold_value
           from rpt_alerts""",
    )
    assert alerts, "the sample data breaches seed 003's latency thresholds"
    for alert_type, _st, scope_id, severity, measured, threshold in alerts:
        assert measured >= threshold, (alert_type, scope_id)
        assert severity in {"warning", "critical"}
    # latency alerts = models with >= 20 measured requests and p95 >= 5 s on the as-of day
    as_of = max(day for _e, _m, day in _events(landing))
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
