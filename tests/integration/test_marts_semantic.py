"""The dbt semantic layer answers through MetricFlow (`mf query`) on the DuckDB warehouse,
with the same numbers as an independent computation over the landing files; and the report,
which compiles the same metric definitions itself, gives MetricFlow's numbers."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import PROJECT_DIR
from tests.support.reference import PriceBook, read_landing

pytestmark = pytest.mark.slow
pytest.importorskip("metricflow", reason="needs the `semantic` extra (dbt-metricflow)")

METRICS = [
    "total_cost",
    "requests",
    "total_tokens",
    "active_users",
    "cost_per_active_user",
    "error_rate",
    "p95_latency_ms",
]


def _mf_query(settings, tmp_path, *args) -> list[dict]:
    """`mf query ... --csv` on the warehouse of `settings`, as rows."""
    from aiusage.project import manifest_path
    from aiusage.settings import Settings

    # mf reads <cwd>/target/semantic_manifest.json (written by `dbt parse`) and the profile.
    (tmp_path / "target").mkdir(exist_ok=True)
    shutil.copy(
        manifest_path(Settings.from_env()).parent / "semantic_manifest.json", tmp_path / "target"
    )
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, tmp_path)
    out = tmp_path / "metrics.csv"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(tmp_path),
        "AIUSAGE_DUCKDB_PATH": str(settings.duckdb_path),
    }
    mf = Path(sys.executable).parent / "mf"
    result = subprocess.run(
        [str(mf), "query", *args, "--csv", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and out.exists(), result.stdout + result.stderr
    with open(out, newline="") as handle:
        return list(csv.DictReader(handle))


def test_mf_query_matches_reference(sample_warehouse, tmp_path):
    settings, _ = sample_warehouse
    (row,) = _mf_query(settings, tmp_path, "--metrics", ",".join(METRICS))

    landing = read_landing(settings.landing_dir)
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    events = list(landing.requests.values())
    cost = sum((prices.cost(e) or Decimal(0) for e in events), Decimal(0))
    users = {e["user_id"] for e in events} - {"(unattributed)"}
    failed = sum(e["status"] != "success" for e in events)
    # p95 latency: successful interactive requests (not batch, not flex)
    latencies = [
        e["latency_ms"]
        for e in events
        if e["latency_ms"] is not None
        and e["status"] == "success"
        and e["service_tier"] not in ("batch", "flex")
    ]

    assert int(row["requests"]) == len(events)
    assert float(row["total_cost"]) == pytest.approx(float(cost), rel=1e-9)
    assert int(row["total_tokens"]) == sum(e["input_tokens"] + e["output_tokens"] for e in events)
    assert int(row["active_users"]) == len(users)
    assert float(row["cost_per_active_user"]) == pytest.approx(float(cost) / len(users), rel=1e-9)
    assert float(row["error_rate"]) == pytest.approx(failed / len(events), rel=1e-9)
    assert float(row["p95_latency_ms"]) == pytest.approx(np.percentile(latencies, 95), rel=1e-9)


REPORT_METRICS = {
    "total_cost_usd": "total_cost",
    "requests": "requests",
    "cost_per_request_usd": "cost_per_request",
    "success_rate": "success_rate",
    "avg_quality_score": "avg_quality_score",
    "pass_rate": "pass_rate",
    "active_users": "active_users",
}
# the report's latency: interactive percentiles from the request fact (another semantic model)
REPORT_LATENCY_METRICS = {
    "latency_p50_ms": "p50_latency_ms",
    "latency_p95_ms": "p95_latency_ms",
}


def test_the_report_gives_metricflows_numbers(sample_warehouse, tmp_path):
    """The report's by-team section of a week and `mf query` over the same metrics, period
    and grouping: one definition (models/semantic), two compilers, the same numbers."""
    from datetime import date, timedelta

    from aiusage.reporting.build import build_report
    from aiusage.reporting.period import ReportWindow
    from tests.conftest import SAMPLE_END_DATE

    settings, _ = sample_warehouse
    end = date.fromisoformat(SAMPLE_END_DATE)
    week = ReportWindow(end - timedelta(days=6), end)
    rows = _mf_query(
        settings,
        tmp_path,
        "--metrics", ",".join(REPORT_METRICS.values()),
        "--group-by", "daily_usage__team",
        "--start-time", str(week.start), "--end-time", str(week.end),
    )  # fmt: skip
    by_team = {r["team"]: r for r in build_report(settings.duckdb_path, week)["by_team"]}
    assert set(by_team) == {r["daily_usage__team"] for r in rows} and len(rows) > 3
    for row in rows:
        mine = by_team[row["daily_usage__team"]]
        for column, metric in REPORT_METRICS.items():
            theirs = row[metric]
            if theirs in ("", None):
                assert mine[column] is None, (row, column)
            else:
                assert float(mine[column]) == pytest.approx(float(theirs), rel=1e-9), column
    latency = _mf_query(
        settings,
        tmp_path,
        "--metrics", ",".join(REPORT_LATENCY_METRICS.values()),
        "--group-by", "llm_request__team",
        "--start-time", str(week.start), "--end-time", str(week.end),
    )  # fmt: skip
    assert {r["llm_request__team"] for r in latency} == set(by_team)
    for row in latency:
        mine = by_team[row["llm_request__team"]]
        for column, metric in REPORT_LATENCY_METRICS.items():
            assert float(mine[column]) == pytest.approx(float(row[metric]), rel=1e-9), column
