"""Clear failures of the commands: an unwritable or full landing folder, a corrupt Parquet
file, a missing price seed and a missing project each give one readable line naming what to
fix, and leave the published snapshot untouched. (A full disk under the warehouse during a
refresh: tests/integration/test_reliability.py, in `make test-slow`.)"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from aiusage.cli import main
from aiusage.project import Mart
from aiusage.settings import Settings
from aiusage.snapshot import current_build_id, publish, published_duckdb_path
from tests.support.cli_env import AIUSAGE
from tests.support.project import copy_project

EVENT = {
    "request_id": "r1",
    "occurred_at": "2026-11-19T10:00:00Z",
    "provider": "openai",
    "model": "gpt-4o-mini",
}


@pytest.fixture
def published(warehouse_env):
    """A published snapshot (one mart) that every failure below must leave alone."""
    settings = warehouse_env
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_daily_usage as select 42 as requests")
    publish(settings, [Mart("fct_daily_usage", "main")], run_id="first")
    before = (current_build_id(settings), published_duckdb_path(settings).read_bytes())
    yield settings
    assert (current_build_id(settings), published_duckdb_path(settings).read_bytes()) == before
    with duckdb.connect(str(published_duckdb_path(settings)), read_only=True) as con:
        assert con.execute("select requests from fct_daily_usage").fetchall() == [(42,)]


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def _delivered(tmp_path: Path, rows: int = 3) -> Path:
    path = tmp_path / "delivered.jsonl"
    text = "".join(json.dumps({**EVENT, "request_id": f"r{n}"}) + "\n" for n in range(rows))
    path.write_text(text, encoding="utf-8")
    return path


def test_unwritable_landing_folder_is_one_line_naming_the_variable(published, tmp_path):
    landing = published.landing_dir
    landing.mkdir(parents=True)
    immutable = shutil.which("chattr") and (
        subprocess.run(["chattr", "+i", str(landing)], capture_output=True).returncode == 0
    )
    if not immutable:
        landing.chmod(0o555)
        if _writable(landing):
            pytest.skip("cannot make a folder unwritable here (root without chattr)")
    try:
        result = CliRunner().invoke(main, ["ingest", "events", str(_delivered(tmp_path))])
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(landing)], check=True)
        landing.chmod(0o755)
    line = _one_error_line(result)
    assert line.startswith("Error: cannot write to the landing folder")
    assert str(landing) in line and "AIUSAGE_LANDING_DIR" in line
    assert not list(landing.rglob("*"))  # no half-landed file


def _writable(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


def _need_tmpfs(tmp_path: Path) -> None:
    """Skip unless a tmpfs can be mounted in a user + mount namespace (no root needed)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare not available")
    probe = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", f'mount -t tmpfs -o size=64k tmpfs "{tmp_path}"'],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.strip()}")


def test_full_landing_disk_is_one_line_and_leaves_no_partial_file(published, tmp_path):
    """The landing folder on a 64 KiB tmpfs (user + mount namespace) and a 1 MB delivery."""
    _need_tmpfs(tmp_path)
    landing = published.landing_dir
    landing.mkdir(parents=True)
    delivered = _delivered(tmp_path, rows=8000)
    script = (
        f'mount -t tmpfs -o size=64k tmpfs "{landing}" && "{AIUSAGE}" ingest events '
        f'"{delivered}"; code=$?; ls -A "{landing}"/events/*/ 2>/dev/null; exit $code'
    )
    env = {**published.environ(), "PATH": "/usr/bin:/bin"}
    completed = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", script], capture_output=True, text=True, env=env
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("Error: cannot write to the landing folder")
    assert "No space left on device" in lines[0] and "free disk space" in lines[0]
    assert completed.stdout.strip() == ""  # no partial or temporary file left behind


def test_corrupt_parquet_is_one_line_naming_the_file(published, tmp_path):
    corrupt = tmp_path / "usage.parquet"
    corrupt.write_bytes(b"PAR1" + bytes(range(256)) * 4 + b"PAR1")

    line = _one_error_line(CliRunner().invoke(main, ["ingest", "events", str(corrupt)]))

    assert line.startswith(f"Error: {corrupt}: not a readable Parquet file")
    assert "re-export it" in line
    assert not published.landing_dir.exists()


def test_missing_price_seed_refuses_the_refresh_in_one_line(published, tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    (project / "seeds" / "model_prices.csv").unlink()
    monkeypatch.setenv("AIUSAGE_PROJECT_DIR", str(project))
    assert Settings.from_env().duckdb_path == published.duckdb_path  # absolute paths kept
    (published.landing_dir / "events" / "dt=2026-11-19").mkdir(parents=True)
    shutil.copy(_delivered(tmp_path), published.landing_dir / "events" / "dt=2026-11-19")

    line = _one_error_line(CliRunner().invoke(main, ["build", "--quiet"]))

    assert line == (
        f"Error: price seed missing: {project / 'seeds' / 'model_prices.csv'}; restore it "
        "(git checkout seeds/model_prices.csv) or run `aiusage pricing sync`, then run "
        "`aiusage build` again"
    )


def test_a_folder_without_a_dbt_project_is_one_line(published, tmp_path, monkeypatch):
    monkeypatch.setenv("AIUSAGE_PROJECT_DIR", str(tmp_path / "nowhere"))
    line = _one_error_line(CliRunner().invoke(main, ["build", "--quiet"]))
    assert line == (
        f"Error: no dbt project (dbt_project.yml) in {tmp_path / 'nowhere'} or above: run "
        "aiusage from the project folder or set AIUSAGE_PROJECT_DIR"
    )


def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv("AIUSAGE_LOOKBACK_DAYS", "three")
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert (
        result.output.strip() == "Error: AIUSAGE_LOOKBACK_DAYS must be a whole number, not 'three'"
    )
