"""`make dagster` in headless Chromium: the asset graph with its groups, a materialisation
launched from the UI that finishes green with its asset checks, the schedules and sensors;
its Dagster home persists across a restart (runs and the landing sensor's cursor), SIGTERM
stops it cleanly, and it leaves nothing untracked in the repository."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.bi.conftest import free_port, screenshot, start_make, stop, tail
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.bi

LOCATION = "orchestration.definitions"
SENSOR_CURSOR = """query {
  sensorOrError(sensorSelector: {repositoryName: "__repository__",
      repositoryLocationName: "orchestration.definitions", sensorName: "landing_files_sensor"}) {
    ... on Sensor { sensorState { typeSpecificData { ... on SensorData { lastCursor } } } }
  }
}"""
RUNS = """query { runsOrError { ... on Runs { results {
  runId status jobName tags { key value } } } } }"""
DONE = {"SUCCESS", "FAILURE", "CANCELED"}


def graphql(url: str, query: str) -> dict:
    answer = httpx.post(f"{url}/graphql", json={"query": query}, timeout=60)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


def cursor(url: str) -> str | None:
    state = graphql(url, SENSOR_CURSOR)["sensorOrError"]["sensorState"]
    return state["typeSpecificData"]["lastCursor"]


def runs(url: str) -> list[dict]:
    return graphql(url, RUNS)["runsOrError"]["results"]


def definitions_names():
    """Groups, schedules and sensors as the code location defines them."""
    from aiusage.settings import Settings
    from orchestration.definitions import build_definitions

    defs = build_definitions(Settings.from_env())
    groups = {spec.group_name for assets in defs.assets for spec in getattr(assets, "specs", [])}
    schedules = {s.name for s in defs.schedules}
    sensors = {s.name for s in defs.sensors}
    return groups, schedules, sensors


# Dagster's UI opens a "Join the Dagster community" dialog on a new browser profile.
DISMISS_WELCOME = """(() => {
  const skip = [...document.querySelectorAll('button')].find(b => b.innerText === 'Skip');
  if (skip) skip.click();
  return true;
})()"""


def start(env: dict, port: int, log: Path) -> subprocess.Popen:
    health = f"http://127.0.0.1:{port}/server_info"
    return start_make("dagster", {"DAGSTER_PORT": str(port)}, env, log, health)


def leftovers(dagster_home: str) -> list[str]:
    """Processes still running for this Dagster home (webserver, daemon, code servers)."""
    table = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [line for line in table.splitlines() if dagster_home in line and "ps -eo" not in line]


def untracked() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_dagster_ui_in_chromium(built_warehouse, browser, screenshots, tmp_path):
    env = built_warehouse
    groups, schedules, sensors = definitions_names()
    assert {"landing", "seeds", "marts_usage"} <= groups
    before = untracked()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "make-dagster.log"
    process = start(env, port, log)
    try:
        # the asset graph, every group drawn
        browser.navigate(f"{url}/asset-groups", timeout=60)
        browser.wait_for(
            " && ".join(f"document.body.innerText.includes({name!r})" for name in sorted(groups)),
            timeout=120,
        )
        time.sleep(2)
        browser.evaluate(DISMISS_WELCOME)
        time.sleep(1)
        screenshot(browser, screenshots / "dagster-asset-graph.png")

        # schedules and sensors
        browser.navigate(f"{url}/automation", timeout=60)
        browser.wait_for(
            " && ".join(
                f"document.body.innerText.includes({name!r})"
                for name in sorted(schedules | sensors)
            ),
            timeout=120,
        )
        browser.evaluate(DISMISS_WELCOME)
        screenshot(browser, screenshots / "dagster-automation.png")

        # a materialisation launched from the UI: the refresh job's "Materialize all"
        browser.navigate(f"{url}/locations/{LOCATION}/jobs/refresh_warehouse", timeout=60)
        browser.wait_for(
            "[...document.querySelectorAll('button')].some(b => b.innerText === 'Materialize all')",
            timeout=120,
        )
        # (the landing sensor may have started a refresh already: a new Dagster home has
        # no cursor; that run and the one launched here queue, one at a time)
        earlier = {r["runId"] for r in runs(url)}
        browser.evaluate(
            "[...document.querySelectorAll('button')]"
            ".find(b => b.innerText === 'Materialize all').click()"
        )

        def from_the_ui(run: dict) -> bool:  # a sensor's refresh carries aiusage/trigger
            keys = {tag["key"] for tag in run["tags"]}
            return run["jobName"] == "refresh_warehouse" and "aiusage/trigger" not in keys

        deadline = time.monotonic() + 1500
        while time.monotonic() < deadline:
            launched = [r for r in runs(url) if r["runId"] not in earlier and from_the_ui(r)]
            if launched and launched[0]["status"] in DONE:
                break
            time.sleep(5)
        (run,) = launched
        assert run["status"] == "SUCCESS", tail(log)
        history = [r["runId"] for r in runs(url)]
        checks = check_results(env, run["runId"])
        assert checks and all(checks.values()), {k: v for k, v in checks.items() if not v}
        browser.navigate(f"{url}/runs/{run['runId']}", timeout=60)
        browser.wait_for("document.body.innerText.includes('Success')", timeout=120)
        time.sleep(2)
        browser.evaluate(DISMISS_WELCOME)
        screenshot(browser, screenshots / "dagster-run.png")
        assert browser.console_errors == []

        # the landing sensor has ticked and kept a cursor in DAGSTER_HOME
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not cursor(url):
            time.sleep(5)
        kept = cursor(url)
        assert kept, "the landing sensor never stored a cursor"
    finally:
        started = time.monotonic()
        code = stop(process)
        stopped_in = time.monotonic() - started
    # make passes SIGTERM on, waits for its recipe, then ends by the same signal
    assert code in (0, -15), tail(log)
    assert stopped_in < 90
    assert "Dagster UI stopped" in log.read_text(errors="replace")
    assert leftovers(env["DAGSTER_HOME"]) == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/server_info", timeout=5)

    # a restart on the same DAGSTER_HOME: the run history and the sensor's cursor are there
    process = start(env, port, log)
    try:
        assert set(history) <= {r["runId"] for r in runs(url)}
        assert cursor(url) == kept
    finally:
        assert stop(process) in (0, -15)
    assert leftovers(env["DAGSTER_HOME"]) == []
    assert untracked() == before


def check_results(env: dict, run_id: str) -> dict[str, bool]:
    """Every asset check evaluated in the run: key -> passed (from the Dagster home)."""
    import os

    from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with DagsterInstance.get() as instance:
            records = instance.get_event_records(
                EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION),
                limit=10000,
            )
            results = {}
            for record in records:
                entry = record.event_log_entry
                if entry.run_id != run_id:
                    continue
                evaluation = entry.dagster_event.event_specific_data
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                results[name] = evaluation.passed
            return results
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = saved
