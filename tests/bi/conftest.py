"""Fixtures of the BI checks (`make test-bi`): a warehouse built and published by the real
refresh from generated data, free ports, Chromium, and the folder the screenshots go to."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.support.cli_env import AIUSAGE, warehouse_env
from tests.support.servers import Browser, chromium_path

SCREENSHOTS = PROJECT_DIR / "data" / "test-bi-screenshots"
END_DATE = date(2026, 11, 20)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_make(target: str, variables: dict[str, str], env: dict, log: Path, health: str):
    """`make <target> VAR=value ...` from the repository, its output appended to `log`;
    returns once `health` (a URL) answers 200."""
    with log.open("a") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())],
            cwd=PROJECT_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for_http(health, process, timeout=900, log=log)
    return process


def wait_for_http(url: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the server exited ({process.returncode}):\n{tail(log)}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{tail(log)}")


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def stop(process: subprocess.Popen, timeout: float = 90) -> int:
    """SIGTERM to `make` (which passes it on); the exit code, once everything stopped."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout)


def land(env: dict[str, str], end_date: date, days: int, seed: int) -> None:
    from aiusage.sample import generate

    generate(
        Path(env["AIUSAGE_LANDING_DIR"]),
        days=days,
        events_per_day=400,
        seed=seed,
        end_date=end_date,
        progress=False,
    )


def refresh(env: dict[str, str]) -> subprocess.Popen:
    """`aiusage build` (the refresh and its publish) as a separate process."""
    return subprocess.Popen(
        [AIUSAGE, "build"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory):
    """Seven days of generated events, refreshed and published by `aiusage build`.
    Returns the environment that points every command at it."""
    root = tmp_path_factory.mktemp("bi_warehouse")
    env = warehouse_env(root, AIUSAGE_BI_HOME=str(root / "bi"), DAGSTER_HOME=str(root / "dagster"))
    land(env, END_DATE, days=7, seed=19)
    build = refresh(env)
    output, _ = build.communicate(timeout=1200)
    assert build.returncode == 0, output[-4000:]
    return env


def screenshot(browser: Browser, path: Path) -> None:
    """The window as it is (1400 x 2200): no resize, which would make a page lay out and
    draw its charts again while the picture is taken."""
    import base64

    result = browser.call("Page.captureScreenshot", format="png")
    path.write_bytes(base64.b64decode(result["data"]))


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is missing: `make browser` installs it (make test-bi needs it)")
    browser = Browser(executable)
    browser.open_page()
    try:
        yield browser
    finally:
        browser.close()


__all__ = [
    "END_DATE",
    "free_port",
    "land",
    "refresh",
    "screenshot",
    "start_make",
    "stop",
    "tail",
    "wait_for_http",
]
