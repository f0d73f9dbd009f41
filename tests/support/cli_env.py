"""Environment for `aiusage` subprocesses in tests: every path under one root, no real
notification targets."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def warehouse_env(root: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AIUSAGE_LANDING_DIR": str(root / "landing"),
        "AIUSAGE_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "AIUSAGE_PUBLISHED_DIR": str(root / "published"),
        "AIUSAGE_GX_DOCS_DIR": str(root / "gx_docs"),
        "AIUSAGE_REPORTS_DIR": str(root / "reports"),
        "AIUSAGE_DELIVERY_STATE_PATH": str(root / "delivery_state.sqlite"),
    }
    env.pop("SLACK_WEBHOOK_URL", None)
    env.pop("AIUSAGE_SMTP_HOST", None)
    env.update(extra)
    return env


def dbt_env(root: Path, project: Path, **extra: str) -> dict[str, str]:
    """Environment for `dbt` subprocesses over a warehouse under `root` (landing folder,
    DuckDB file, target and logs there; this checkout's profiles)."""
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "AIUSAGE_LANDING_DIR": str(root / "landing"),
        "AIUSAGE_DUCKDB_PATH": str(root / "wh.duckdb"),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
    }
    env.update(extra)
    return env


def run_dbt(env: dict[str, str], project: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` in `project` with a look-back of 3 days."""
    from aiusage.project import dbt_executable
    from aiusage.settings import Settings

    return subprocess.run(
        [dbt_executable(Settings.from_env()), *args, "--vars", '{"lookback_days": 3}'],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )


def run_dbt_ok(env: dict[str, str], project: Path, *args: str) -> None:
    """`run_dbt`, failing the test with dbt's output when dbt fails."""
    result = run_dbt(env, project, *args)
    assert result.returncode == 0, result.stdout + result.stderr


def warehouse_rows(env: dict[str, str], sql: str) -> list[tuple]:
    """The rows of `sql` on the DuckDB file of `env` (AIUSAGE_DUCKDB_PATH), read-only."""
    import duckdb

    with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
        return con.sql(sql).fetchall()
