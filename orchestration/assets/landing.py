"""Landed files as assets: one per landing folder (aiusage.landing.SOURCES), each an
inventory of what sat there when a refresh started.

dbt reads the files in place (its sources point at the same folders, and map to these
asset keys), so every staging model hangs under the landing asset of its source; the
landed-batch expectations guard landing/events.
"""

import dagster as dg

from aiusage.changes import RefreshInputs, refresh_inputs
from aiusage.landing import SOURCES, landed_files
from aiusage.quality import worker
from orchestration.resources import WarehouseSettings

# Metadata of each landing asset: the refresh's inputs when it started (aiusage.changes),
# which publish stores in the snapshot's run.json.
INPUTS_METADATA = "refresh_inputs"

LANDING_SPECS = [
    dg.AssetSpec(
        key=dg.AssetKey(["landing", source.name]),
        group_name="landing",
        owners=["team:data-platform"],
        description=(
            f"Landed files under <landing>/{source.name}/dt=YYYY-MM-DD/: {source.description} "
            f"({source.landed_format.upper()}). Materializing records an inventory."
        ),
        kinds={"file", "json"},
    )
    for source in SOURCES
]


@dg.multi_asset(specs=LANDING_SPECS, can_subset=True, name="landing_files")
def landing_files(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
    """An inventory per landing source; fails only when nothing at all has landed."""
    # Every refresh runs the landed-batch check (and, when seeds changed, the price-seed
    # checks) in the GX worker: start it (and its GX import) on the other core now, if the
    # refresh has not already.
    worker.start()
    settings = warehouse.resolve()
    inputs = refresh_inputs(settings)  # before dbt reads anything: a later file is news
    inventory = {source.name: landed_files(settings.landing_dir, source.name) for source in SOURCES}
    if not any(inventory.values()):
        raise dg.Failure(
            description=(
                f"Nothing landed under {settings.landing_dir}: run `aiusage generate` or "
                "`aiusage ingest <source> <file>` first."
            )
        )
    for key in context.selected_asset_keys:
        files = inventory[key.path[-1]]
        days = sorted({day for day, _ in files})
        context.log.info("%s: %d landed files over %d days", key.path[-1], len(files), len(days))
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "files": len(files),
                "landing_days": len(days),
                "first_landing_day": str(days[0]) if days else "",
                "last_landing_day": str(days[-1]) if days else "",
                "bytes": sum(path.stat().st_size for _, path in files),
                "landing_dir": str(settings.landing_dir / key.path[-1]),
                INPUTS_METADATA: dg.MetadataValue.json(inputs.as_json()),
            },
        )


def run_inputs(context: dg.AssetExecutionContext) -> RefreshInputs | None:
    """The inputs the landing step of this run recorded (None when the run had none)."""
    for spec in LANDING_SPECS:
        event = context.instance.get_latest_materialization_event(spec.key)
        if event is None or event.run_id != context.run.run_id:
            continue
        value = event.asset_materialization.metadata.get(INPUTS_METADATA)
        if value is not None:
            return RefreshInputs.from_json(value.value)
    return None
