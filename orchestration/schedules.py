"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import Settings

refresh_warehouse_job = dg.define_asset_job(
    name="refresh_warehouse",
    selection=dg.AssetSelection.all(),
    description="Inventory landing, validate prices and landed events, dbt build everything.",
)


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    return [
        dg.ScheduleDefinition(
            name="daily_refresh",
            job=refresh_warehouse_job,
            cron_schedule="0 6 * * *",
            execution_timezone=settings.schedule_timezone,
            description="Refresh the warehouse every day at 06:00 in AIUSAGE_SCHEDULE_TIMEZONE.",
        )
    ]
