"""Jobs and schedules (each schedule names its execution time zone)."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import Settings

REPORTS = dg.AssetSelection.groups("delivery") - dg.AssetSelection.assets(
    dg.AssetKey(["published_warehouse"]), dg.AssetKey(["alerts", "usage_alerts"])
)


def refresh_selection(freshness_checks=()) -> dg.AssetSelection:
    """Everything from landing to publish and alerts; not the weekly report, not the
    freshness checks (their own sensor evaluates them)."""
    selection = dg.AssetSelection.all() - REPORTS
    if freshness_checks:
        selection = selection - dg.AssetSelection.checks(*freshness_checks)
    return selection


def build_jobs(freshness_checks=()) -> list[dg.UnresolvedAssetJobDefinition]:
    return [
        dg.define_asset_job(
            name="refresh_warehouse",
            selection=refresh_selection(freshness_checks),
            description=(
                "Inventory landing, validate prices and the landed batch (blocking), dbt build "
                "(seeds, incremental and other models, dbt tests as checks), validate the "
                "marts, publish the snapshot, post alerts. Backfill: set backfill_start / "
                "backfill_end (and full_refresh) on the warehouse resource in the launchpad."
            ),
        ),
        dg.define_asset_job(
            name="weekly_report",
            selection=REPORTS,
            description="Render the weekly usage report from the published snapshot; Slack.",
        ),
    ]


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    return [
        dg.ScheduleDefinition(
            name="daily_refresh",
            job_name="refresh_warehouse",
            cron_schedule="0 6 * * *",
            execution_timezone=settings.schedule_timezone,
            description="Refresh the warehouse every day at 06:00 in AIUSAGE_SCHEDULE_TIMEZONE.",
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
        dg.ScheduleDefinition(
            name="weekly_report_schedule",
            job_name="weekly_report",
            cron_schedule="0 9 * * 1",
            execution_timezone=settings.schedule_timezone,
            description="The weekly usage report every Monday at 09:00 in "
            "AIUSAGE_SCHEDULE_TIMEZONE.",
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
    ]
