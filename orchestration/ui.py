"""`make dagster`: the Dagster UI (`dagster dev`) on http://127.0.0.1:3000 with its state kept.

* Its instance (run history, sensor cursors, schedule ticks) lives in a persistent
  DAGSTER_HOME, `data/dagster_home` by default (`Settings.dagster_home`): a restart resumes
  the landing sensor's cursor instead of starting a full refresh for files it has seen.
* SIGINT and SIGTERM stop it cleanly, in the foreground or in the background (a shell
  starts background jobs with SIGINT ignored, which `dagster dev` inherited): this process
  asks `dagster dev` to shut down (SIGINT, its own clean path), waits for it and its
  webserver, daemon and code server, and only then ends what is left of its process group.
* It writes nothing outside DAGSTER_HOME (the folder is under data/, which git ignores).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from aiusage.settings import Settings

HOST = "127.0.0.1"
PORT = 3000
GRACE_SECONDS = 60
INSTANCE_YAML = """# Written by orchestration.ui (make dagster): the local Dagster UI's instance.
telemetry:
  enabled: false
# One DuckDB file has one writer: a run the landing sensor starts while another refresh
# runs (or one launched from the UI meanwhile) waits in the queue instead of failing on
# the warehouse's lock.
concurrency:
  runs:
    max_concurrent_runs: 1
"""


def prepare_home(home: Path) -> Path:
    """Create DAGSTER_HOME with an instance file (kept as the user left it once written)."""
    home.mkdir(parents=True, exist_ok=True)
    instance = home / "dagster.yaml"
    if not instance.exists():
        instance.write_text(INSTANCE_YAML, encoding="utf-8")
    return home


def dagster_dev_command(host: str = HOST, port: int = PORT) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    return [
        str(dagster),
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        host,
        "-p",
        str(port),
    ]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop(child: subprocess.Popen, grace: float) -> int:
    """Ask `dagster dev` to shut down, then end its process group if anything is left."""
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
    try:
        code = child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            code = child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            code = child.wait()
    # the webserver, daemon or code server, if dagster dev left one behind
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    return code


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    settings.apply_to_environ()
    home = prepare_home(settings.dagster_home)
    env = {**settings.subprocess_env(), "DAGSTER_HOME": str(home)}
    child = subprocess.Popen(
        [*dagster_dev_command(), *(argv or [])],
        cwd=settings.project_dir,
        env=env,
        start_new_session=True,  # its own group: stopped as a whole, by this process only
        preexec_fn=_default_sigint,  # noqa: PLW1509 (no threads yet in this process)
    )
    stopping: list[int] = []

    def request_stop(signum, _frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    args = argv or []
    port = args[args.index("-p") + 1] if "-p" in args[:-1] else PORT
    print(f"Dagster UI on http://{HOST}:{port} (DAGSTER_HOME={home}); Ctrl-C stops it", flush=True)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(child, GRACE_SECONDS)
        print("Dagster UI stopped", flush=True)
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
