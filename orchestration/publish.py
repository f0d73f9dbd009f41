"""Publish: a read-only snapshot of the warehouse for readers.

After a successful, checked build the publish asset writes a new versioned folder

    <published>/<build_id>/warehouse.duckdb      a copy of the built DuckDB file
    <published>/<build_id>/marts/<model>.parquet  one Parquet file per mart (models/marts)
    <published>/<build_id>/run.json               run metadata (build id, run id, row counts)

then swaps the `<published>/CURRENT` pointer (a one-line file, replaced atomically with
os.replace). Readers call `published_duckdb_path(settings)` and open that file read-only:
they never see a half-built warehouse and never hold the builder's write lock. The last
AIUSAGE_PUBLISH_KEEP snapshots are kept. Marts carry no build timestamps; run metadata lives
in run.json beside them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.settings import Settings

POINTER = "CURRENT"
DUCKDB_NAME = "warehouse.duckdb"
BUILD_ID = re.compile(r"^\d{8}T\d{6}\d{6}Z-[0-9a-z]+$")


@dataclass(frozen=True)
class Mart:
    """A mart relation to export: the dbt model name and its schema-qualified relation."""

    name: str
    schema: str


@dataclass(frozen=True)
class PublishedSnapshot:
    build_id: str
    folder: Path
    duckdb_path: Path
    parquet_files: dict[str, Path]
    row_counts: dict[str, int]
    removed: list[str]


def current_build_id(settings: Settings) -> str | None:
    pointer = settings.published_dir / POINTER
    try:
        build_id = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return build_id or None


def published_duckdb_path(settings: Settings | None = None) -> Path:
    """The DuckDB file of the current published snapshot (open it read-only)."""
    settings = settings or Settings.from_env()
    build_id = current_build_id(settings)
    if build_id is None:
        raise FileNotFoundError(
            f"Nothing published under {settings.published_dir}: run `aiusage build` first."
        )
    path = settings.published_dir / build_id / DUCKDB_NAME
    if not path.exists():
        raise FileNotFoundError(f"{settings.published_dir / POINTER} names {build_id}, missing")
    return path


def reader_duckdb_path(settings: Settings | None = None) -> Path:
    """What readers (report, API, dashboard, alerts) open: the published snapshot, or the
    build file when nothing has been published yet (e.g. a warehouse built by plain dbt)."""
    settings = settings or Settings.from_env()
    try:
        return published_duckdb_path(settings)
    except FileNotFoundError:
        return settings.duckdb_path


def new_build_id(run_id: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    short = re.sub(r"[^0-9a-z]", "", run_id.lower())[:8] or "local"
    return f"{now:%Y%m%dT%H%M%S%f}Z-{short}"


def mart_relations(manifest_path: Path) -> list[Mart]:
    """Models under models/marts (not ephemeral), from the dbt manifest."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    marts = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["fqn"][1:2] != ["marts"]:
            continue
        if node["config"].get("materialized") == "ephemeral":
            continue
        marts.append(Mart(name=node.get("alias") or node["name"], schema=node["schema"]))
    return sorted(marts, key=lambda m: m.name)


def publish(
    settings: Settings, marts: list[Mart], run_id: str, metadata: dict | None = None
) -> PublishedSnapshot:
    """Copy the built warehouse into a new snapshot folder, export the marts, swap CURRENT."""
    source = settings.duckdb_path
    if not source.exists():
        raise FileNotFoundError(f"No warehouse to publish at {source}")
    root = settings.published_dir
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(root)
    build_id = new_build_id(run_id)
    staging = root / f".{build_id}.{os.getpid()}.tmp"
    folder = root / build_id
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "marts").mkdir(parents=True)
    try:
        shutil.copyfile(source, staging / DUCKDB_NAME)
        _fsync(staging / DUCKDB_NAME)
        fault_point("publish")
        parquet: dict[str, Path] = {}
        counts: dict[str, int] = {}
        with duckdb.connect(str(staging / DUCKDB_NAME), read_only=True) as con:
            for mart in marts:
                relation = f'"{mart.schema}"."{mart.name}"'
                target = staging / "marts" / f"{mart.name}.parquet"
                # Sorted rows: the same marts give the same Parquet files run after run.
                con.execute(
                    f"copy (select * from {relation} order by all) to '{target}' "
                    "(format parquet, compression zstd)"
                )
                (counts[mart.name],) = con.execute(f"select count(*) from {relation}").fetchone()
                parquet[mart.name] = folder / "marts" / target.name
        run = {
            "build_id": build_id,
            "run_id": run_id,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source_duckdb": str(source),
            "marts": counts,
            **(metadata or {}),
        }
        (staging / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_pointer(root, build_id)
    removed = prune(settings)
    return PublishedSnapshot(
        build_id=build_id,
        folder=folder,
        duckdb_path=folder / DUCKDB_NAME,
        parquet_files=parquet,
        row_counts=counts,
        removed=removed,
    )


def _swap_pointer(root: Path, build_id: str) -> None:
    tmp = root / f".{POINTER}.{os.getpid()}.tmp"
    tmp.write_text(build_id + "\n", encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, root / POINTER)


def _fsync(path: Path) -> None:
    """Flush a file to disk before it is renamed into place (no empty file after a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_TEMPORARY = re.compile(r"^\.(?:.+)\.(\d+)\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(root: Path) -> list[str]:
    """Delete what a killed publish left behind: `.<build_id>.<pid>.tmp` folders and
    `.CURRENT.<pid>.tmp` files whose process is gone (a live publisher's are kept)."""
    removed = []
    for path in root.iterdir() if root.is_dir() else []:
        match = _TEMPORARY.match(path.name)
        if not match or _alive(int(match.group(1))):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed


def fault_point(name: str) -> None:
    """Test hook for the crash-recovery tests: when AIUSAGE_FAULT_POINT names this point,
    write `<AIUSAGE_FAULT_MARKER>` and wait there to be killed. Inert when the variable is
    unset (the default)."""
    if os.environ.get("AIUSAGE_FAULT_POINT") != name:
        return
    import time

    marker = os.environ.get("AIUSAGE_FAULT_MARKER")
    if marker:
        Path(marker).write_text(f"{name} {os.getpid()}\n", encoding="utf-8")
    time.sleep(float(os.environ.get("AIUSAGE_FAULT_SECONDS") or 600))


def snapshots(settings: Settings) -> list[str]:
    """Published build ids, oldest first."""
    root = settings.published_dir
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and BUILD_ID.match(p.name))


def prune(settings: Settings) -> list[str]:
    """Delete all but the newest AIUSAGE_PUBLISH_KEEP snapshots (never the current one)."""
    current = current_build_id(settings)
    ids = snapshots(settings)
    doomed = [b for b in ids[: max(0, len(ids) - settings.publish_keep)] if b != current]
    for build_id in doomed:
        shutil.rmtree(settings.published_dir / build_id, ignore_errors=True)
    return doomed
