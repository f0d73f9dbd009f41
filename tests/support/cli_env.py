"""Environment for `aiusage` subprocesses in tests: every path under one root, no real
notification targets; dbt commands run as a refresh runs them (`dbt_command`)."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from pathlib import Path

# The `aiusage` executable of this interpreter's environment, for tests that run it as a
# process (as a user, a scheduler or `make demo` does).
AIUSAGE = str(Path(sys.executable).with_name("aiusage"))

# The warm dbt server of this test process's dbt commands (dbt_command): (process, socket).
_DBT_SERVER: tuple[subprocess.Popen, str] | None = None


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


def dbt_command(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` run as every refresh runs it: `aiusage-dbt`, the client of a warm dbt
    server (aiusage.dbtserver), which forks a fresh dbt command per call with this call's
    environment and folder; output captured (stdout and stderr); returns once the
    command's manifest.json is written, as after the `dbt` executable. The server is the
    tests' own (`dbtserver.spawn`), started on first use in this process and stopped at
    its exit: the one `dbtserver.start()` keeps (which tests start, stop and read the log
    of) is not touched, and no variable of this process changes. A command pays neither
    dbt's imports nor its first decoding of the saved manifest (a test of several dbt
    commands: 67 s with the `dbt` executable, 30 s served). The `dbt` executable itself,
    an analyst's path, is run by the tests of the mart template and of dbt's unit tests."""
    from aiusage import dbtserver

    global _DBT_SERVER
    if _DBT_SERVER is None or _DBT_SERVER[0].poll() is not None:
        _DBT_SERVER = dbtserver.spawn()
        atexit.register(dbtserver.shut_down, *_DBT_SERVER)
    socket_path = _DBT_SERVER[1]
    result = subprocess.run(
        [dbtserver.client_executable(), *args],
        cwd=cwd,
        env={**env, dbtserver.SOCKET_ENV: socket_path},
        capture_output=True,
        text=True,
    )
    dbtserver.wait_for_manifest(socket_path)
    return result


def run_dbt(env: dict[str, str], project: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` in `project` with a look-back of 3 days (dbt_command)."""
    return dbt_command(env, project, *args, "--vars", '{"lookback_days": 3}')


def run_dbt_ok(env: dict[str, str], project: Path, *args: str) -> None:
    """`run_dbt`, failing the test with dbt's output when dbt fails."""
    result = run_dbt(env, project, *args)
    assert result.returncode == 0, result.stdout + result.stderr


def warehouse_rows(env: dict[str, str], sql: str) -> list[tuple]:
    """The rows of `sql` on the DuckDB file of `env` (AIUSAGE_DUCKDB_PATH), read-only."""
    import duckdb

    with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
        return con.sql(sql).fetchall()
