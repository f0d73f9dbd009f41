"""Runtime settings, read from the environment when called (never at import time).

| variable | default | meaning |
|---|---|---|
| AIUSAGE_PROJECT_DIR | the repository root (parent of this package) | the dbt project |
| AIUSAGE_DUCKDB_PATH | data/warehouse.duckdb | the warehouse file dbt builds |
| AIUSAGE_LANDING_DIR | data/landing | landed files, <landing>/<source>/dt=YYYY-MM-DD/* |
| AIUSAGE_REJECT_THRESHOLD | 0.05 | share of bad lines in a landed batch that stops a refresh |
| AIUSAGE_LOOKBACK_DAYS | 3 | landing days re-read by every incremental refresh |
| AIUSAGE_SCHEDULE_TIMEZONE | UTC | time zone of the schedules |
| AIUSAGE_GX_DOCS_DIR | data/gx_docs | where Great Expectations Data Docs are built |
| AIUSAGE_PUBLISHED_DIR | data/published | read-only snapshots for readers (orchestration.publish) |
| AIUSAGE_DUCKDB_MEMORY_LIMIT | 2500MB | DuckDB memory_limit of dbt (profiles.yml) and publish |
| AIUSAGE_DUCKDB_THREADS | 2 | DuckDB threads (and dbt threads) |
| AIUSAGE_PUBLISH_KEEP | 5 | published snapshots kept (older ones are deleted) |
| AIUSAGE_REPORTS_DIR | data/reports | where the weekly report asset writes its files |
| AIUSAGE_FRESHNESS_HOURS | 26 | a mart not refreshed for this long fails its freshness check |

Relative paths are resolved against the project directory, so the CLI, Dagster and dbt
agree on one file whatever the working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_PROJECT_DIR = PACKAGE_DIR.parent


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    duckdb_path: Path
    landing_dir: Path
    reject_threshold: float
    lookback_days: int
    schedule_timezone: str
    gx_docs_dir: Path
    published_dir: Path = Path("data/published")
    publish_keep: int = 5
    reports_dir: Path = Path("data/reports")
    freshness_hours: float = 26.0
    duckdb_memory_limit: str = "2500MB"
    duckdb_threads: int = 2

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        project_dir = Path(env.get("AIUSAGE_PROJECT_DIR") or DEFAULT_PROJECT_DIR).resolve()

        def path(var: str, default: str) -> Path:
            value = Path(env.get(var) or default).expanduser()
            return value if value.is_absolute() else (project_dir / value)

        return cls(
            project_dir=project_dir,
            duckdb_path=path("AIUSAGE_DUCKDB_PATH", "data/warehouse.duckdb"),
            landing_dir=path("AIUSAGE_LANDING_DIR", "data/landing"),
            reject_threshold=float(env.get("AIUSAGE_REJECT_THRESHOLD") or 0.05),
            lookback_days=int(env.get("AIUSAGE_LOOKBACK_DAYS") or 3),
            schedule_timezone=env.get("AIUSAGE_SCHEDULE_TIMEZONE") or "UTC",
            gx_docs_dir=path("AIUSAGE_GX_DOCS_DIR", "data/gx_docs"),
            published_dir=path("AIUSAGE_PUBLISHED_DIR", "data/published"),
            publish_keep=max(1, int(env.get("AIUSAGE_PUBLISH_KEEP") or 5)),
            reports_dir=path("AIUSAGE_REPORTS_DIR", "data/reports"),
            freshness_hours=float(env.get("AIUSAGE_FRESHNESS_HOURS") or 26),
            duckdb_memory_limit=env.get("AIUSAGE_DUCKDB_MEMORY_LIMIT") or "2500MB",
            duckdb_threads=int(env.get("AIUSAGE_DUCKDB_THREADS") or 2),
        )

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt subprocesses: absolute paths, so dbt agrees with Python."""
        return {
            "AIUSAGE_DUCKDB_PATH": str(self.duckdb_path),
            "AIUSAGE_LANDING_DIR": str(self.landing_dir),
            "DBT_PROFILES_DIR": str(self.project_dir),
        }

    def environ(self) -> dict[str, str]:
        """Every setting as its variable, so Settings.from_env() in this process (the Dagster
        resources) resolves to these settings."""
        return {
            **self.dbt_env(),
            "AIUSAGE_REJECT_THRESHOLD": str(self.reject_threshold),
            "AIUSAGE_LOOKBACK_DAYS": str(self.lookback_days),
            "AIUSAGE_SCHEDULE_TIMEZONE": self.schedule_timezone,
            "AIUSAGE_GX_DOCS_DIR": str(self.gx_docs_dir),
            "AIUSAGE_PUBLISHED_DIR": str(self.published_dir),
            "AIUSAGE_PUBLISH_KEEP": str(self.publish_keep),
            "AIUSAGE_REPORTS_DIR": str(self.reports_dir),
            "AIUSAGE_FRESHNESS_HOURS": str(self.freshness_hours),
            "AIUSAGE_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "AIUSAGE_DUCKDB_THREADS": str(self.duckdb_threads),
        }

    def apply_to_environ(self) -> None:
        """Export the resolved settings so every dbt invocation and every resource of this
        process uses them."""
        os.environ.update(self.environ())
        self.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
