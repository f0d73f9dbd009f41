"""The dbt semantic layer answers through MetricFlow (`mf query`) on the DuckDB warehouse,
with the same numbers as an independent computation over the landing files."""

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


def test_mf_query_matches_reference(sample_warehouse, tmp_path):
    from aiusage.project import manifest_path
    from aiusage.settings import Settings

    settings, _ = sample_warehouse
    # mf reads <cwd>/target/semantic_manifest.json (written by `dbt parse`) and the profile.
    (tmp_path / "target").mkdir()
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
        [str(mf), "query", "--metrics", ",".join(METRICS), "--csv", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and out.exists(), result.stdout + result.stderr
    with open(out, newline="") as handle:
        (row,) = list(csv.DictReader(handle))

    landing = read_landing(settings.landing_dir)
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    events = list(landing.requests.values())
    cost = sum((prices.cost(e) or Decimal(0) for e in events), Decimal(0))
    users = {e["user_id"] for e in events} - {"(unattributed)"}
    failed = sum(e["status"] != "success" for e in events)
    latencies = [e["latency_ms"] for e in events if e["latency_ms"] is not None]

    assert int(row["requests"]) == len(events)
    assert float(row["total_cost"]) == pytest.approx(float(cost), rel=1e-9)
    assert int(row["total_tokens"]) == sum(e["input_tokens"] + e["output_tokens"] for e in events)
    assert int(row["active_users"]) == len(users)
    assert float(row["cost_per_active_user"]) == pytest.approx(float(cost) / len(users), rel=1e-9)
    assert float(row["error_rate"]) == pytest.approx(failed / len(events), rel=1e-9)
    assert float(row["p95_latency_ms"]) == pytest.approx(np.percentile(latencies, 95), rel=1e-9)
