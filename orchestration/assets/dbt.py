"""dbt resources as Dagster assets.

One `@dbt_assets` over the whole project (`warehouse_dbt`: seeds, every model, the dbt
tests), so that a refresh runs one `dbt build` invocation whatever changed: every
invocation costs a process start, imports, adapter set-up and manifest loading (~4-5 s on
2 cores), a fixed overhead a refresh pays once. dbt orders the nodes, and its tests stop
what is downstream of a failing test within the invocation. A refresh of a subset (changed
seeds only, or the seeds unchanged) selects a subset of this asset; dagster-dbt turns it
into the `--select` of that one invocation.

Each dbt seed hangs under the asset of its CSV file (orchestration/assets/seeds.py), on
which the blocking price expectations run: a broken price seed stops the refresh before
dbt starts, so it is neither loaded nor read by a model. The landed-batch expectations (on
landing/events) block the invocation too; the expectations on the refreshed requests and
the mart totals run after it and block what reads the warehouse: published_warehouse (the
readers' snapshot), the alerts and the reports.

dagster-dbt gives each invocation a folder of its own in dbt's target folder and never
deletes one; the dbt step keeps the newest AIUSAGE_DBT_TARGETS_KEEP (3) and deletes the
others (`prune_invocation_folders`).

Groups and owners come from the dbt folders and `meta.owner`, never from lists of model
names.
"""

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from aiusage import dbtserver
from aiusage.project import dbt_vars
from aiusage.refresh import RefreshOptions
from aiusage.settings import Settings
from aiusage.snapshot import discard_prepared, prepare_next_snapshot
from orchestration.assets.seeds import is_project_seed, seed_file_key
from orchestration.resources import WarehouseSettings

MATERIALIZED_TAG = "aiusage/materialized"


