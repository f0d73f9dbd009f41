"""A refresh run in this process: the job `refresh_warehouse` of the code location, as the
schedule, the sensor and the Dagster UI run it. `aiusage build` and the tests call this, so a
command-line refresh and a scheduled one are one code path."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from aiusage.errors import explain_refresh_failure
from aiusage.project import ensure_manifest
from aiusage.refresh import RefreshOptions
from aiusage.settings import Settings
from orchestration.assets.delivery import ALERTS, WEEKLY_REPORT
from orchestration.schedules import REFRESH_JOB, selected_keys


def run_refresh(
    settings: Settings,
    options: RefreshOptions | None = None,
    log_level: str | None = None,
    selection: dg.AssetSelection | None = None,
) -> dg.ExecuteInProcessResult:
    """Run refresh_warehouse in-process and return Dagster's result (never raises on a failed
    step). `options` sets a backfill range or a full refresh, as the launchpad does through
    the warehouse resource's run config; `log_level` the console log level (default DEBUG,
    Dagster's); `selection` a subset of the job's assets (a refresh of changed seeds: see
    orchestration.schedules.refresh_request)."""
    from orchestration.definitions import build_definitions

    settings.apply_to_environ()
    ensure_manifest(settings)  # parsed with this run's vars and paths: dbt parses partially
    defs = build_definitions(settings)
    job = defs.resolve_job_def(REFRESH_JOB)
    keys = None if selection is None else selected_keys(selection, defs.resolve_asset_graph())
    run_config: dict = {}
    config = (options or RefreshOptions()).as_config()
    if config:
        run_config["resources"] = {"warehouse": {"config": config}}
    if log_level:
        run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    return job.execute_in_process(run_config=run_config, raise_on_error=False, asset_selection=keys)


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """One message per failed step or failed check, in the order they happened."""
    messages = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            text = error.message.strip() if error else "unknown error"
            messages.append(f"step {event.step_key} failed: {text}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            if not data.passed:
                key = data.asset_key.to_user_string()
                description = data.description or ""
                messages.append(f"check {data.check_name} on {key} failed. {description}".strip())
    return messages


def _metadata(result: dg.ExecuteInProcessResult, key: dg.AssetKey, field: str) -> str | None:
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key == key and field in materialization.metadata:
            return str(materialization.metadata[field].value)
    return None


@dataclass(frozen=True)
class RefreshOutcome:
    success: bool
    failure: str | None  # one line naming what failed and the fix
    alerts: str | None  # what the alert delivery did
    weekly_report: str | None  # what the weekly report delivery did


def outcome(result: dg.ExecuteInProcessResult, settings: Settings) -> RefreshOutcome:
    messages = failure_messages(result)
    if result.success and not messages:
        return RefreshOutcome(
            True,
            None,
            _metadata(result, ALERTS, "summary"),
            _metadata(result, WEEKLY_REPORT, "delivery"),
        )
    return RefreshOutcome(
        False, explain_refresh_failure(messages or ["the run failed"], settings), None, None
    )
