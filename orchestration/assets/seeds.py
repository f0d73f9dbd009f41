"""The seed CSV files as assets: one per seed of the dbt project (`seed_files/<seed>`), each
the file seeds/<seed>.csv as a refresh found it.

Each dbt seed asset (which loads its file into the warehouse) hangs under its file, and the
blocking GX suites of the price seeds (orchestration/checks/expectations.py) check the
files. So a broken price seed fails its check before the refresh's one `dbt build` starts:
no seed is loaded, no model built. A refresh that leaves the seeds alone selects none of
these assets (group `seeds`, like the dbt seeds); one that changed a seed selects its file,
its checks and what is downstream (orchestration.schedules).
"""

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtProject
from dagster_dbt.dbt_manifest import validate_manifest

from aiusage.quality import worker
from orchestration.resources import WarehouseSettings

SEED_FILES = "seed_files"
SEEDS_GROUP = "seeds"


def seed_file_key(seed: str) -> dg.AssetKey:
    """The asset of the CSV file a dbt seed loads (the seed's dbt name)."""
    return dg.AssetKey([SEED_FILES, seed])


def is_project_seed(manifest: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """A seed of the project itself (not of an installed dbt package)."""
    project = manifest.get("metadata", {}).get("project_name")
    return node["resource_type"] == "seed" and node.get("package_name") in (project, None)


def seed_nodes(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The project's seeds in its manifest, by name."""
    nodes = (node for node in manifest["nodes"].values() if is_project_seed(manifest, node))
    return sorted(nodes, key=lambda node: node["name"])


def csv_rows(path: Path) -> int:
    """Data rows of a CSV file (its header excluded; a quoted line break stays in its row)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def build_seed_files(project: DbtProject, owners_of) -> dg.AssetsDefinition:
    """One multi-asset over every seed file of the project's manifest; `owners_of(node)` gives
    the owners of a seed (its dbt seed's, from meta.owner)."""
    nodes = seed_nodes(validate_manifest(project.manifest_path))
    paths = {seed_file_key(node["name"]): node["original_file_path"] for node in nodes}
    specs = [
        dg.AssetSpec(
            key=seed_file_key(node["name"]),
            group_name=SEEDS_GROUP,
            owners=owners_of(node),
            description=(
                f"The file {node['original_file_path']} as a refresh found it, which the dbt "
                f"seed {node['name']} loads. Materializing records its rows and size."
            ),
            kinds={"file", "csv"},
        )
        for node in nodes
    ]

    @dg.multi_asset(specs=specs, can_subset=True, name=SEED_FILES)
    def seed_files(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
        """Records each selected seed file; fails when one is missing."""
        # The price-seed checks right after this step run in the GX worker: start it (and
        # its GX import) now, if the refresh has not already.
        worker.start()
        project_dir = warehouse.resolve().project_dir
        for key in sorted(context.selected_asset_keys):
            path = project_dir / paths[key]
            if not path.is_file():
                raise dg.Failure(
                    description=(
                        f"seed file missing: {path}; restore it (git checkout "
                        f"{paths[key]}), then refresh again"
                    )
                )
            rows = csv_rows(path)
            context.log.info("%s: %d rows", paths[key], rows)
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "path": dg.MetadataValue.path(str(path)),
                    "rows": rows,
                    "bytes": path.stat().st_size,
                },
            )

    return seed_files
