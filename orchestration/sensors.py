"""Sensors: new landing files start a refresh; a failed run posts to Slack."""

import hashlib
import json

import dagster as dg

from aiusage.delivery.slack import failure_payload, post_slack
from aiusage.landing import settled_inventory
from orchestration.resources import WarehouseSettings
from orchestration.schedules import plan_tag, refresh_request, selected_keys


def new_files(seen: dict[str, str], current: dict[str, str]) -> list[str]:
    """Files that are new or changed (another mtime or size) since `seen`."""
    return sorted(path for path, stamp in current.items() if seen.get(path) != stamp)


@dg.sensor(
    name="landing_files_sensor",
    job_name="refresh_warehouse",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts refresh_warehouse when files appear (or change) in the landing folder; "
    "the cursor remembers every file's mtime and size, so a file seen before never starts a "
    "second run.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseSettings):
    settings = warehouse.resolve()
    seen = json.loads(context.cursor) if context.cursor else {}
    current = settled_inventory(settings.landing_dir)
    fresh = new_files(seen, current)
    if not fresh:
        return dg.SkipReason(f"No new files under {settings.landing_dir}")
    # The cursor keeps files that disappeared too: re-landing the same file unchanged is no news.
    cursor = json.dumps({**seen, **current}, sort_keys=True)
    refresh_plan, selection = refresh_request(settings)
    if refresh_plan.nothing_new:  # e.g. a new Dagster home: files seen by the last refresh
        return dg.SensorResult(skip_reason=dg.SkipReason(refresh_plan.reason), cursor=cursor)
    run_key = hashlib.sha256(
        json.dumps({p: current[p] for p in fresh}, sort_keys=True).encode()
    ).hexdigest()[:16]
    shown = ", ".join(fresh[:5]) + (f" and {len(fresh) - 5} more" if len(fresh) > 5 else "")
    context.log.info("%d new landing file(s): %s", len(fresh), shown)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                asset_selection=(
                    None
                    if selection is None
                    else selected_keys(selection, context.repository_def.asset_graph)
                ),
                tags={
                    "aiusage/trigger": "landing_files",
                    "aiusage/new_files": str(len(fresh)),
                    "aiusage/plan": plan_tag(refresh_plan),
                },
            )
        ],
        cursor=cursor,
    )


@dg.run_failure_sensor(
    name="slack_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts the failed steps of any failed run to Slack (SLACK_WEBHOOK_URL); "
    "does nothing when it is not set.",
)
def slack_on_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseSettings):
    settings = warehouse.resolve()
    if not settings.slack_webhook_url:
        return dg.SkipReason("SLACK_WEBHOOK_URL is not set")
    step_errors = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        step_errors.append((event.step_key or "?", error.message if error else ""))
    if not step_errors:
        step_errors.append(("run", context.failure_event.message or "the run failed"))
    run = context.dagster_run
    post_slack(failure_payload(run.job_name, run.run_id, step_errors), settings.slack_webhook_url)
    return None
