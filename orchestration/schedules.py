"""The refresh job and its daily schedule (named in its execution time zone)."""

from __future__ import annotations

import dagster as dg

from aiusage.settings import Settings

REFRESH_JOB = "refresh_warehouse"


def refresh_selection(freshness_checks=()) -> dg.AssetSelection:
    """Everything: landing, checks, dbt, publish, alerts and the weekly report; not the
    freshness checks (their own sensor evaluates them)."""
    selection = dg.AssetSelection.all()
    if freshness_checks:
        selection = selection - dg.AssetSelection.checks(*freshness_checks)
    return selection


def build_jobs(freshness_checks=()) -> list[dg.UnresolvedAssetJobDefinition]:
    return [
        dg.define_asset_job(
            name=REFRESH_JOB,
            selection=refresh_selection(freshness_checks),
            description=(
                "Inventory landing, validate the price seeds and the landed batch (blocking), "
                "dbt build (seeds, incremental and other models, dbt tests as checks), publish "
                "the snapshot, deliver the alerts of rpt_alerts and, when due, the weekly "
                "report. Backfill: set backfill_start / backfill_end (and full_refresh) on the "
                "warehouse resource in the launchpad."
            ),
        ),
    ]


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    return [
        dg.ScheduleDefinition(
            name="daily_refresh",
            job_name=REFRESH_JOB,
            cron_schedule="0 6 * * *",
            execution_timezone=settings.schedule_timezone,
            description="Refresh the warehouse every day at 06:00 in AIUSAGE_SCHEDULE_TIMEZONE "
            "(the first refresh after a week ends also sends that week's report).",
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
    ]
