"""What one refresh re-reads, and what it needs before it starts.

The dbt models re-read, downstream of staging, the landing days of the files loaded since
each model's last run (macro landing_cutoff_date); a backfill moves that cutoff back to
`backfill_start`; a full refresh rebuilds the incremental models from every landed file.
The landed-batch check validates the files of a bounded window: the look-back (latest
landing day - AIUSAGE_LOOKBACK_DAYS on), or the backfill's days (first_landing_day).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from aiusage.errors import RefreshRefused
from aiusage.landing import landed_files
from aiusage.settings import Settings

REQUIRED_SEEDS = ("model_prices.csv", "model_aliases.csv", "service_tier_multipliers.csv")


@dataclass(frozen=True)
class RefreshOptions:
    """What one refresh run re-processes.

    Days after `backfill_end` are re-read too (and change nothing when nothing changed
    there): the latest delivery of a request must keep winning the deduplication, so a range
    cannot stop short of the newest landing day. `full_refresh` rebuilds the incremental
    models from all landed files.
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

    def as_config(self) -> dict:
        """The options as the `warehouse` resource's run config fields (empty by default)."""
        config: dict = dict(self.dbt_vars())
        if self.full_refresh:
            config["full_refresh"] = True
        return config

    def describe(self) -> dict[str, str | bool]:
        return {
            "backfill_start": str(self.backfill_start or ""),
            "backfill_end": str(self.backfill_end or ""),
            "full_refresh": self.full_refresh,
        }


def preflight(settings: Settings) -> None:
    """Refuse a refresh whose inputs are missing, before any step runs (one line each)."""
    if not (settings.project_dir / "dbt_project.yml").is_file():
        raise RefreshRefused(
            f"no dbt project (dbt_project.yml) in {settings.project_dir} or above: run aiusage "
            "from the project folder or set AIUSAGE_PROJECT_DIR"
        )
    seeds = settings.project_dir / "seeds"
    for name in REQUIRED_SEEDS:
        path = seeds / name
        if not path.is_file():
            hint = " or run `aiusage pricing sync`" if name == "model_prices.csv" else ""
            raise RefreshRefused(
                f"price seed missing: {path}; restore it (git checkout seeds/{name}){hint}, "
                "then run `aiusage build` again"
            )
        if not os.access(path, os.R_OK):
            raise RefreshRefused(f"price seed not readable: {path}; fix its permissions")
    landing = settings.landing_dir
    if landing.exists() and not os.access(landing, os.R_OK | os.X_OK):
        raise RefreshRefused(f"landing folder not readable: {landing}; fix its permissions")


def warehouse_max_landing_day(duckdb_path: Path) -> date | None:
    """The latest landing day already in fct_llm_requests (None before the first build)."""
    if not duckdb_path.exists():
        return None
    import duckdb

    try:
        with duckdb.connect(str(duckdb_path), read_only=True) as con:
            (value,) = con.execute("select max(landing_date) from fct_llm_requests").fetchone()
    except duckdb.CatalogException:
        return None
    return value


def first_landing_day(settings: Settings, options: RefreshOptions) -> date | None:
    """First landing day of the batch the checks validate: the look-back window before the
    latest landing day, or a backfill's start (its files are the ones re-read). A first build or
    a full refresh re-reads every file, but the checks still validate a bounded batch, the
    look-back window before the latest landing day: history was validated when it landed,
    and the dbt tests judge every row of every build. None only when nothing has landed."""
    latest = warehouse_max_landing_day(settings.duckdb_path)
    first = None
    if latest is not None:
        first = options.first_landing_day(latest, settings.lookback_days)
    if first is None:
        days = [day for day, _ in landed_files(settings.landing_dir, "events")]
        if days:
            first = max(days) - timedelta(days=settings.lookback_days)
    return first


# The staging model's record of the files it has read, one row per file (macro
# record_landed_files_read), and the same from its rows, for a staging table written before
# the record existed.
STAGED_EVENT_FILES = (
    "select source_file, file_size, epoch(file_modified_at) "
    "from stg_events__usage_events__files_read",
    "select source_file, max(file_size), max(epoch(file_modified_at)) "
    "from stg_events__usage_events group by source_file",
)


def staged_event_files(staging_path: Path) -> dict[str, tuple[int, int]] | None:
    """{path: (size, modification time in whole seconds)} of the event files the staging
    model has read, from the staging tables' file `staging_path`
    (Settings.staging_duckdb_path; None before the first build)."""
    if not staging_path.exists():
        return None
    import duckdb

    with duckdb.connect(str(staging_path), read_only=True) as con:
        for query in STAGED_EVENT_FILES:
            try:
                rows = con.execute(query).fetchall()
            except duckdb.CatalogException:
                continue
            return {path: (size, int(modified)) for path, size, modified in rows}
    return None


def landed_event_batch(settings: Settings, options: RefreshOptions) -> list[Path]:
    """The landed event files the checks validate: those of the window from
    first_landing_day on, and, in an incremental refresh, every older file the staging
    model has not read as it is now (a file landed late into an old day folder, or changed
    there): the refresh reads those too (macro landing_cutoff_date)."""
    first = first_landing_day(settings, options)
    files = landed_files(settings.landing_dir, "events")
    batch = [path for day, path in files if first is None or day >= first]
    older = [path for day, path in files if first is not None and day < first]
    if older and not options.full_refresh:
        staged = staged_event_files(settings.staging_duckdb_path)
        if staged is not None:
            batch = [path for path in older if staged.get(str(path)) != _stamp(path)] + batch
    return batch


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, int(stat.st_mtime)
