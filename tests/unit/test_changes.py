"""What changed since the last refresh (aiusage.changes): a snapshot published with the
refresh's inputs makes the next plan "nothing new" until a landed file, a seed, a model, a
setting or the warehouse itself changes; a change of seeds alone is told apart; the daily
schedule and the landing sensor stop on "nothing new" (the schedule still delivers a
weekly report that is due)."""

from __future__ import annotations

import os
import time
from datetime import date

import dagster as dg
import duckdb
import pytest

from aiusage.changes import plan, refresh_inputs
from aiusage.delivery.reports import current_week, record_report_delivery
from aiusage.project import Mart
from aiusage.refresh import RefreshOptions
from aiusage.settings import Settings
from aiusage.snapshot import publish
from tests.support.project import copy_project


def _land(settings: Settings, day: str, name: str, text: str = '{"request_id": "r"}\n'):
    folder = settings.landing_dir / "events" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    past = time.time() - 60
    os.utime(folder / name, (past, past))
    return folder / name


@pytest.fixture
def refreshed(tmp_path, monkeypatch):
    """A project copy, one landed file and a warehouse published with the inputs of its
    refresh, as the publish step of a refresh records them."""
    project = copy_project(tmp_path / "project")
    monkeypatch.setenv("AIUSAGE_PROJECT_DIR", str(project))
    for name, value in {
        "AIUSAGE_LANDING_DIR": "landing",
        "AIUSAGE_DUCKDB_PATH": "warehouse.duckdb",
        "AIUSAGE_PUBLISHED_DIR": "published",
        "AIUSAGE_DELIVERY_STATE_PATH": "state.sqlite",
        "AIUSAGE_REPORTS_DIR": "reports",
    }.items():
        monkeypatch.setenv(name, str(tmp_path / value))
    settings = Settings.from_env()
    _land(settings, "2026-11-20", "a.jsonl")
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_daily_usage as select 1 as requests")
    inputs = refresh_inputs(settings)
    snapshot = publish(
        settings, [Mart("fct_daily_usage", "main")], "run1", metadata={"inputs": inputs.as_json()}
    )
    return settings, snapshot.build_id


def test_nothing_new_after_a_refresh_that_recorded_its_inputs(refreshed):
    settings, build_id = refreshed
    result = plan(settings)
    assert result.nothing_new and not result.seeds_only and not result.runs_expectations
    assert result.reason.startswith(f"Nothing new since build {build_id} ")
    assert plan(settings, RefreshOptions(full_refresh=True)).nothing_new is False
    backfill = RefreshOptions(backfill_start=date(2026, 11, 20))
    assert plan(settings, backfill).nothing_new is False


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: _land(s, "2026-11-21", "b.jsonl"), "landing (events)"),
        (
            lambda s: _land(s, "2026-11-20", "a.jsonl", '{"request_id": "r2"}\n'),
            "landing (events)",
        ),
        (
            lambda s: (
                (s.project_dir / "models" / "marts" / "usage" / "fct_daily_usage.sql")
                .open("a")
                .write("\n-- a comment is a change of the model\n")
            ),
            "project",
        ),
        (lambda s: (s.project_dir / "seeds" / "fx_rates.csv").unlink(), "seeds"),
    ],
    ids=["new_file", "changed_file", "model", "removed_seed"],
)
def test_a_changed_input_makes_a_refresh(refreshed, change, reason):
    settings, _ = refreshed
    change(settings)
    result = plan(settings)
    assert not result.nothing_new and not result.seeds_only
    assert result.reason == f"changed since the last refresh: {reason}"
    assert result.changed_sources == (("events",) if reason.startswith("landing") else ())
    # GX suites run over changed landed files and changed seeds, not over a changed model
    assert result.runs_expectations == (reason != "project")


def test_a_changed_setting_or_a_changed_warehouse_makes_a_refresh(refreshed, monkeypatch):
    settings, _ = refreshed
    monkeypatch.setenv("AIUSAGE_LOOKBACK_DAYS", "7")
    assert plan(Settings.from_env()).reason == "changed since the last refresh: settings"
    with duckdb.connect(str(settings.duckdb_path)) as con:  # e.g. a `dbt build` by hand
        con.execute("create table scratch as select 1 as x")
    assert plan(settings).reason == "the warehouse changed after the last publish"


def test_changed_seeds_alone_are_named(refreshed):
    settings, _ = refreshed
    seeds = settings.project_dir / "seeds"
    for name in ("fx_rates", "service_tier_multipliers"):
        path = seeds / f"{name}.csv"
        path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    result = plan(settings)
    assert result.seeds_only and not result.nothing_new and result.runs_expectations
    assert result.changed_seeds == ("fx_rates", "service_tier_multipliers")


def test_a_snapshot_without_inputs_or_without_a_warehouse_makes_a_refresh(refreshed):
    settings, _ = refreshed
    publish(settings, [Mart("fct_daily_usage", "main")], "run2")  # no inputs recorded
    assert plan(settings).reason == "no earlier refresh recorded its inputs"
    assert plan(settings).runs_expectations  # unknown changes: every check runs
    inputs = refresh_inputs(settings).as_json()
    publish(settings, [Mart("fct_daily_usage", "main")], "run3", metadata={"inputs": inputs})
    assert plan(settings).nothing_new
    settings.duckdb_path.unlink()
    assert plan(settings).reason == f"no warehouse at {settings.duckdb_path}"


def test_the_schedule_and_the_sensor_stop_when_nothing_is_new(refreshed):
    from orchestration.resources import WarehouseSettings
    from orchestration.schedules import DELIVER_JOB, schedule_request
    from orchestration.sensors import landing_files_sensor

    settings, build_id = refreshed
    # no weekly report delivered yet: the schedule runs the delivery job only
    request = schedule_request(settings, asset_graph=None)
    assert isinstance(request, dg.RunRequest) and request.job_name == DELIVER_JOB
    week = current_week(settings)
    record_report_delivery(settings, "weekly", week, {}, ["slack"])
    skipped = schedule_request(settings, asset_graph=None)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message.startswith(f"Nothing new since build {build_id} ")

    # a sensor with no cursor (a new Dagster home) sees every file as new: no run
    context = dg.build_sensor_context(resources={"warehouse": WarehouseSettings()})
    result = landing_files_sensor(context)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    assert "a.jsonl" in result.cursor
    _land(settings, "2026-11-21", "b.jsonl")
    from orchestration.definitions import build_definitions
    from tests.support.project import PROJECT_DIR

    # the checkout's code location (its manifest is parsed): the assets a run selects
    repo = build_definitions(settings.with_overrides(project_dir=PROJECT_DIR)).get_repository_def()
    context = dg.build_sensor_context(
        cursor=result.cursor, resources={"warehouse": WarehouseSettings()}, repository_def=repo
    )
    (request,) = landing_files_sensor(context).run_requests
    # a new landed file, the seeds as they were: everything but the seeds and their checks
    assert request.tags["aiusage/plan"] == "seeds_unchanged"
    selected = {"/".join(key.path) for key in request.asset_selection}
    assert {"landing/events", "stg_events__usage_events", "fct_llm_requests"} <= selected
    # ... and only events landed: the staging of the other sources is as the last build made
    assert not selected & {"stg_litellm__spend_logs", "stg_openrouter__generations", "dim_models"}
    assert {"published_warehouse", "alerts/usage_alerts"} <= selected
    assert not selected & {"model_prices", "fx_rates", "service_tier_multipliers"}
    assert not {name for name in selected if name.startswith("seed_files/")}
