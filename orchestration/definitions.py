"""The one Dagster code location of the warehouse (`dagster dev -m orchestration.definitions`).

landing/<source> -> [blocking GX: landed batch]   seed_files/<seed> -> [blocking GX: price seeds]
            \\                                        /
             one `dbt build` of the seeds and every model (staging, intermediate, marts;
             dbt tests as asset checks)
                 -> published_warehouse -> alerts/usage_alerts, reports/weekly_usage_report

The definitions load lazily (`@dg.definitions`): the settings (AIUSAGE_PROJECT_DIR or the
working directory, and the other variables) are read when Dagster loads the code location,
never at import.
"""

from __future__ import annotations

import dagster as dg

from aiusage import dbtserver
from aiusage.project import dbt_executable
from aiusage.settings import Settings
from orchestration.assets.dbt import build_dbt_assets, mart_asset_keys, translator
from orchestration.assets.delivery import usage_alerts, weekly_usage_report
from orchestration.assets.landing import landing_files
from orchestration.assets.publish import build_publish_asset
from orchestration.assets.seeds import build_seed_files
from orchestration.checks.expectations import EXPECTATION_CHECKS
from orchestration.checks.freshness import build_freshness
from orchestration.project import warehouse_project
from orchestration.resources import WarehouseDbtCliResource, WarehouseSettings
from orchestration.schedules import build_jobs, build_schedules
from orchestration.sensors import landing_files_sensor, slack_on_run_failure


def refresh_dbt_executable(settings: Settings) -> str:
    """The dbt a refresh runs: `aiusage-dbt`, which runs each dbt command in the warm dbt
    server (aiusage.dbtserver) and falls back to the real dbt, unless
    AIUSAGE_DBT_EXECUTABLE names a dbt of its own."""
    if settings.dbt_executable:
        return dbt_executable(settings)
    return dbtserver.client_executable() or dbt_executable(settings)


def build_definitions(settings: Settings) -> dg.Definitions:
    project = warehouse_project(settings)
    dbt_assets = build_dbt_assets(project)
    freshness_checks, freshness_sensor = build_freshness(settings)
    return dg.Definitions(
        assets=[
            landing_files,
            build_seed_files(project, translator.get_owners),
            *dbt_assets,
            build_publish_asset(mart_asset_keys(dbt_assets)),
            usage_alerts,
            weekly_usage_report,
        ],
        asset_checks=[*EXPECTATION_CHECKS, *freshness_checks],
        jobs=build_jobs(freshness_checks),
        schedules=build_schedules(settings),
        sensors=[landing_files_sensor, slack_on_run_failure, freshness_sensor],
        resources={
            "dbt": WarehouseDbtCliResource(
                project_dir=project,
                profiles_dir=str(project.profiles_dir),
                dbt_executable=refresh_dbt_executable(settings),
            ),
            "warehouse": WarehouseSettings(),
        },
        # One DuckDB file has one writer: steps run one after another in one process.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
