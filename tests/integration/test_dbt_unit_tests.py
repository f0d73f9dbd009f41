"""Every dbt unit test (`unit_tests:` in the model yml) runs here, once per test session.

Refreshes leave them out (`--exclude-resource-type unit_test`): they check the SQL logic of
the models against fixed given/expect rows, which does not change between refreshes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aiusage.settings import staging_duckdb_path

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_dbt_unit_test_passes(sample_warehouse, tmp_path):
    settings, _ = sample_warehouse
    # unit tests create their fixtures in the warehouse: a copy, the shared one stays as is
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(settings.duckdb_path, warehouse)
    shutil.copyfile(settings.staging_duckdb_path, staging_duckdb_path(warehouse))
    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "AIUSAGE_LANDING_DIR": str(settings.landing_dir),
        "AIUSAGE_DUCKDB_PATH": str(warehouse),
    }
    target = tmp_path / "target"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "test",
            "--select",
            "test_type:unit",
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    declared = {uid for uid in manifest["unit_tests"]}
    run = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    passed = {r["unique_id"] for r in run["results"] if r["status"] == "pass"}
    assert len(declared) >= 13
    assert passed == declared


def test_refreshes_leave_unit_tests_out():
    from aiusage.settings import Settings
    from orchestration.assets.dbt import dbt_build_args

    args = dbt_build_args(Settings.from_env())
    assert args[:3] == ["build", "--exclude-resource-type", "unit_test"]
