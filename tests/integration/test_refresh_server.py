"""The refresh server (`aiusage refresh-server`, aiusage.cli.refreshserver): an `aiusage
build` whose AIUSAGE_REFRESH_SERVER names it runs in a fork of the warm server, with the
caller's environment, folder, streams and exit code, and builds the same warehouse as a
refresh run in its own process; a server whose code changed since it started answers
`stale` and leaves, and the caller refreshes by itself.

A real server process, real refreshes of a small generated landing, a copy of the dbt
project of its own (each build writes its target folder there)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

import aiusage.cli.refreshserver as refreshserver
from aiusage.project import manifest_path, mart_relations
from aiusage.sample import generate
from aiusage.settings import Settings
from tests.support.cli_env import AIUSAGE
from tests.support.project import copy_project

pytestmark = pytest.mark.slow


def _env(tmp_path: Path, project: Path, name: str) -> dict[str, str]:
    """A warehouse of its own (`name`) over the shared landing folder."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIUSAGE_")}
    return {
        **environ,
        "AIUSAGE_PROJECT_DIR": str(project),
        "AIUSAGE_LANDING_DIR": str(tmp_path / "landing"),
        "AIUSAGE_DUCKDB_PATH": str(tmp_path / name / "warehouse.duckdb"),
        "AIUSAGE_PUBLISHED_DIR": str(tmp_path / name / "published"),
        "AIUSAGE_GX_DOCS_DIR": str(tmp_path / name / "gx_docs"),
        "AIUSAGE_REPORTS_DIR": str(tmp_path / name / "reports"),
        "AIUSAGE_DELIVERY_STATE_PATH": str(tmp_path / name / "delivery_state.sqlite"),
    }


def _checksums(env: dict[str, str]) -> dict[str, tuple]:
    """Row count and sum of row hashes of every mart, read from the warehouse dbt built."""
    settings = Settings.from_env(env)
    marts = mart_relations(manifest_path(settings))
    with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
        return {
            m.name: con.execute(
                f'select count(*), sum(hash(t)) from "{m.schema}"."{m.name}" as t'
            ).fetchone()
            for m in marts
        }


def _land(tmp_path: Path, **sizes) -> None:
    """Generated events in the landing folder both warehouses read."""
    generate(tmp_path / "landing", end_date=date(2026, 11, 20), progress=False, **sizes)


def _served_lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


@pytest.fixture
def server(tmp_path):
    """A refresh server on a socket of its own, logging each refresh it serves."""
    folder = Path(tempfile.mkdtemp(prefix="aiusage-rs-"))  # a short path: a Unix socket
    socket_path = folder / "refresh.sock"
    log = tmp_path / "served.log"
    env = {**os.environ, refreshserver.COMMANDS_LOG_ENV: str(log)}
    process = subprocess.Popen(
        [AIUSAGE, "refresh-server", "--socket", str(socket_path)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()  # once warm
        assert "listening" in line, line
        yield process, socket_path, log
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert not socket_path.exists()  # removed when it leaves
        shutil.rmtree(folder)  # the folder is this fixture's


def test_a_served_refresh_builds_what_a_refresh_of_its_own_builds(tmp_path, server):
    process, socket_path, log = server
    project = copy_project(tmp_path / "project")
    _land(tmp_path, days=3, events_per_day=200, seed=11)
    # the same paths (dbt parses the project again when they change), one refresh after the
    # other: served, then in its own process on a warehouse built afresh
    own_env = _env(tmp_path, project, "warehouse")
    served_env = {**own_env, refreshserver.SOCKET_ENV: str(socket_path)}

    served = subprocess.run(
        [AIUSAGE, "build", "--quiet"], env=served_env, capture_output=True, text=True
    )
    assert served.returncode == 0, served.stderr
    assert "Refresh succeeded. Warehouse: " + served_env["AIUSAGE_DUCKDB_PATH"] in served.stdout
    assert _served_lines(log) == ["build --quiet exit=0"]  # run by the server, not here

    served_marts = _checksums(served_env)
    assert served_marts["fct_llm_requests"][0] > 500

    shutil.rmtree(tmp_path / "warehouse")
    own = subprocess.run([AIUSAGE, "build", "--quiet"], env=own_env, capture_output=True, text=True)
    assert own.returncode == 0, own.stderr
    assert _served_lines(log) == ["build --quiet exit=0"]  # no socket named: not served
    assert _checksums(own_env) == served_marts

    # a refused command: the same message on the caller's stderr and the same exit code
    bad = ["build", "--start-date", "2026-11-20", "--end-date", "2026-11-19"]
    served_bad = subprocess.run([AIUSAGE, *bad], env=served_env, capture_output=True, text=True)
    own_bad = subprocess.run([AIUSAGE, *bad], env=own_env, capture_output=True, text=True)
    assert served_bad.returncode == own_bad.returncode == 2
    assert served_bad.stderr == own_bad.stderr and "Error" in served_bad.stderr
    assert _served_lines(log)[-1] == f"{' '.join(bad)} exit=2"
    assert process.poll() is None  # still serving


def test_a_server_whose_code_changed_leaves_and_the_caller_refreshes_itself(tmp_path, server):
    process, socket_path, log = server
    project = copy_project(tmp_path / "project")
    _land(tmp_path, days=1, events_per_day=50, seed=3)
    env = {**_env(tmp_path, project, "w"), refreshserver.SOCKET_ENV: str(socket_path)}
    module = Path(refreshserver.__file__)
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        result = subprocess.run(
            [AIUSAGE, "build", "--quiet"], env=env, capture_output=True, text=True
        )
    finally:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert result.returncode == 0, result.stderr
    assert "Refresh succeeded" in result.stdout
    assert _served_lines(log) == []  # refreshed in its own process
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.poll() == 0
