"""Landed files as an asset: an inventory of what sits in the landing folder.

dbt reads the files in place (external sources); this asset records what was there when
a refresh started, and is the asset the landing expectations guard.
"""

import re
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration.resources import WarehouseSettings

LANDING_DAY = re.compile(r"dt=(\d{4}-\d{2}-\d{2})$")


def landed_files(landing_dir: Path, source: str) -> list[tuple[date, Path]]:
    """Landed files of one source, sorted by landing day then name."""
    root = landing_dir / source
    found: list[tuple[date, Path]] = []
    if not root.is_dir():
        return found
    for day_dir in root.iterdir():
        match = LANDING_DAY.match(day_dir.name)
        if not (day_dir.is_dir() and match):
            continue
        day = date.fromisoformat(match.group(1))
        for path in day_dir.iterdir():
            if path.is_file() and not path.name.startswith("."):
                found.append((day, path))
    return sorted(found)


def recent_batch(files: list[tuple[date, Path]], lookback_days: int) -> list[Path]:
    """The files an incremental refresh re-reads: the latest landing day and the look-back."""
    if not files:
        return []
    latest = max(day for day, _ in files)
    return [path for day, path in files if (latest - day).days <= lookback_days]


LANDING_SOURCES = (
    "events",
    "openai_usage",
    "anthropic_usage",
    "litellm_spend_logs",
    "langfuse_observations",
)


@dg.asset(
    key=dg.AssetKey(["landing", "events"]),
    group_name="landing",
    owners=["team:data-platform"],
    description=(
        "Landed usage files under <landing>/<source>/dt=YYYY-MM-DD/ for every source "
        "(canonical events, OpenAI and Anthropic usage reports, LiteLLM spend logs, Langfuse "
        "observations). Materializing records an inventory per source; it fails only when "
        "nothing at all has landed."
    ),
    kinds={"file", "json"},
)
def landing_events(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
    settings = warehouse.resolve()
    inventory = {source: landed_files(settings.landing_dir, source) for source in LANDING_SOURCES}
    files = [item for found in inventory.values() for item in found]
    if not files:
        raise dg.Failure(
            description=(
                f"Nothing landed under {settings.landing_dir}: run `aiusage generate` or "
                "`aiusage ingest <source> <file>` first."
            )
        )
    days = sorted({day for day, _ in files})
    total_bytes = sum(path.stat().st_size for _, path in files)
    context.log.info("%d landed files over %d days", len(files), len(days))
    return dg.MaterializeResult(
        metadata={
            "files": len(files),
            **{f"files_{source}": len(found) for source, found in inventory.items()},
            "landing_days": len(days),
            "first_landing_day": str(days[0]),
            "last_landing_day": str(days[-1]),
            "bytes": total_bytes,
            "landing_dir": str(settings.landing_dir),
        }
    )
