"""`pip install ./packages/aiusage-tracking` into a fresh virtual environment brings the
client and nothing else (no dbt, Dagster, GX, DuckDB, pandas or FastAPI), and it records an
event there."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracking_venv")
    # installed from a copy: a plain (non-editable) install builds inside the source folder
    source = shutil.copytree(
        PROJECT_DIR / "packages" / "aiusage-tracking",
        root / "aiusage-tracking",
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    # a plain install, dependencies resolved: whatever the distribution declares comes in
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet",
         str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    return root, python


def test_the_client_installs_alone(fresh_venv):
    _, python = fresh_venv
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "aiusage-tracking" in names
    assert not names & {"dbt-core", "dagster", "great-expectations", "duckdb", "pandas", "fastapi"}
    assert names - {"aiusage-tracking", "pip", "setuptools", "wheel"} == set()


def test_the_installed_client_records_an_event(fresh_venv):
    root, python = fresh_venv
    script = (
        "from aiusage_tracking import track\n"
        "with track(provider='openai', model='gpt-4o', team='support') as t:\n"
        "    t.record_response({'id': 'chatcmpl-1', 'usage': {'prompt_tokens': 12,\n"
        "        'completion_tokens': 3, 'prompt_tokens_details': {'cached_tokens': 4}}})\n"
        "print(t.path)\n"
    )
    env = {"AIUSAGE_LANDING_DIR": str(root / "landing"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    (line,) = Path(done.stdout.strip()).read_text().splitlines()
    event = json.loads(line)
    assert (event["request_id"], event["input_tokens"], event["cache_read_tokens"]) == (
        "chatcmpl-1", 12, 4,
    )  # fmt: skip
    assert done.stdout.strip().startswith(str(root / "landing" / "events" / "dt="))
    assert sys.executable != str(python)
