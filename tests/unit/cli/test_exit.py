"""The `aiusage` executable (aiusage.cli.run) leaves without the interpreter's teardown, but
only after what an exit must do: the threads that are not daemons joined, the exit handlers
run, the output flushed; and with the command's exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
from aiusage.cli import run

folder = Path(sys.argv[1])
atexit.register(lambda: (folder / "atexit").write_text("ran"))

def late():
    time.sleep(0.3)
    (folder / "thread").write_text("joined")

threading.Thread(target=late).start()  # not a daemon: the exit waits for it
print("unflushed output", end="")
sys.argv = ["aiusage", *sys.argv[2:]]
run()
"""


def _run(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_command_exits_with_its_code_after_threads_handlers_and_output(tmp_path):
    done = _run(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("unflushed output") and "Usage:" in done.stdout
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "joined"


def test_usage_errors_and_refused_commands_keep_their_exit_codes(tmp_path):
    assert _run(tmp_path, "no-such-command").returncode == 2
    empty = tmp_path / "not_a_project"
    empty.mkdir()
    env = {**os.environ, "AIUSAGE_PROJECT_DIR": str(empty)}
    refused = _run(tmp_path, "build", env=env)
    assert refused.returncode == 1, refused.stderr
    assert "no dbt project" in refused.stderr
    assert (tmp_path / "atexit").read_text() == "ran"
