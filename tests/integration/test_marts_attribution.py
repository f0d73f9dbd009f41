"""The analytics marts (cost by team, cost by workflow, model efficiency, daily trend, cost
per active user) on the session's generated warehouse, against an independent Python
computation over the same landing files and price seeds (tests/support/reference.py)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import PROJECT_DIR
from tests.support.reference import PriceBook, read_landing

pytestmark = pytest.mark.slow

UNATTRIBUTED = "(unattributed)"


@pytest.fixture(scope="module")
def priced_requests(sample_warehouse):
    """Every accepted request with its canonical model, UTC usage date and reference cost."""
    settings, _ = sample_warehouse
    landing = read_landing(settings.landing_dir)
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    rows = []
    for event in landing.requests.values():
        rows.append(
            {
                **event,
                "model": prices.canonical(event["provider"], event["model"]),
                "usage_date": event["occurred_at"].date(),
                "cost": prices.cost(event),
            }
        )
    return rows


@pytest.fixture(scope="module")
def query(sample_warehouse):
    settings, _ = sample_warehouse

    def run(sql):
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    return run


def _mean(values):
    return sum(values) / len(values) if values else None


def _approx(expected):
    """pytest.approx that also accepts None (no data: the mart must say null too)."""
    return None if expected is None else pytest.approx(expected, rel=1e-9)


def test_cost_by_team_per_day_matches_reference(priced_requests, query):
    expected = defaultdict(lambda: [0, Decimal(0), set()])
    for r in priced_requests:
        row = expected[(r["usage_date"], r["team"])]
        row[0] += 1
        row[1] += r["cost"] or 0
        if r["user_id"] != UNATTRIBUTED:
            row[2].add(r["user_id"])
    actual = {
        (d, t): [n, c or Decimal(0), u]
        for d, t, n, c, u in query(
            "select usage_date, team, requests, total_cost_usd, active_users from rpt_cost_by_team"
        )
    }
    assert actual == {k: [n, c, len(u)] for k, (n, c, u) in expected.items()}
    assert len({team for _, team in actual}) >= 8


def test_cost_by_workflow_matches_reference(priced_requests, query):
    groups = defaultdict(list)
    for r in priced_requests:
        key = (r["usage_date"], r["workflow"], r["task_type"], r["provider"], r["model"])
        groups[key].append(r)
    actual = {
        tuple(row[:5]): row[5:]
        for row in query(
            """select usage_date, workflow, task_type, provider, model, requests,
                      total_cost_usd, avg_cost_per_request_usd, avg_latency_ms,
                      avg_quality_score, pass_rate
               from rpt_cost_by_workflow"""
        )
    }
    assert set(actual) == set(groups)
    for key, rows in groups.items():
        requests, cost, avg_cost, latency, quality, pass_rate = actual[key]
        costs = [r["cost"] for r in rows if r["cost"] is not None]
        assert requests == len(rows)
        assert cost == (sum(costs) if costs else None)
        if costs:
            assert float(avg_cost) == pytest.approx(float(sum(costs) / len(costs)), rel=1e-9)
        lat = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
        assert latency == _approx(_mean(lat))
        scores = [r["quality_score"] for r in rows if r["quality_score"] is not None]
        assert quality == _approx(_mean(scores))
        judged = [r["passed_quality"] for r in rows if r["passed_quality"] is not None]
        assert pass_rate == _approx(_mean([1.0 if p else 0.0 for p in judged]))


def test_model_efficiency_matches_reference(priced_requests, query):
    last = max(r["usage_date"] for r in priced_requests)
    window = [r for r in priced_requests if r["usage_date"] > last - timedelta(days=30)]
    groups = defaultdict(list)
    for r in window:
        groups[(r["task_type"], r["provider"], r["model"])].append(r)
        groups[("(all)", r["provider"], r["model"])].append(r)
    actual = {
        tuple(row[:3]): row[3:]
        for row in query(
            """select task_type, provider, model, requests, total_cost_usd,
                      median_cost_per_request_usd, cost_per_successful_request_usd,
                      avg_quality_score, cache_hit_rate, tokens_per_dollar, window_end_date
               from rpt_model_efficiency"""
        )
    }
    assert set(actual) == set(groups)
    for key, rows in groups.items():
        requests, cost, median, per_success, quality, cache_hit, tokens_per_usd, end = actual[key]
        assert end == last
        assert requests == len(rows)
        costs = [r["cost"] for r in rows if r["cost"] is not None]
        assert cost == (sum(costs) if costs else None)
        if costs:
            assert float(median) == pytest.approx(float(statistics.median(costs)), rel=1e-9)
        successes = sum(r["status"] == "success" for r in rows)
        if len(costs) == len(rows) and successes:
            assert float(per_success) == pytest.approx(float(sum(costs) / successes), rel=1e-9)
            tokens = sum(r["input_tokens"] + r["output_tokens"] for r in rows)
            if sum(costs):
                assert tokens_per_usd == pytest.approx(float(tokens / sum(costs)), rel=1e-9)
        else:
            assert per_success is None
        scores = [r["quality_score"] for r in rows if r["quality_score"] is not None]
        assert quality == _approx(_mean(scores))
        inp = sum(r["input_tokens"] for r in rows)
        if inp:
            assert cache_hit == pytest.approx(
                sum(r["cache_read_tokens"] for r in rows) / inp, rel=1e-9
            )


def test_daily_trend_matches_reference(priced_requests, query):
    days = defaultdict(lambda: [0, Decimal(0), set(), set()])
    for r in priced_requests:
        row = days[r["usage_date"]]
        row[0] += 1
        row[1] += r["cost"] or 0
        if r["team"] != UNATTRIBUTED:
            row[2].add(r["team"])
        if r["user_id"] != UNATTRIBUTED:
            row[3].add(r["user_id"])
    actual = {
        row[0]: row[1:]
        for row in query(
            """select usage_date, requests, total_cost_usd, active_teams, active_users,
                      previous_day_cost_usd, is_latest_day
               from rpt_daily_trend"""
        )
    }
    first, last = min(days), max(days)
    assert sorted(actual) == [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for day, (requests, cost, teams, users, previous_cost, is_latest) in actual.items():
        n, c, t, u = days.get(day, [0, Decimal(0), set(), set()])
        assert (requests, cost, teams, users) == (n, c, len(t), len(u))
        yesterday = day - timedelta(days=1)
        assert previous_cost == (days[yesterday][1] if yesterday in actual else None)
        assert is_latest == (day == last)


def test_cost_per_active_user_matches_reference(priced_requests, query):
    last = max(r["usage_date"] for r in priced_requests)
    actual = {
        (w, t): (cost, users, cau)
        for w, t, cost, users, cau in query(
            """select window_days, team, total_cost_usd, active_users, cost_per_active_user_usd
               from rpt_cost_per_active_user"""
        )
    }
    for window_days in (7, 30, 90):
        rows = [r for r in priced_requests if r["usage_date"] > last - timedelta(window_days)]
        for team in {r["team"] for r in rows} | {"(all teams)"}:
            mine = [r for r in rows if team in ("(all teams)", r["team"])]
            cost = sum((r["cost"] or Decimal(0) for r in mine), Decimal(0))
            users = {r["user_id"] for r in mine} - {UNATTRIBUTED}
            got_cost, got_users, cau = actual[(window_days, team)]
            assert (got_cost, got_users) == (cost, len(users))
            if users:
                assert float(cau) == pytest.approx(float(cost / len(users)), abs=1e-12)


def test_gross_margin_by_client_uses_revenue_seed(priced_requests, query):
    import csv

    with open(PROJECT_DIR / "seeds" / "revenue.csv", newline="") as handle:
        revenue = {
            (r["client"], r["month"]): Decimal(r["revenue_usd"]) for r in csv.DictReader(handle)
        }
    cost = defaultdict(Decimal)
    for r in priced_requests:
        cost[(r["client"], r["usage_date"].replace(day=1).isoformat())] += r["cost"] or 0
    actual = {
        (c, m.isoformat()): (rev, margin)
        for c, m, rev, margin in query(
            """select client, month_start_date, revenue_usd, gross_margin_usd
               from rpt_gross_margin_by_client"""
        )
    }
    assert set(actual) == set(cost)
    for key, spent in cost.items():
        rev = revenue.get(key, Decimal(0))
        assert actual[key] == (rev, rev - spent)
    # allocated revenue per user adds up to the client's revenue
    (gap,) = query(
        """select max(abs(u.allocated - c.revenue_usd))
           from rpt_gross_margin_by_client as c
           join (select client, month_start_date, sum(allocated_revenue_usd) as allocated
                 from rpt_gross_margin_by_user group by all) as u
           using (client, month_start_date)"""
    )[0]
    assert gap < Decimal("0.000001")
