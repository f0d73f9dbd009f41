"""Dagster resources. Values resolve from the environment when a run starts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging.version import Version
from pydantic import field_validator

from aiusage.refresh import RefreshOptions
from aiusage.settings import Settings


class WarehouseSettings(dg.ConfigurableResource):
    """Paths and thresholds of the warehouse (aiusage.settings lists the variables).

    Fields left empty resolve from the environment at run time, so the same definitions
    serve `dagster dev`, the CLI and tests (which point them at a tmp folder).

    `backfill_start` / `backfill_end` (YYYY-MM-DD) and `full_refresh` are set per run in the
    launchpad (or by `aiusage build --start-date/--end-date/--full-refresh`):

        resources:
          warehouse:
            config:
              backfill_start: "2026-11-01"
              backfill_end: "2026-11-07"
    """

    landing_dir: str = ""
    duckdb_path: str = ""
    reject_threshold: float = -1.0
    backfill_start: str = ""
    backfill_end: str = ""
    full_refresh: bool = False

    @field_validator("backfill_start", "backfill_end")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        if value:
            date.fromisoformat(value)  # raises a readable ValueError
        return value

    def resolve(self) -> Settings:
        overrides: dict = {}
        if self.landing_dir:
            overrides["landing_dir"] = Path(self.landing_dir)
        if self.duckdb_path:
            overrides["duckdb_path"] = Path(self.duckdb_path)
        if self.reject_threshold >= 0:
            overrides["reject_threshold"] = self.reject_threshold
        return Settings.from_env().with_overrides(**overrides)

    def refresh_options(self) -> RefreshOptions:
        return RefreshOptions(
            backfill_start=date.fromisoformat(self.backfill_start) if self.backfill_start else None,
            backfill_end=date.fromisoformat(self.backfill_end) if self.backfill_end else None,
            full_refresh=self.full_refresh,
        )


class WarehouseDbtCliResource(DbtCliResource):
    """DbtCliResource without two start-up costs of every `dbt.cli()` call (~4 s a refresh).

    * The dbt version: dagster-dbt runs `dbt --version` in a subprocess (2.3 s on 2 cores);
      the executable is this environment's dbt (aiusage.project.dbt_executable), so the
      installed dbt-core package has the same version.
    * A dbt adapter opened in the Dagster process: dagster-dbt uses it only for
      `fetch_row_counts()` / `fetch_column_metadata()`, which the warehouse does not call
      (row counts are in the published snapshot's run.json); building it imports dbt-duckdb
      and loads the profile (~1.5 s).

    Both override private methods of dagster-dbt 0.29 (pinned in pyproject.toml);
    tests/unit/orchestration/test_definitions.py fails if they stop being called.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(package_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):
        return None
