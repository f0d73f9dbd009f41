"""dbt resources as Dagster assets.

Three `@dbt_assets`, split by what a refresh has to do with them:

* `warehouse_seeds`: the seeds (prices, aliases, ...). The blocking price expectations run
  right after them, so a broken price seed never reaches a model.
* `warehouse_incremental_models`: models with `materialized='incremental'`. These carry the
  history; a refresh merges only the landing days it re-reads, a backfill moves that window,
  `--full-refresh` rebuilds them.
* `warehouse_models`: every other model (views and tables rebuilt from their inputs).

Dagster orders the steps from the asset dependencies: when one multi-asset is both upstream
and downstream of another (staging views -> incremental facts -> report tables), it runs it
as several subset steps. Groups and owners come from the dbt folders and `meta.owner`, never
from lists of model names.
"""

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.project import warehouse_project
from orchestration.resources import RefreshOptions, WarehouseSettings
from orchestration.settings import Settings

INCREMENTAL = "config.materialized:incremental"


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


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

# dbt and DuckDB failures that are worth a second try (a file lock held by a reader, a
# transient I/O error); logic errors fail the same way again and stop after the retries.
DBT_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def dbt_build_args(settings: Settings, options: RefreshOptions | None = None) -> list[str]:
    options = options or RefreshOptions()
    dbt_vars = {
        "lookback_days": settings.lookback_days,
        "reject_rate_threshold": settings.reject_threshold,
        **options.dbt_vars(),
    }
    args = ["build", "--vars", json.dumps(dbt_vars)]
    if options.full_refresh:
        args.append("--full-refresh")
    return args


def _run_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings):
    settings = warehouse.resolve()
    settings.apply_to_environ()
    options = warehouse.refresh_options()
    if options.is_backfill or options.full_refresh:
        context.log.info(
            "Backfill from %s to %s, full refresh: %s",
            options.backfill_start,
            options.backfill_end or "the latest landing day",
            options.full_refresh,
        )
    yield from dbt.cli(dbt_build_args(settings, options), context=context).stream()


@dbt_assets(
    manifest=warehouse_project.manifest_path,
    project=warehouse_project,
    select="resource_type:seed",
    name="warehouse_seeds",
    dagster_dbt_translator=translator,
    retry_policy=DBT_RETRY,
)
def warehouse_seeds(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings
):
    yield from _run_dbt(context, dbt, warehouse)


@dbt_assets(
    manifest=warehouse_project.manifest_path,
    project=warehouse_project,
    select=f"resource_type:model,{INCREMENTAL}",
    name="warehouse_incremental_models",
    dagster_dbt_translator=translator,
    retry_policy=DBT_RETRY,
)
def warehouse_incremental_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings
):
    yield from _run_dbt(context, dbt, warehouse)


@dbt_assets(
    manifest=warehouse_project.manifest_path,
    project=warehouse_project,
    exclude=f"resource_type:seed {INCREMENTAL}",
    name="warehouse_models",
    dagster_dbt_translator=translator,
    retry_policy=DBT_RETRY,
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings
):
    yield from _run_dbt(context, dbt, warehouse)


DBT_ASSETS = [warehouse_seeds, warehouse_incremental_models, warehouse_models]


def mart_asset_keys() -> list[dg.AssetKey]:
    """The dbt models under models/marts (group marts_*), from the translator's groups."""
    return sorted(
        (
            spec.key
            for assets_def in DBT_ASSETS
            for spec in assets_def.specs
            if (spec.group_name or "").startswith("marts")
        ),
        key=lambda key: key.to_user_string(),
    )
