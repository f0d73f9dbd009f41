"""Dagster resources. Values resolve from the environment when a run starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
from pydantic import field_validator

from orchestration.settings import Settings


@dataclass(frozen=True)
class RefreshOptions:
    """What one refresh run re-processes.

    Default: the incremental look-back (latest landing day - AIUSAGE_LOOKBACK_DAYS on).
    A backfill re-reads the landing days from `backfill_start` on. Days after `backfill_end`
    are re-read too (and change nothing when nothing changed there): the latest delivery of a
    request must keep winning the deduplication, so a range cannot stop short of the newest
    landing day. `full_refresh` rebuilds the incremental models from all landed files.
    """

    backfill_start: date | None = None
    backfill_end: date | None = None
    full_refresh: bool = False

    def __post_init__(self) -> None:
        if self.backfill_end and not self.backfill_start:
            raise ValueError("a backfill end date needs a start date")
        if self.backfill_start and self.backfill_end and self.backfill_end < self.backfill_start:
            raise ValueError(
                f"backfill end {self.backfill_end} is before its start {self.backfill_start}"
            )

    @property
    def is_backfill(self) -> bool:
        return self.backfill_start is not None

    def first_landing_day(self, latest: date, lookback_days: int) -> date | None:
        """The first landing day this refresh re-reads (None: every day)."""
        if self.full_refresh:
            return None
        cutoff = latest - timedelta(days=lookback_days)
        return min(cutoff, self.backfill_start) if self.backfill_start else cutoff

    def dbt_vars(self) -> dict[str, str]:
        out = {}
        if self.backfill_start:
            out["backfill_start"] = self.backfill_start.isoformat()
        if self.backfill_end:
            out["backfill_end"] = self.backfill_end.isoformat()
        return out

    def run_config(self) -> dict:
        """Run config that sets these options on the `warehouse` resource of a refresh run."""
        config: dict = {}
        if self.backfill_start:
            config["backfill_start"] = self.backfill_start.isoformat()
        if self.backfill_end:
            config["backfill_end"] = self.backfill_end.isoformat()
        if self.full_refresh:
            config["full_refresh"] = True
        return {"resources": {"warehouse": {"config": config}}} if config else {}


class WarehouseSettings(dg.ConfigurableResource):
    """Paths and thresholds of the warehouse (see orchestration.settings for variables).

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

    def refresh_options(self) -> RefreshOptions:
        return RefreshOptions(
            backfill_start=date.fromisoformat(self.backfill_start) if self.backfill_start else None,
            backfill_end=date.fromisoformat(self.backfill_end) if self.backfill_end else None,
            full_refresh=self.full_refresh,
        )
