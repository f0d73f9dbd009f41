"""`pip install ./packages/aiusage-tracking` brings the client and nothing else (no dbt,
Dagster, GX, DuckDB, pandas or FastAPI), and the client records an event with nothing but
the standard library on the path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The distribution pip installs (dependencies resolved) into an empty folder."""
    root = tmp_path_factory.mktemp("tracking")
    # installed from a copy: a plain (non-editable) install builds inside the source folder
    source = shutil.copytree(
        PROJECT_DIR / "packages" / "aiusage-tracking",
        root / "aiusage-tracking",
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    target = root / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet",
         "--target", str(target), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return target


def test_the_client_installs_alone(installed):
    # every top-level package or module pip put there: the client and its metadata only
    names = {p.name for p in installed.iterdir() if p.name != "__pycache__"}
    assert {n for n in names if not n.endswith(".dist-info")} == {"aiusage_tracking"}
    (metadata,) = [n for n in names if n.endswith(".dist-info")]
    assert metadata.startswith("aiusage_tracking-")
    requires = (installed / metadata / "METADATA").read_text()
    assert "Requires-Dist" not in requires


def test_the_installed_client_records_an_event_with_the_standard_library_only(installed, tmp_path):
    script = (
        "import sys\n"
        "from aiusage_tracking import track\n"
        "with track(provider='openai', model='gpt-4o', team='support') as t:\n"
        "    t.record_response({'id': 'chatcmpl-1', 'usage': {'prompt_tokens': 12,\n"
        "        'completion_tokens': 3, 'prompt_tokens_details': {'cached_tokens': 4}}})\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in\n"
        "    ('duckdb', 'pandas', 'dagster', 'dbt', 'great_expectations', 'fastapi', 'numpy')]\n"
        "print(t.path)\n"
    )
    # -S: no site-packages, so only the standard library and the installed folder
    env = {"PYTHONPATH": str(installed), "AIUSAGE_LANDING_DIR": str(tmp_path / "landing")}
    done = subprocess.run(
        [sys.executable, "-S", "-c", script], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.parent.parent == tmp_path / "landing" / "events"
    (line,) = path.read_text().splitlines()
    event = json.loads(line)
    assert (event["request_id"], event["input_tokens"], event["cache_read_tokens"]) == (
        "chatcmpl-1", 12, 4,
    )  # fmt: skip
