"""Anomaly detection end to end: the generator's spend-spike days must be flagged, and few
other days. The session sample warehouse (10 days) has too little history before its
spikes, so this builds its own: 21 days x 1,000 events, seed 10 (spikes on 2026-11-09 and
2026-11-18, with 9 and 18 days of history), anchored on 2026-11-18. Also checks that a
second incremental run of the request-level percentile marts changes nothing."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.generate import SPIKE_WORKFLOW, WORKFLOW_BY_NAME, generate
from tests.conftest import PROJECT_DIR
from tests.support.reference import PriceBook, read_landing

pytestmark = pytest.mark.slow

END_DATE = date(2026, 11, 20)
AS_OF_VARS = "{as_of_date: '2026-11-18'}"
INCREMENTAL_MARTS = [
    "rpt_latency_percentiles",
    "rpt_latency_by_hour",
    "rpt_error_rates",
    "rpt_token_distribution",
]


def _dbt(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "AIUSAGE_LANDING_DIR": str(root / "landing"),
        "AIUSAGE_DUCKDB_PATH": str(root / "warehouse.duckdb"),
    }
    dbt = str(Path(sys.executable).parent / "dbt")
    result = subprocess.run(
        [dbt, *args, "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.fixture(scope="module")
def spiky_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("spiky_warehouse")
    summary = generate(
        root / "landing", days=21, events_per_day=1000, seed=10, end_date=END_DATE, progress=False
    )
    # Anchor the monitoring marts on the last spike day, so rpt_alerts shows it.
    _dbt(root, "build", "--quiet", "--vars", AS_OF_VARS)
    return root, summary


def _query(root: Path, sql: str):
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


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
    others = flagged - expected
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


def test_second_incremental_run_changes_nothing(spiky_warehouse):
    root, _ = spiky_warehouse

    def checksums():
        return {
            m: _query(root, f"select count(*), sum(hash(t)) from {m} as t")[0]
            for m in INCREMENTAL_MARTS
        }

    before = checksums()
    _dbt(
        root,
        "run",
        "--quiet",
        "--vars",
        AS_OF_VARS,
        "--select",
        "fct_llm_requests",
        *INCREMENTAL_MARTS,
    )
    assert checksums() == before
    (days,) = _query(root, "select count(distinct usage_date) from rpt_latency_percentiles")[0]
    assert days == 21
