"""The publish step: a read-only snapshot for readers, after every mart passed its checks."""

import dagster as dg

from aiusage.project import manifest_path, mart_relations
from aiusage.snapshot import publish
from orchestration.assets.landing import run_inputs
from orchestration.resources import WarehouseSettings

PUBLISHED = dg.AssetKey(["published_warehouse"])


def build_publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED,
        deps=mart_keys,
        group_name="delivery",
        owners=["team:data-platform"],
        kinds={"duckdb", "parquet"},
        retry_policy=dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL),
        description=(
            "Read-only snapshot for readers: a copy of the DuckDB file and one Parquet file per "
            "mart in <published>/<build_id>/, then the CURRENT pointer swapped atomically. Runs "
            "only after every mart built and passed its blocking checks."
        ),
    )
    def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
        settings = warehouse.resolve()
        metadata: dict = warehouse.refresh_options().describe()
        inputs = run_inputs(context)
        if inputs is not None:  # what the next refresh compares with (aiusage.changes)
            metadata["inputs"] = inputs.as_json()
        snapshot = publish(
            settings,
            mart_relations(manifest_path(settings)),
            run_id=context.run.run_id,
            metadata=metadata,
            semantic_manifest=settings.target_dir / "semantic_manifest.json",
        )
        context.log.info("Published %s (removed %s)", snapshot.folder, snapshot.removed or "none")
        return dg.MaterializeResult(
            metadata={
                "build_id": snapshot.build_id,
                "duckdb": dg.MetadataValue.path(str(snapshot.duckdb_path)),
                "marts": dg.MetadataValue.json(snapshot.row_counts),
                "removed_snapshots": len(snapshot.removed),
            }
        )

    return published_warehouse
