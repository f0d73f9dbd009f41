"""The one Dagster code location of the warehouse (`dagster dev -m orchestration.definitions`).

landing/events -> [blocking GX: landed batch]      seeds -> [blocking GX: prices]
            \\                                        /
             one `dbt build` of every model (staging views, int_request_rows_parsed,
             incremental facts, report tables; dbt tests inside)
                 -> [blocking GX: refreshed requests, mart totals]
                 -> published_warehouse -> usage_alerts, weekly_usage_report
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import DBT_ASSETS, WarehouseDbtCliResource
from orchestration.assets.landing import landing_events
from orchestration.assets.publish import published_warehouse, usage_alerts, weekly_usage_report
from orchestration.checks.expectations import EXPECTATION_CHECKS
from orchestration.project import dbt_executable, warehouse_project
from orchestration.resources import WarehouseSettings
from orchestration.schedules import build_jobs, build_schedules
from orchestration.sensors import build_freshness, landing_files_sensor, slack_on_run_failure
from orchestration.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    freshness_checks, freshness_sensor = build_freshness(settings)
    return dg.Definitions(
        assets=[
            landing_events,
            *DBT_ASSETS,
            published_warehouse,
            usage_alerts,
            weekly_usage_report,
        ],
        asset_checks=[*EXPECTATION_CHECKS, *freshness_checks],
        jobs=build_jobs(freshness_checks),
        schedules=build_schedules(settings),
        sensors=[landing_files_sensor, slack_on_run_failure, freshness_sensor],
        resources={
            "dbt": WarehouseDbtCliResource(
                project_dir=warehouse_project,
                profiles_dir=str(warehouse_project.profiles_dir),
                dbt_executable=dbt_executable(),
            ),
            "warehouse": WarehouseSettings(),
        },
        # One DuckDB file has one writer: steps run one after another in one process.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
