"""Shared fixtures. The dbt manifest is parsed once, before any test imports Dagster code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_DIR.parent / "shared"


def pytest_configure(config):
    # Every command and the Dagster code location work on this checkout's dbt project.
    os.environ["AIUSAGE_PROJECT_DIR"] = str(PROJECT_DIR)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if hasattr(config, "workerinput"):
        return  # xdist workers: the controller already parsed
    from aiusage.project import ensure_manifest
    from aiusage.settings import Settings

    ensure_manifest(Settings.from_env())


@pytest.fixture(autouse=True)
def _no_repository_data(tmp_path_factory, monkeypatch):
    """No test reads or writes the repository's data/ folder: a `make demo` before `make
    test` leaves a published snapshot in data/published, which the report and delivery
    commands would otherwise read instead of the warehouse a test built. Every warehouse
    path a test does not set points into an empty temporary folder."""
    defaults = {
        "AIUSAGE_DUCKDB_PATH": "warehouse.duckdb",
        "AIUSAGE_LANDING_DIR": "landing",
        "AIUSAGE_PUBLISHED_DIR": "published",
        "AIUSAGE_GX_DOCS_DIR": "gx_docs",
        "AIUSAGE_REPORTS_DIR": "reports",
        "AIUSAGE_DELIVERY_STATE_PATH": "delivery_state.sqlite",
    }
    unset = [key for key in defaults if not os.environ.get(key)]
    if unset:
        root = tmp_path_factory.mktemp("no_repository_data")
        for key in unset:
            monkeypatch.setenv(key, str(root / defaults[key]))


@pytest.fixture
def warehouse_env(tmp_path, monkeypatch):
    """Point the warehouse at a fresh landing folder and DuckDB file under tmp_path."""
    landing = tmp_path / "landing"
    duckdb_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("AIUSAGE_LANDING_DIR", str(landing))
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(duckdb_path))
    monkeypatch.setenv("AIUSAGE_GX_DOCS_DIR", str(tmp_path / "gx_docs"))
    monkeypatch.setenv("AIUSAGE_PUBLISHED_DIR", str(tmp_path / "published"))
    monkeypatch.setenv("AIUSAGE_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("AIUSAGE_DELIVERY_STATE_PATH", str(tmp_path / "delivery_state.sqlite"))
    from aiusage.settings import Settings

    return Settings.from_env()


SAMPLE_END_DATE = "2026-11-20"


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, worker_id):
    """One generated data set (10 days x 1,000 events, seed 11, ending SAMPLE_END_DATE),
    refreshed once per test session by the real Dagster job and shared by the xdist
    workers: the first worker to need it builds it under a file lock, the others wait and
    reuse it (a second build would cost a minute of CPU on a 2-core runner).

    Read-only for tests: open the DuckDB file with `duckdb.connect(path, read_only=True)`.
    Tests that change landing files or the warehouse build their own.
    Returns (settings, generate_summary).
    """
    import fcntl
    import pickle
    from datetime import date

    from aiusage.sample import generate
    from aiusage.settings import Settings
    from orchestration.run import outcome, run_refresh

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base
    root = shared / "sample_warehouse"
    keys = ["AIUSAGE_LANDING_DIR", "AIUSAGE_DUCKDB_PATH", "DBT_PROFILES_DIR"]
    keys += ["AIUSAGE_PUBLISHED_DIR", "AIUSAGE_GX_DOCS_DIR", "AIUSAGE_REPORTS_DIR"]
    keys += ["AIUSAGE_DELIVERY_STATE_PATH", "SLACK_WEBHOOK_URL", "AIUSAGE_SMTP_HOST"]
    saved = {key: os.environ.get(key) for key in keys}
    os.environ["AIUSAGE_LANDING_DIR"] = str(root / "landing")
    os.environ["AIUSAGE_DUCKDB_PATH"] = str(root / "warehouse.duckdb")
    os.environ["AIUSAGE_PUBLISHED_DIR"] = str(root / "published")
    os.environ["AIUSAGE_GX_DOCS_DIR"] = str(root / "gx_docs")
    os.environ["AIUSAGE_REPORTS_DIR"] = str(root / "reports")
    os.environ["AIUSAGE_DELIVERY_STATE_PATH"] = str(root / "delivery_state.sqlite")
    os.environ.pop("SLACK_WEBHOOK_URL", None)  # the shared build delivers nothing
    os.environ.pop("AIUSAGE_SMTP_HOST", None)
    try:
        with open(shared / "sample_warehouse.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            settings = Settings.from_env()
            built = root / "summary.pickle"
            if built.exists():
                summary = pickle.loads(built.read_bytes())
            else:
                root.mkdir(exist_ok=True)
                summary = generate(
                    settings.landing_dir,
                    days=10,
                    events_per_day=1000,
                    seed=11,
                    end_date=date.fromisoformat(SAMPLE_END_DATE),
                    progress=False,
                )
                result = run_refresh(settings)
                assert result.success, outcome(result, settings).failure
                built.write_bytes(pickle.dumps(summary))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return settings, summary


@pytest.fixture
def sample_copy(sample_warehouse, tmp_path):
    """A private copy of the sample warehouse and its snapshots (the shared one is read by
    other tests meanwhile), for tests that refresh or deliver. The landing files are only
    read: the same folder (row keys hold the landed file's path). Returns the environment
    variables that point every command at the copy (no delivery channel set)."""
    import shutil

    shared, _ = sample_warehouse
    root = tmp_path / "sample"
    root.mkdir()
    shutil.copyfile(shared.duckdb_path, root / shared.duckdb_path.name)
    shutil.copyfile(shared.staging_duckdb_path, root / shared.staging_duckdb_path.name)
    shutil.copytree(shared.published_dir, root / "published")
    env = {
        **shared.environ(),
        "AIUSAGE_DUCKDB_PATH": str(root / shared.duckdb_path.name),
        "AIUSAGE_PUBLISHED_DIR": str(root / "published"),
        "AIUSAGE_GX_DOCS_DIR": str(tmp_path / "gx_docs"),
        "AIUSAGE_REPORTS_DIR": str(tmp_path / "reports"),
        "AIUSAGE_DELIVERY_STATE_PATH": str(root / "delivery_state.sqlite"),
    }
    return env
