"""The Dagster code location of the warehouse (`dagster dev -m orchestration.definitions`).

Only Dagster lives here: definitions, assets, checks, resources, schedules, sensors and
`run` (the in-process refresh behind `aiusage build`). What the assets do is the aiusage
package's; this package wires it into one job.

Importing this package imports dagster-dbt without dbt-core (`_import_dagster_dbt`).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
from importlib.metadata import PackageNotFoundError, version


class _HideDbtCore(importlib.abc.MetaPathFinder):
    """A finder that makes `dbt` and its modules look absent (ModuleNotFoundError)."""

    def find_spec(self, name, path=None, target=None):
        if name == "dbt" or name.startswith("dbt."):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden from dagster-dbt)")
        return None


def _import_dagster_dbt() -> None:
    """Import dagster-dbt as it imports when dbt-core is not installed (its dbt Fusion path).

    `dagster_dbt.compat` imports dbt-core when it can: dbt's version, its result and node
    enums, its adapter base classes, with agate, mashumaro's schemas and dbt's protobuf
    types, 1.0-1.3 s of one core at the start of every refresh, on its critical path while the
    dbt server and the GX worker import on the same two cores (docs/performance.md). This
    process never runs dbt in itself: every dbt command runs in its own process (the dbt
    server's fork, or the `dbt` executable), the manifest is parsed by a `dbt parse`
    subprocess, and the two dagster-dbt calls that would open a dbt adapter here are
    overridden (orchestration.resources.WarehouseDbtCliResource). Without dbt-core,
    dagster-dbt compares dbt's statuses and node types with its own string enums of the same
    values, and selects the default `fqn:*` as every node of the manifest instead of
    loading the manifest into dbt's graph (a `@dbt_assets` with another `select` or
    `exclude` would need dbt-core: dagster-dbt then raises DagsterDbtCoreNotInstalledError
    when the definitions load). tests/unit/orchestration/test_definitions.py checks that the
    definitions are the same as with dbt-core imported.

    When dbt is already imported (a process that ran dbt first), dagster-dbt imports as
    usual; dbt imports normally once this returns."""
    if "dagster_dbt" in sys.modules or "dbt" in sys.modules:
        import dagster_dbt  # noqa: F401

        return
    finder = _HideDbtCore()
    sys.meta_path.insert(0, finder)
    try:
        import dagster_dbt  # noqa: F401
    finally:
        sys.meta_path.remove(finder)
    from dagster_shared.libraries import DagsterLibraryRegistry

    # dagster-dbt registered "dbt-fusion" for the Dagster UI's library list: name dbt-core
    DagsterLibraryRegistry._libraries.pop("dbt-fusion", None)
    with contextlib.suppress(PackageNotFoundError):
        DagsterLibraryRegistry.register("dbt-core", version("dbt-core"), is_dagster_package=False)


_import_dagster_dbt()
