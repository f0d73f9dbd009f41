"""The one Dagster code location of the warehouse (`dagster dev -m orchestration.definitions`)."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.dbt import warehouse_models, warehouse_seeds
from orchestration.assets.landing import landing_events
from orchestration.checks.expectations import landed_events_expectations, model_prices_expectations
from orchestration.project import dbt_executable, warehouse_project
from orchestration.resources import WarehouseSettings
from orchestration.schedules import build_schedules, refresh_warehouse_job
from orchestration.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    return dg.Definitions(
        assets=[landing_events, warehouse_seeds, warehouse_models],
        asset_checks=[model_prices_expectations, landed_events_expectations],
        jobs=[refresh_warehouse_job],
        schedules=build_schedules(settings),
        resources={
            "dbt": DbtCliResource(
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
