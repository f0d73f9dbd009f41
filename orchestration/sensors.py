"""Sensors: new landing files start a refresh; a failed run posts to Slack; freshness."""

import hashlib
import json
import time
import warnings
from datetime import timedelta
from pathlib import Path

import dagster as dg

from orchestration.assets.landing import LANDING_DAY
from orchestration.resources import WarehouseSettings
from orchestration.settings import Settings

# A file modified more recently than this is probably still being written: it is left for
# the next tick (and not recorded as seen).
SETTLE_SECONDS = 5.0


def landing_inventory(landing_dir: Path, now: float | None = None) -> dict[str, str]:
    """{relative path: "mtime_ns:size"} of every settled landed file of every source."""
    now = time.time() if now is None else now
    found: dict[str, str] = {}
    if not landing_dir.is_dir():
        return found
    for source in sorted(p for p in landing_dir.iterdir() if p.is_dir()):
        for day_dir in sorted(source.iterdir()):
            if not (day_dir.is_dir() and LANDING_DAY.match(day_dir.name)):
                continue
            for path in sorted(day_dir.iterdir()):
                if not path.is_file() or path.name.startswith("."):
                    continue
                stat = path.stat()
                if now - stat.st_mtime < SETTLE_SECONDS:
                    continue
                found[path.relative_to(landing_dir).as_posix()] = (
                    f"{stat.st_mtime_ns}:{stat.st_size}"
                )
    return found


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
    current = landing_inventory(settings.landing_dir)
    fresh = new_files(seen, current)
    if not fresh:
        return dg.SkipReason(f"No new files under {settings.landing_dir}")
    # The cursor keeps files that disappeared too: re-landing the same file unchanged is no news.
    cursor = json.dumps({**seen, **current}, sort_keys=True)
    run_key = hashlib.sha256(
        json.dumps({p: current[p] for p in fresh}, sort_keys=True).encode()
    ).hexdigest()[:16]
    shown = ", ".join(fresh[:5]) + (f" and {len(fresh) - 5} more" if len(fresh) > 5 else "")
    context.log.info("%d new landing file(s): %s", len(fresh), shown)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                tags={"aiusage/trigger": "landing_files", "aiusage/new_files": str(len(fresh))},
            )
        ],
        cursor=cursor,
    )


def failure_text(job_name: str, run_id: str, step_errors: list[tuple[str, str]]) -> str:
    lines = [f":rotating_light: aiusage run failed: job `{job_name}`, run `{run_id}`"]
    for step, message in step_errors[:10]:
        first = message.strip().splitlines()[0] if message.strip() else "unknown error"
        lines.append(f"• `{step}`: {first[:500]}")
    if len(step_errors) > 10:
        lines.append(f"… and {len(step_errors) - 10} more failed steps")
    return "\n".join(lines)


@dg.run_failure_sensor(
    name="slack_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts the failed steps of any failed run to Slack (SLACK_WEBHOOK_URL); "
    "does nothing when it is not set.",
)
def slack_on_run_failure(context: dg.RunFailureSensorContext):
    from orchestration.notify import post_slack, slack_configured

    if not slack_configured():
        return dg.SkipReason("SLACK_WEBHOOK_URL is not set")
    step_errors = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        step_errors.append((event.step_key or "?", error.message if error else ""))
    if not step_errors:
        step_errors.append(("run", context.failure_event.message or "the run failed"))
    post_slack(
        {
            "text": failure_text(
                context.dagster_run.job_name, context.dagster_run.run_id, step_errors
            )
        }
    )
    return None


FRESH_MARTS = [dg.AssetKey(["fct_llm_requests"]), dg.AssetKey(["fct_daily_usage"])]


def build_freshness(settings: Settings):
    """Freshness checks on the marts that matter, and the sensor that evaluates them.

    Asset checks (visible on each asset, evaluated by a sensor) rather than Dagster's newer
    FreshnessPolicy, which only evaluates when the instance enables its freshness daemon
    (`freshness: enabled: true` in dagster.yaml); checks work under a plain `dagster dev`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        checks = dg.build_last_update_freshness_checks(
            assets=FRESH_MARTS,
            lower_bound_delta=timedelta(hours=settings.freshness_hours),
            timezone=settings.schedule_timezone,
        )
        sensor = dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name="marts_freshness_sensor",
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
    return checks, sensor