class WarehouseTranslator(DagsterDbtTranslator):
    """Group = the folder path (models/marts/usage -> marts_usage); owner = meta.owner."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        folders = dbt_resource_props["fqn"][1:-1]
        return "_".join(folders) if folders else "models"

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        """dagster-dbt's spec; a seed of the project also depends on its CSV file's asset,
        whose blocking checks must pass before the seed is loaded."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = self.get_resource_props(manifest, unique_id)
        if is_project_seed(manifest, node):
            return spec.merge_attributes(deps=[seed_file_key(node["name"])])
        return spec

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        """dbt's tags, plus the materialization (MATERIALIZED_TAG): a refresh that changed
        no model skips the views, whose definitions are what the last build created."""
        tags = dict(super().get_tags(dbt_resource_props))
        materialized = (dbt_resource_props.get("config") or {}).get("materialized")
        if materialized:
            tags[MATERIALIZED_TAG] = materialized
        return tags

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """The model's or seed's dbt description, as written (no dump of its SQL)."""
        description = " ".join((dbt_resource_props.get("description") or "").split())
        return description or f"dbt {dbt_resource_props['resource_type']}"

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        """dagster-dbt's check of a dbt test, described by what the test guards."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"].get(unique_id) or {}
        return spec._replace(description=check_description(test, asset_spec.key))

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        meta = {
            **(dbt_resource_props.get("meta") or {}),
            **((dbt_resource_props.get("config") or {}).get("meta") or {}),
        }
        owner = meta.get("owner")
        if not owner:
            return None
        return [owner if "@" in owner or owner.startswith("team:") else f"team:{owner}"]


def check_description(test: Mapping[str, Any], asset_key: dg.AssetKey) -> str:
    """What a dbt test guards, in a sentence: its own description when it has one, the
    leading comment of a singular test, or one line per kind of generic test."""
    if (test.get("description") or "").strip():
        return " ".join(test["description"].split())
    relation = asset_key.to_user_string()
    metadata = test.get("test_metadata") or {}
    if not metadata:  # a singular test: its leading comment says what it asserts
        comment = []
        for line in (test.get("raw_code") or "").splitlines():
            if not line.startswith("--"):
                break
            comment.append(line.lstrip("- ").strip())
        text = " ".join(part for part in comment if part)
        return text or f"Singular test {test.get('name', '')} over {relation}: no row breaks it."
    kwargs = metadata.get("kwargs") or {}
    column = kwargs.get("column_name")
    kind = metadata.get("name")
    if kind == "not_null":
        return f"Guards that {relation}.{column} is never null."
    if kind == "unique":
        return f"Guards that {relation}.{column} identifies one row: no value appears twice."
    if kind == "primary_key":
        return (
            f"Guards that {relation}.{column} identifies one row: never null, no value "
            "appears twice."
        )
    if kind == "not_null_columns":
        columns = ", ".join(str(c) for c in kwargs.get("columns") or [])
        return f"Guards that {relation}.{{{columns}}} are never null."
    if kind == "accepted_values":
        values = ", ".join(str(v) for v in kwargs.get("values") or [])
        return f"Guards that {relation}.{column} only takes the values {values}."
    if kind == "relationships":
        target = str(kwargs.get("to", "")).replace("ref('", "").replace("')", "")
        return f"Guards that every {relation}.{column} exists in {target}.{kwargs.get('field')}."
    if kind == "expression_is_true":
        return f"Guards that every row of {relation} satisfies {kwargs.get('expression')}."
    if kind == "daily_totals_match":
        compare = kwargs.get("compare_model", "").replace("ref('", "").replace("')", "")
        return (
            f"Guards that the daily totals of {relation} equal those of {compare}: no request "
            "lost or counted twice between the two marts."
        )
    if kind == "reject_rate_within_threshold":
        return (
            f"Guards that the share of rejected lines in {relation} stays under "
            "AIUSAGE_REJECT_THRESHOLD: a file mostly rejected stops the refresh."
        )
    arguments = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "model")
    return f"Guards {relation} with the dbt test {kind}({arguments})."


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

# dbt and DuckDB failures that are worth a second try (a file lock held by a reader, a
# transient I/O error); logic errors fail the same way again and stop after the retries.
DBT_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def dbt_build_args(settings: Settings, options: RefreshOptions | None = None) -> list[str]:
    options = options or RefreshOptions()
    # The same vars as the parse of ensure_manifest (plus a backfill's range), so that dbt
    # partially parses instead of re-parsing the project in every invocation.
    # dbt unit tests check SQL logic against fixed inputs, not the data: they run in the test
    # suite (tests/integration/test_dbt_unit_tests.py), not in every refresh.
    args = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        dbt_vars(settings, options.dbt_vars()),
    ]
    if options.full_refresh:
        args.append("--full-refresh")
    return args


def _run_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings):
    settings = warehouse.resolve()
    settings.apply_to_environ()
    dbtserver.start()  # dbt imported once, before this step when `aiusage build` started it
    options = warehouse.refresh_options()
    if options.is_backfill or options.full_refresh:
        context.log.info(
            "Backfill from %s to %s, full refresh: %s",
            options.backfill_start,
            options.backfill_end or "the latest landing day",
            options.full_refresh,
        )
    # the file the next snapshot starts from (an expired snapshot's, or a copy of the current
    # one's): got now, while dbt builds (a full refresh rewrites the snapshot from the
    # build's file instead)
    if not options.full_refresh:
        prepare_next_snapshot(settings)
    try:
        yield from dbt.cli(dbt_build_args(settings, options), context=context).stream()
    except BaseException:
        discard_prepared(settings.published_dir)
        raise
    finally:
        prune_invocation_folders(
            settings.target_dir, context.op_execution_context.op.name, settings.dbt_targets_keep
        )


def prune_invocation_folders(target_dir: Path, op_name: str, keep: int) -> None:
    """Delete all but the newest `keep` folders of this op's dbt invocations in dbt's target
    folder. dagster-dbt runs each invocation in a folder of its
    own (`<op>-<run id>-<random>`: run_results.json, a manifest, the compiled SQL of every
    node; 8 MB for this project) and never deletes one: a warehouse refreshed hourly
    gathered 70 GB a year. The newest are kept for reading a run's results and compiled SQL
    (AIUSAGE_DBT_TARGETS_KEEP); the one just run is always among them."""
    folders = sorted(
        (path for path in target_dir.glob(f"{op_name}-*") if path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)


def build_dbt_assets(project: DbtProject) -> list[dg.AssetsDefinition]:
    """The one dbt invocation of a refresh (seeds, models, tests), as assets of the
    project's manifest."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="warehouse_dbt",
        dagster_dbt_translator=translator,
        retry_policy=DBT_RETRY,
    )
    def warehouse_dbt(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseSettings
    ):
        yield from _run_dbt(context, dbt, warehouse)

    return [warehouse_dbt]


def mart_asset_keys(dbt_assets_defs: list[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """The dbt models under models/marts (group marts_*), from the translator's groups."""
    return sorted(
        (
            spec.key
            for assets_def in dbt_assets_defs
            for spec in assets_def.specs
            if (spec.group_name or "").startswith("marts")
        ),
        key=lambda key: key.to_user_string(),
    )
