"""Delivery over the built sample warehouse: the report against an independent computation
from the landing files, and the dashboard in headless Chromium (served by the real API, and
exported as a static file)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from click.testing import CliRunner

from aiusage.api.app import create_app
from aiusage.api.tokens import create_token
from aiusage.cli import main
from aiusage.delivery.state import connect_state
from aiusage.reporting.build import build_report
from aiusage.reporting.period import ReportWindow
from tests.conftest import PROJECT_DIR, SAMPLE_END_DATE
from tests.support.reference import PriceBook, read_landing
from tests.support.servers import Browser, chromium_path, keep_artifact, run_uvicorn

pytestmark = pytest.mark.slow

END = date.fromisoformat(SAMPLE_END_DATE)
WEEK = ReportWindow(END - timedelta(days=6), END)
CHARTS = [
    "chart-cost",
    "chart-tokens",
    "chart-latency",
    "chart-errors",
    "chart-models",
    "chart-treemap",
    "chart-latency-percentiles",
    "chart-latency-hours",
    "chart-token-distribution",
    "chart-budgets",
]
# per model over every team's requests: left out of a team's dashboard
ALL_TEAMS_ONLY = ["chart-latency-percentiles", "chart-latency-hours", "chart-token-distribution"]


@pytest.fixture(scope="module")
def expected(sample_warehouse):
    """Per (team, client) and status: requests and cost of the week, from the landing files."""
    settings, _ = sample_warehouse
    landing = read_landing(settings.landing_dir)
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    teams = defaultdict(lambda: [0, Decimal(0)])
    clients = defaultdict(int)
    failed = 0
    for event in landing.requests.values():
        if not WEEK.start <= event["occurred_at"].date() <= WEEK.end:
            continue
        cost = prices.cost(event)
        teams[event["team"]][0] += 1
        teams[event["team"]][1] += cost or 0
        clients[event["client"]] += 1
        failed += event["status"] != "success"
    return dict(teams), dict(clients), failed


def test_report_matches_independent_computation(sample_warehouse, expected):
    settings, _ = sample_warehouse
    teams, clients, failed = expected
    report = build_report(settings.duckdb_path, WEEK)
    actual = {r["team"]: [r["requests"], r["total_cost_usd"]] for r in report["by_team"]}
    assert set(actual) == set(teams)
    for team, (requests, cost) in teams.items():
        assert actual[team][0] == requests, team
        assert abs(actual[team][1] - cost) < Decimal("0.000001"), team
    assert {r["client"]: r["requests"] for r in report["by_client"]} == clients
    s = report["summary"]
    assert s["requests"] - s["successful_requests"] == failed
    assert sum(r["failed_requests"] for r in report["errors"]) == failed
    assert sum(r["requests"] for r in report["by_day"]) == s["requests"]
    team = max(teams, key=lambda t: teams[t][0])
    filtered = build_report(settings.duckdb_path, WEEK, {"team": team})
    assert filtered["summary"]["requests"] == teams[team][0]


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed: run `make browser` (apt-get install chromium)")
    instance = Browser(executable)
    try:
        instance.open_page()
        yield instance
    finally:
        instance.close()


def _chart_points(browser) -> dict:
    return browser.evaluate(
        "Object.fromEntries("
        + json.dumps(CHARTS)
        + """.map((id) => {
            const chart = echarts.getInstanceByDom(document.getElementById(id));
            if (!chart) return [id, 0];
            const series = chart.getOption().series || [];
            const count = (d) => (d || []).reduce((n, x) =>
                n + (x && x.children ? count(x.children) : (x == null ? 0 : 1)), 0);
            return [id, series.reduce((n, s) => n + count(s.data), 0)];
        }))"""
    )


def test_dashboard_served_by_the_api_renders_every_chart(
    sample_warehouse, browser, tmp_path, expected
):
    settings, _ = sample_warehouse
    state_path = tmp_path / "state.sqlite"
    con = connect_state(state_path)
    admin = create_token(con, team=None, is_admin=True)
    con.close()
    started = time.monotonic()
    with run_uvicorn(create_app(settings.duckdb_path, state_path)) as base:
        browser.blank()
        browser.navigate(f"{base}/#days=7&token={admin}")
        rendered = browser.wait_for("window.AIUSAGE_RENDERED && window.AIUSAGE_RENDERED.length")
        assert rendered == len(CHARTS)
        points = _chart_points(browser)
        heat = browser.evaluate(
            "(() => { const o = echarts.getInstanceByDom("
            "document.getElementById('chart-latency-hours')).getOption();"
            " return o.series[0].data.map(([h, d, v]) => [o.yAxis[0].data[d], h, v]); })()"
        )
        scope = browser.evaluate("document.getElementById('scope').textContent")
        kpi = browser.evaluate("document.querySelector('.kpi .value').textContent")
        kpis = browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('.kpi')]"
            ".map(k => [k.querySelector('.label').textContent, "
            "k.querySelector('.value').textContent]))"
        )
        shot = tmp_path / "dashboard-served.png"
        browser.screenshot(shot)
        # the token left the address bar once read
        assert "token" not in browser.evaluate("location.href")
        browser.blank()
    keep_artifact(shot)
    assert browser.console_errors == []
    assert all(points[c] > 0 for c in CHARTS), points
    teams, _, _ = expected
    assert scope.startswith(f"{WEEK.start} .. {WEEK.end} (7 days)")
    total = sum(cost for _, cost in teams.values())
    assert kpi == f"${total:,.2f}"
    # "Change vs previous": the cost of the 7 days before, from the landing files
    landing = read_landing(settings.landing_dir)
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    before = WEEK.start - timedelta(days=7)
    previous = sum(
        (prices.cost(e) or 0)
        for e in landing.requests.values()
        if before <= e["occurred_at"].date() < WEEK.start
    )
    assert previous > 0
    change = float((total - previous) / previous) * 100
    assert kpis["Change vs previous 7 days"] == f"{'+' if change >= 0 else ''}{change:.1f}%"
    assert shot.stat().st_size > 50_000
    assert time.monotonic() - started < 30
    # the heat map plots, per day and hour (reporting time zone UTC), the p95 latency of the
    # successful interactive requests of every model, as numpy computes it from the landing
    samples = defaultdict(list)
    for e in landing.requests.values():
        day = e["occurred_at"].date()
        interactive = e["service_tier"] not in ("batch", "flex") and e["status"] == "success"
        if WEEK.start <= day <= WEEK.end and interactive and e["latency_ms"] is not None:
            samples[(day.isoformat(), e["occurred_at"].hour)].append(e["latency_ms"])
    plotted = {(day, hour): value for day, hour, value in heat}
    assert set(plotted) == set(samples)
    for cell, values in samples.items():
        assert plotted[cell] == pytest.approx(float(np.percentile(values, 95)), rel=1e-9), cell


def test_dashboard_rejects_a_bad_token_visibly(sample_warehouse, browser, tmp_path):
    settings, _ = sample_warehouse
    with run_uvicorn(create_app(settings.duckdb_path, tmp_path / "state.sqlite")) as base:
        browser.navigate(f"{base}/#token=aiu_0000000000000000_{'x' * 43}")
        message = browser.wait_for("document.getElementById('message').textContent")
        browser.blank()
    assert message.startswith("Could not load data (401)")


def test_static_dashboard_export_opens_from_disk(sample_warehouse, browser, tmp_path, monkeypatch):
    settings, _ = sample_warehouse
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(settings.duckdb_path))
    output = tmp_path / "dashboard.html"
    result = CliRunner().invoke(
        main, ["dashboard", "--output", str(output), "--last-days", "10", "--team", "legal"]
    )
    assert result.exit_code == 0, result.output
    html = output.read_text()
    assert "<script src=" not in html and "cdn" not in html.lower()
    browser.blank()
    browser.navigate(output.as_uri())
    assert browser.wait_for("window.AIUSAGE_RENDERED && window.AIUSAGE_RENDERED.length") == len(
        CHARTS
    )
    points = _chart_points(browser)
    scope = browser.evaluate("document.getElementById('scope').textContent")
    form = browser.evaluate("getComputedStyle(document.getElementById('auth')).display")
    assert form == "none"  # no token form on a static export
    shot = tmp_path / "dashboard-static.png"
    browser.screenshot(shot)
    keep_artifact(shot)
    assert browser.console_errors == []
    # the performance charts are over every team's requests: left out of a team's export
    assert all(points[c] == 0 for c in ALL_TEAMS_ONLY), points
    assert all(points[c] > 0 for c in CHARTS if c not in ALL_TEAMS_ONLY), points
    assert scope.endswith("team=legal")
