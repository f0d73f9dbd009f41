"""Shared fixtures. The dbt manifest is parsed once, before any test imports Dagster code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_DIR.parent / "shared"


def pytest_configure(config):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if hasattr(config, "workerinput"):
        return  # xdist workers: the controller already parsed
    from orchestration.project import ensure_manifest

    ensure_manifest()


@pytest.fixture
def warehouse_env(tmp_path, monkeypatch):
    """Point the warehouse at a fresh landing folder and DuckDB file under tmp_path."""
    landing = tmp_path / "landing"
    duckdb_path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("AIUSAGE_LANDING_DIR", str(landing))
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(duckdb_path))
    monkeypatch.setenv("AIUSAGE_GX_DOCS_DIR", str(tmp_path / "gx_docs"))
    from orchestration.settings import Settings

    return Settings.from_env()
