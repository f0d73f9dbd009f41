"""Orchestration pieces without a dbt build: sensors, schedules, Slack, publish, CLI options."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

# --------------------------------------------------------------------------- local Slack


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def slack():
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    server.received, server.statuses = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}/services/T000/B000/secret-token"
    yield server
    server.shutdown()
    server.server_close()


def test_post_slack_sends_the_payload(slack):
    from orchestration.notify import post_slack

    assert post_slack({"text": "hello"}, webhook_url=slack.url) == 1
    assert slack.received == [{"text": "hello"}]


def test_post_slack_retries_429_and_5xx_with_backoff(slack):
    from orchestration.notify import post_slack

    slack.statuses = [429, 503]
    delays = []
    assert post_slack({"text": "x"}, slack.url, backoff_seconds=0.5, sleep=delays.append)
    assert len(slack.received) == 3
    # 429 honours Retry-After (0 s here); the 503 waits the exponential back-off 0.5 * 2
    assert delays == [0.0, 1.0]


def test_post_slack_gives_up_without_leaking_the_url(slack, caplog):
    from orchestration.notify import SlackError, post_slack

    slack.statuses = [500, 500, 500]
    with pytest.raises(SlackError) as raised:
        post_slack({"text": "x"}, slack.url, attempts=3, sleep=lambda s: None)
    assert len(slack.received) == 3
    assert "secret-token" not in str(raised.value) and "HTTP 500" in str(raised.value)
    assert "secret-token" not in caplog.text
    slack.statuses = [404]
    with pytest.raises(SlackError):
        post_slack({"text": "x"}, slack.url, attempts=3, sleep=lambda s: None)
    assert len(slack.received) == 4  # a 404 is not retried


def test_post_slack_without_webhook_does_nothing(monkeypatch):
    from orchestration.notify import post_slack

    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    assert post_slack({"text": "x"}) == 0


def test_run_failure_sensor_posts_the_failed_step_to_slack(slack, monkeypatch):
    from orchestration.sensors import slack_on_run_failure

    @dg.op
    def load_prices():
        raise RuntimeError("price seed has 2 overlapping rows")

    @dg.job
    def broken():
        load_prices()

    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
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
    slack_on_run_failure(context)
    (payload,) = slack.received
    assert "job `broken`" in payload["text"]
    assert "load_prices" in payload["text"] and "2 overlapping rows" in payload["text"]


# --------------------------------------------------------------------------- sensor


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


# --------------------------------------------------------------------------- definitions


def test_schedules_load_with_their_time_zones(monkeypatch):
    monkeypatch.setenv("AIUSAGE_SCHEDULE_TIMEZONE", "America/New_York")
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    daily = defs.resolve_schedule_def("daily_refresh")
    weekly = defs.resolve_schedule_def("weekly_report_schedule")
    assert (daily.cron_schedule, daily.execution_timezone) == ("0 6 * * *", "America/New_York")
    assert (weekly.cron_schedule, weekly.execution_timezone) == ("0 9 * * 1", "America/New_York")
    assert daily.job_name == "refresh_warehouse" and weekly.job_name == "weekly_report"
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tick = datetime(2026, 11, 23, 6, 0, tzinfo=ZoneInfo("America/New_York"))
    (request,) = daily.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick)
    ).run_requests
    assert request is not None


def test_asset_graph_runs_two_dbt_invocations():
    from orchestration.assets.dbt import mart_asset_keys, warehouse_models, warehouse_seeds
    from orchestration.definitions import build_definitions

    seeds = {k.to_user_string() for k in warehouse_seeds.keys}
    models = {k.to_user_string() for k in warehouse_models.keys}
    assert {"model_prices", "model_aliases"} <= seeds and not seeds & models
    assert {"stg_events__usage_events", "int_usage_events_priced", "fct_llm_requests"} <= models
    assert {"rpt_cost_by_team", "int_landed_rows_unioned"} <= models
    marts = {k.to_user_string() for k in mart_asset_keys()}
    assert {"fct_llm_requests", "rpt_cost_by_team"} <= marts
    assert "stg_events__usage_events" not in marts

    defs = build_definitions()
    job = defs.resolve_job_def("refresh_warehouse")
    steps = list(job.graph.node_dict)
    # one dbt build for the seeds, one for every model: no subset steps
    assert {"warehouse_seeds", "warehouse_models"} <= set(steps)
    assert not [s for s in steps if s.startswith("warehouse_models_")]
    repo = defs.get_repository_def()
    published = repo.asset_graph.get(dg.AssetKey("published_warehouse"))
    assert {k.to_user_string() for k in published.parent_keys} == marts
    checks = {k.name for k in repo.asset_graph.asset_check_keys}
    assert {"fct_llm_requests_expectations", "warehouse_marts_expectations"} <= checks
    assert any("freshness" in name for name in checks)
    sensors = {s.name for s in defs.sensors}
    assert {"landing_files_sensor", "slack_on_run_failure", "marts_freshness_sensor"} <= sensors


def test_guarding_checks_are_blocking():
    from orchestration.checks.expectations import EXPECTATION_CHECKS

    for check in EXPECTATION_CHECKS:
        (spec,) = check.check_specs
        assert spec.blocking, spec.name


# --------------------------------------------------------------------------- backfill options


def test_build_command_passes_the_backfill_range(monkeypatch):
    from orchestration import cli

    seen = {}

    def fake_refresh(settings, options=None):
        seen["options"] = options
        raise SystemExit(0)

    monkeypatch.setattr(cli, "run_refresh", fake_refresh)
    args = ["build", "--start-date", "2026-11-01", "--end-date", "2026-11-05", "--full-refresh"]
    CliRunner().invoke(cli.main, args)
    options = seen["options"]
    assert (str(options.backfill_start), str(options.backfill_end)) == ("2026-11-01", "2026-11-05")
    assert options.full_refresh
    assert options.run_config() == {
        "resources": {
            "warehouse": {
                "config": {
                    "backfill_start": "2026-11-01",
                    "backfill_end": "2026-11-05",
                    "full_refresh": True,
                }
            }
        }
    }
    bad = CliRunner().invoke(
        cli.main, ["build", "--start-date", "2026-11-05", "--end-date", "2026-11-01"]
    )
    assert bad.exit_code == 2 and "before its start" in bad.output


def test_backfill_moves_the_first_landing_day_back():
    from datetime import date

    from orchestration.resources import RefreshOptions

    latest = date(2026, 11, 20)
    assert RefreshOptions().first_landing_day(latest, 3) == date(2026, 11, 17)
    backfill = RefreshOptions(backfill_start=date(2026, 11, 2))
    assert backfill.first_landing_day(latest, 3) == date(2026, 11, 2)
    inside = RefreshOptions(backfill_start=date(2026, 11, 19))
    assert inside.first_landing_day(latest, 3) == date(2026, 11, 17)
    assert RefreshOptions(full_refresh=True).first_landing_day(latest, 3) is None


# --------------------------------------------------------------------------- publish


def _settings(tmp_path, keep=2):
    from orchestration.settings import Settings

    return Settings.from_env(
        {
            "AIUSAGE_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
            "AIUSAGE_LANDING_DIR": str(tmp_path / "landing"),
            "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "published"),
            "AIUSAGE_PUBLISH_KEEP": str(keep),
        }
    )


def test_publish_swaps_the_pointer_and_keeps_the_last_snapshots(tmp_path):
    from orchestration.publish import Mart, publish, published_duckdb_path, snapshots

    settings = _settings(tmp_path, keep=2)
    with pytest.raises(FileNotFoundError, match="Nothing published"):
        published_duckdb_path(settings)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_x as select * from range(3) as t(n)")
    marts = [Mart(name="fct_x", schema="main")]

    builds = [publish(settings, marts, run_id=f"run{i}") for i in range(3)]

    assert published_duckdb_path(settings) == builds[-1].duckdb_path
    assert snapshots(settings) == [b.build_id for b in builds[1:]]  # the oldest pruned
    assert builds[-1].removed == [builds[0].build_id]
    exported = pd.read_parquet(builds[-1].parquet_files["fct_x"])
    assert exported["n"].tolist() == [0, 1, 2]
    run = json.loads((builds[-1].folder / "run.json").read_text())
    assert run["marts"] == {"fct_x": 3} and run["run_id"] == "run2"
    with duckdb.connect(str(published_duckdb_path(settings)), read_only=True) as con:
        assert con.execute("select sum(n) from fct_x").fetchone() == (3,)


def test_publish_failure_leaves_the_current_snapshot(tmp_path):
    from orchestration.publish import Mart, current_build_id, publish

    settings = _settings(tmp_path)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_x as select 1 as n")
    good = publish(settings, [Mart("fct_x", "main")], run_id="good")
    with pytest.raises(duckdb.CatalogException):
        publish(settings, [Mart("fct_missing", "main")], run_id="bad")
    assert current_build_id(settings) == good.build_id
    assert not [p for p in settings.published_dir.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- mart suites


def test_marts_suite_names_the_days_that_do_not_reconcile():
    from orchestration.expectations import validate_marts

    frame = pd.DataFrame(
        {
            "usage_date": ["2026-11-18", "2026-11-19", "2026-11-20"],
            "daily_negative_cost_rows": [0, 0, 1],
            "requests_negative_cost_rows": [0, 0, 0],
            "requests_gap": [0, 2, 0],
            "total_tokens_gap": [0, 0, 0],
            "total_cost_gap_usd": [0.0, 0.0, 0.0],
        }
    )
    result = validate_marts(frame)
    assert not result.success
    text = result.summary()
    assert "requests in fct_daily_usage equal rows in fct_llm_requests" in text
    assert "2026-11-19" in text and "negative cost" in text and "2026-11-20" in text


def test_requests_suite_flags_priced_rows_without_cost():
    from orchestration.expectations import validate_requests

    row = {
        "request_key": "k1",
        "usage_date": "2026-11-20",
        "model": "gpt-4o",
        "status": "success",
        "is_priced": True,
        "input_tokens": 10,
        "uncached_input_tokens": 10,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 5,
        "reasoning_tokens": 0,
        "input_cost_usd": 0.1,
        "cache_read_cost_usd": 0.0,
        "cache_write_cost_usd": 0.0,
        "output_cost_usd": 0.2,
        "total_cost_usd": 0.3,
        "component_cost_gap_usd": 0.0,
    }
    broken = {**row, "request_key": "k2", "total_cost_usd": None, "component_cost_gap_usd": None}
    result = validate_requests(pd.DataFrame([row, broken]))
    assert not result.success
    (failure,) = result.failed
    assert failure["column"] == "priced_without_cost" and "k2" in failure["detail"]


def test_publish_rewrites_only_changed_landing_days(tmp_path):
    """A mart with landing_date is published as one Parquet file per day; the next publish
    hard-links the days whose rows did not change and writes the others, and the snapshot's
    view returns the builder's rows with the builder's types."""
    import os

    from orchestration.publish import Mart, publish

    settings = _settings(tmp_path, keep=5)
    create = """create or replace table fct_x as
        select cast(n as bigint) as n, cast(n * 1.5 as decimal(38, 12)) as cost,
               date '2026-11-01' + cast(n % 3 as integer) as landing_date
        from range(9) as t(n)"""
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(create)
    first = publish(settings, [Mart("fct_x", "main")], run_id="one")
    with duckdb.connect(str(settings.duckdb_path)) as con:
        # a re-delivered row moves from 2026-11-01 to 2026-11-03; 2026-11-02 is untouched
        con.execute("update fct_x set landing_date = date '2026-11-03' where n = 0")
    second = publish(settings, [Mart("fct_x", "main")], run_id="two")

    def inode(build, day):
        return os.stat(build.folder / "marts" / "fct_x" / f"{day}.parquet").st_ino

    assert inode(first, "2026-11-02") == inode(second, "2026-11-02")
    assert inode(first, "2026-11-01") != inode(second, "2026-11-01")
    assert inode(first, "2026-11-03") != inode(second, "2026-11-03")
    run = json.loads((second.folder / "run.json").read_text())
    assert run["parquet_days"] == {"written": 2, "linked": 1}
    with duckdb.connect(str(second.duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select landing_date, count(*), sum(cost) from fct_x group by 1 order by 1"
        ).fetchall()
        columns = "select column_name, data_type from duckdb_columns() where table_name = 'fct_x'"
        types = dict(con.execute(columns).fetchall())
    assert [(str(d), c, float(s)) for d, c, s in rows] == [
        ("2026-11-01", 2, 1.5 * (3 + 6)),
        ("2026-11-02", 3, 1.5 * (1 + 4 + 7)),
        ("2026-11-03", 4, 1.5 * (0 + 2 + 5 + 8)),
    ]
    assert types == {"n": "BIGINT", "cost": "DECIMAL(38,12)", "landing_date": "DATE"}


# ------------------------------------------------------------ landed-batch expectations


def test_landed_batch_check_reads_only_new_or_changed_files(warehouse_env):
    """A file that passed the landed-batch expectations is not read again while unchanged:
    a refresh without new data validates nothing; a new or changed file is validated; a
    failing file is never recorded; a full refresh validates the whole window again."""
    from datetime import date

    import duckdb

    from orchestration.checks.expectations import landed_events_expectations
    from orchestration.generate import generate
    from orchestration.resources import WarehouseSettings

    settings = warehouse_env
    generate(
        settings.landing_dir,
        days=2,
        events_per_day=40,
        seed=5,
        end_date=date(2026, 11, 20),
        progress=False,
    )
    duckdb.connect(str(settings.duckdb_path)).close()  # the seeds' step creates it first

    def run(**config):
        result = landed_events_expectations(warehouse=WarehouseSettings(**config))
        meta = {key: value.value for key, value in result.metadata.items()}
        return result.passed, meta["files"], meta["already_validated"]

    assert run() == (True, 2, 0)
    assert run() == (True, 0, 2)  # nothing new: no file read
    day_file = next((settings.landing_dir / "events" / "dt=2026-11-20").glob("*.jsonl"))
    with day_file.open("a") as handle:  # a re-delivered (changed) file is read again
        handle.write(day_file.read_text().splitlines()[0] + "\n")
    assert run() == (True, 1, 1)
    bad = settings.landing_dir / "events" / "dt=2026-11-21" / "bad.jsonl"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"request_id": "x", "input_tokens": -5}\n' * 20)
    assert run()[:2] == (False, 1)
    assert run()[:2] == (False, 1)  # a failing file stays to validate
    bad.unlink()
    assert run(full_refresh=True) == (True, 2, 0)  # the window: 2026-11-17 .. 2026-11-20
