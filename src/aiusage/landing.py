"""The landing zone as the warehouse sees it: which sources land where, in which format, and
what has landed.

The folder layout itself (``<landing>/<source>/dt=YYYY-MM-DD/<file>``, atomic writes,
locked appends) is `aiusage_tracking.landing`, shared with the tracking client; this module
adds the warehouse's sources and the inventories the refresh, the sensor and `aiusage
ingest` need. The dbt sources (models/staging/<source>/_<source>__sources.yml) read the
same folders.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from aiusage_tracking.landing import day_folder, landed_files, landing_day, write_atomically

__all__ = [
    "SOURCES",
    "SOURCE_NAMES",
    "LandingSource",
    "day_folder",
    "file_with_digest",
    "inventory",
    "landed_files",
    "landing_day",
    "latest_landing_day",
    "settled_inventory",
    "source",
    "write_atomically",
]


@dataclass(frozen=True)
class LandingSource:
    name: str  # the folder under the landing directory
    landed_format: str  # "jsonl": one record per line; "json": usage pages (one document)
    description: str

    @property
    def extension(self) -> str:
        return self.landed_format


SOURCES: tuple[LandingSource, ...] = (
    LandingSource("events", "jsonl", "canonical usage events (the event contract)"),
    LandingSource("openai_usage", "json", "OpenAI organization usage pages (completions)"),
    LandingSource("anthropic_usage", "json", "Anthropic Admin API usage report pages"),
    LandingSource("litellm_spend_logs", "jsonl", "LiteLLM proxy LiteLLM_SpendLogs rows"),
    LandingSource("langfuse_observations", "jsonl", "Langfuse observations (generations)"),
    LandingSource(
        "openrouter", "jsonl", "OpenRouter chat-completion responses and generation records"
    ),
    LandingSource("outcomes", "jsonl", "task outcome records (success or failure per task_id)"),
)
SOURCE_NAMES: tuple[str, ...] = tuple(s.name for s in SOURCES)


def source(name: str) -> LandingSource:
    for candidate in SOURCES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"unknown landing source {name!r}; expected one of {', '.join(SOURCE_NAMES)}")


def latest_landing_day(landing_dir: Path, source_name: str) -> date | None:
    days = [day for day, _ in landed_files(landing_dir, source_name)]
    return max(days) if days else None


# A file modified more recently than this is probably still being written: the sensor
# leaves it for its next tick.
SETTLE_SECONDS = 5.0


def inventory(
    landing_dir: Path, sources: tuple[str, ...] = SOURCE_NAMES, settled_before: float | None = None
) -> dict[str, str]:
    """{path relative to the landing folder: "mtime_ns:size"} of every landed file of
    `sources`; with `settled_before` (a time.time() value), only the files not modified
    since then."""
    found: dict[str, str] = {}
    for name in sources:
        for _day, path in landed_files(landing_dir, name):
            stat = path.stat()
            if settled_before is not None and stat.st_mtime > settled_before:
                continue
            found[path.relative_to(landing_dir).as_posix()] = f"{stat.st_mtime_ns}:{stat.st_size}"
    return found


def settled_inventory(
    landing_dir: Path, now: float | None = None, settle_seconds: float = SETTLE_SECONDS
) -> dict[str, str]:
    """The inventory of every landed file that has not changed for `settle_seconds`."""
    now = time.time() if now is None else now
    return inventory(landing_dir, settled_before=now - settle_seconds)


_DIGEST_IN_NAME = re.compile(r"\.([0-9a-f]{16})\.(jsonl|json)$")


def file_with_digest(landing_dir: Path, source_name: str, digest: str) -> Path | None:
    """The landed file of a source whose name carries this content digest (`aiusage ingest`
    names files <HHMMSSffffff>-<stem>.<sha256[:16]>.<ext>), on any landing day; None when
    there is none."""
    for _day, path in landed_files(landing_dir, source_name):
        match = _DIGEST_IN_NAME.search(path.name)
        if match and match.group(1) == digest:
            return path
    return None
