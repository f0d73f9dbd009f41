"""The sensors: new landing files start a refresh (once per file version); a failed run is
posted to a real local Slack webhook."""

from __future__ import annotations

import os
import time

import dagster as dg

from tests.support.servers import RecordingWebhook


def _land(landing, day, name, lines=1, age=60.0):
    folder = landing / "events" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text('{"request_id": "r"}\n' * lines, encoding="utf-8")
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def _tick(landing, cursor=None):
    from orchestration.resources import WarehouseSettings
    from orchestration.sensors import landing_files_sensor

    context = dg.build_sensor_context(
        cursor=cursor, resources={"warehouse": WarehouseSettings(landing_dir=str(landing))}
    )
    return landing_files_sensor(context)


def test_sensor_fires_for_new_files_and_not_for_files_already_seen(tmp_path):
    landing = tmp_path / "landing"
    _land(landing, "2026-11-19", "a.jsonl")

    first = _tick(landing)
    assert isinstance(first, dg.SensorResult) and len(first.run_requests) == 1
    assert first.run_requests[0].tags["aiusage/new_files"] == "1"

    again = _tick(landing, first.cursor)
    assert isinstance(again, dg.SkipReason)

    _land(landing, "2026-11-20", "b.jsonl")
    _land(landing, "2026-11-20", "c.jsonl", age=0.0)  # still being written: next tick
    new = _tick(landing, first.cursor)
    assert isinstance(new, dg.SensorResult)
    assert new.run_requests[0].tags["aiusage/new_files"] == "1"
    assert new.run_requests[0].run_key != first.run_requests[0].run_key
    assert "c.jsonl" not in new.cursor and "b.jsonl" in new.cursor

    _land(landing, "2026-11-19", "a.jsonl", lines=2)  # re-delivered with other content
    changed = _tick(landing, new.cursor)
    assert isinstance(changed, dg.SensorResult)


def test_sensor_skips_an_empty_landing_folder(tmp_path):
    assert isinstance(_tick(tmp_path / "nothing"), dg.SkipReason)


def test_run_failure_sensor_posts_the_failed_step_to_slack(monkeypatch):
    from orchestration.resources import WarehouseSettings
    from orchestration.sensors import slack_on_run_failure

    @dg.op
    def load_prices():
        raise RuntimeError("price seed has 2 overlapping rows")

    @dg.job
    def broken():
        load_prices()

    instance = dg.DagsterInstance.ephemeral()
    result = broken.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="slack_on_run_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    with RecordingWebhook() as hook:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
        slack_on_run_failure(context, warehouse=WarehouseSettings())
        (payload,) = hook.payloads()
    assert "job `broken`" in payload["text"]
    assert "load_prices" in payload["text"] and "2 overlapping rows" in payload["text"]
