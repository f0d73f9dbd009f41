"""Dagster resources. Values resolve from the environment when a run starts."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import Settings


class WarehouseSettings(dg.ConfigurableResource):
    """Paths and thresholds of the warehouse (see orchestration.settings for variables).

    Fields left empty resolve from the environment at run time, so the same definitions
    serve `dagster dev`, the CLI and tests (which point them at a tmp folder).
    """

    landing_dir: str = ""
    duckdb_path: str = ""
    reject_threshold: float = -1.0

    def resolve(self) -> Settings:
        base = Settings.from_env()
        overrides = {}
        if self.landing_dir:
            overrides["landing_dir"] = base.project_dir / self.landing_dir
        if self.duckdb_path:
            overrides["duckdb_path"] = base.project_dir / self.duckdb_path
        if self.reject_threshold >= 0:
            overrides["reject_threshold"] = self.reject_threshold
        if not overrides:
            return base
        return Settings(**{**base.__dict__, **overrides})
