"""dbt resources as Dagster assets.

Seeds and models are two `@dbt_assets` so that the blocking price expectations run
between them: a broken price seed never reaches the models. Groups and owners come from
the dbt folders and `meta.owner`, never from lists of model names.
"""


import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.project import warehouse_project
from orchestration.resources import WarehouseSettings


class WarehouseTranslator(DagsterDbtTranslator):
    """Group = the resource's folder path (models/marts/core -> marts_core); owner = meta.owner."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        folders = dbt_resource_props["fqn"][1:-1]
        return "_".join(folders) if folders else "models"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        meta = {
            **(dbt_resource_props.get("meta") or {}),
            **((dbt_resource_props.get("config") or {}).get("meta") or {}),
        }
        owner = meta.get("owner")
        if not owner:
            return None
        return [owner if "@" in owner or owner.startswith("team:") else f"team:{owner}"]


translator = WarehouseTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)


def dbt_build_args(settings) -> list[str]:
    return ["build", "--vars", json.dumps({"lookback_days": settings.lookback_days})]


@dbt_assets(
    manifest=warehouse_project.manifest_path,
    project=warehouse_project,
    select="resource_type:seed",
    name="warehouse_seeds",
    dagster_dbt_translator=translator,
)
def warehouse_seeds(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings
):
    settings = warehouse.resolve()
    settings.apply_to_environ()
    yield from dbt.cli(dbt_build_args(settings), context=context).stream()


@dbt_assets(
    manifest=warehouse_project.manifest_path,
    project=warehouse_project,
    exclude="resource_type:seed",
    name="warehouse_models",
    dagster_dbt_translator=translator,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings
):
    settings = warehouse.resolve()
    settings.apply_to_environ()
    yield from dbt.cli(dbt_build_args(settings), context=context).stream()
