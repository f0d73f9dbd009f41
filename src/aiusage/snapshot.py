"""Publish: a read-only snapshot of the warehouse for readers.

After a successful, checked build the publish asset writes a new versioned folder

    <published>/<build_id>/warehouse.duckdb             the marts as tables, for readers and BI
    <published>/<build_id>/marts/<model>.parquet         one Parquet file per mart ...
    <published>/<build_id>/marts/<model>/<day>.parquet   ... or per landing or usage day (below)
    <published>/<build_id>/run.json                      build id, run id, row counts, parts
    <published>/<build_id>/semantic_manifest.json        the metric definitions of the build

then swaps two pointers, each replaced atomically with os.replace:

    <published>/CURRENT          a one-line file naming the newest build id
    <published>/current.duckdb   a relative symbolic link to <build_id>/warehouse.duckdb

Readers in this package call `published_duckdb_path(settings)`; BI tools and other
DuckDB-speaking clients open `<published>/current.duckdb` read-only, the one path that never
changes: each new connection opens the newest whole snapshot. Nobody sees a half-built
warehouse or waits on the builder's write lock.

A snapshot folder is self-contained: every mart is a table inside its warehouse.duckdb (no
view over a file path), so a copy of the folder opens and reads anywhere. A mart whose
model declares meta publish_as_view (rpt_session_costs) is the exception: a view there too,
defined as in the build, over the tables it reads, which are published beside it (support
relations, Mart.support: kept like any mart, no Parquet file; the seeds an application
reads, such as the report's fx_rates, are support relations too). Its rows all change with
every refresh; as a view they are never written into the snapshot. Its Parquet export, one
file per usage day like the incremental marts', is written whole when its fingerprint (its
definition and the fingerprints of what it reads) moved, and linked when it did not.

Retention: the newest AIUSAGE_PUBLISH_KEEP snapshots are kept, and so is every snapshot that
stopped being current less than AIUSAGE_PUBLISH_GRACE_SECONDS ago (default one hour), so a
BI connection held open on a snapshot keeps working after newer ones are published. Marts
carry no build timestamps; run metadata lives in run.json beside them. A snapshot let go is
renamed at once (it is no longer listed or opened by name) and deleted by a process of its
own that the refresh does not wait for (`_remove_later`): freeing a 10M-event snapshot's
files took 1.2-1.3 s on this project's machine.

Cost grows with new data, not with history. The new snapshot's DuckDB file starts as the
file of an expired snapshot (one the next prune would delete, taken only when no reader
holds it: `_recycle`), or else as a copy of the current snapshot's (a sequential file copy),
and only what the build changed since that snapshot is written into it: a mart with the
same columns, row count and fingerprint (sum of its rows' hashes, `row_hash`) is kept; a
mart with a `landing_date` column (the request, landed-row and quarantine facts, which hold
the whole history) has only its changed landing days replaced, and so has an incremental
mart with a `usage_date` column its changed usage days (fct_daily_usage
and the daily reports, which a refresh replaces by usage day); any other changed mart is
rewritten. The changed days of a fact whose model declares that a refresh writes only
its landing days from the cutoff (meta publish_by_rewritten_days: fct_llm_requests,
fct_landed_rows; not rpt_landing_accounting, which recounts older files in place) are
found without hashing its history: each run of its incremental model is logged in the build
(`aiusage_landing_rewrites`: the first landing day the run rewrote, numbered in order, with
dbt's invocation id; an older day to which a withdrawn request's older delivery came back
counts as rewritten), and publish hashes only the days from the earliest day logged since
the current snapshot, plus any older day whose row count moved (outside the days it
rewrites, a refresh can only delete rows: a re-delivered request leaves its old day). Every
other day keeps the current snapshot's fingerprint. Without a log, for a model that did
not run since, or when the log is not the one the current snapshot recorded (its last
row's seq and invocation id: a warehouse built afresh), every day is hashed. When most
rows changed, or the current file is mostly free space, the file is written afresh: as a
copy of the build's own DuckDB file reduced to the marts (views materialised, seeds,
staging and other schemas dropped), which copies blocks instead of recompressing every
column; when there is no current snapshot to start from, that copy runs while the marts
are fingerprinted. The Parquet export follows the same rule: those
marts are one Parquet file per day, and an unchanged day (or mart) is hard-linked
from the previous snapshot instead of written again; the files to write (changed days and
changed whole-file marts) go through one queue, AIUSAGE_DUCKDB_THREADS statements at a time,
the largest first, rows sorted by the mart's key, zstd at level 1
(PARQUET_OPTIONS). The Parquet files are read from the build's file on a thread of their
own while the snapshot's tables are brought to the build. run.json records
what was kept, replaced, rewritten and taken from the build's file ("tables",
"parquet_days"). The starting file is got while dbt builds (`prepare_next_snapshot`,
called by the dbt step): at 10M events the copy was 6.9 s of a new day's 12 s publish when
it came after the build, and it writes the whole 2.3 GB file; taking an expired snapshot's
file writes nothing."""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from aiusage.project import Mart
from aiusage.settings import Settings

POINTER = "CURRENT"
STABLE_NAME = "current.duckdb"
DUCKDB_NAME = "warehouse.duckdb"
BUILD_ID = re.compile(r"^\d{8}T\d{6}\d{6}Z-[0-9a-z]+$")


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


def published_duckdb_path(settings: Settings) -> Path:
    """The DuckDB file of the current published snapshot (open it read-only)."""
    build_id = current_build_id(settings)
    if build_id is None:
        raise FileNotFoundError(
            f"Nothing published under {settings.published_dir}: run `aiusage build` first."
        )
    path = settings.published_dir / build_id / DUCKDB_NAME
    if not path.exists():
        raise FileNotFoundError(f"{settings.published_dir / POINTER} names {build_id}, missing")
    return path


def reader_duckdb_path(settings: Settings) -> Path:
    """What readers (report, API, dashboard, alerts) open: the published snapshot, or the
    build file when nothing has been published yet (e.g. a warehouse built by plain dbt)."""
    try:
        return published_duckdb_path(settings)
    except FileNotFoundError:
        return settings.duckdb_path


def new_build_id(run_id: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    short = re.sub(r"[^0-9a-z]", "", run_id.lower())[:8] or "local"
    return f"{now:%Y%m%dT%H%M%S%f}Z-{short}"


PARTITION_COLUMN = "landing_date"
# An incremental mart without landing days that replaces whole usage days (fct_daily_usage
# and the daily reports: macro touched_usage_days) is kept per usage day in the snapshot.
USAGE_DAY_COLUMN = "usage_date"


def _partition_column(mart: Mart, names: set[str]) -> str | None:
    """The day column a mart is kept and exported by, one Parquet file per day: its landing
    day, or the usage day of an incremental mart or of a mart kept as a view (None: kept
    and exported whole). A view's day files are all written when its fingerprint moves,
    but one sort per day costs less than one over the whole mart: rpt_session_costs'
    1,020,303 sessions at 10M events, 1.2 CPU s as 30 day files against 1.8 s as one
    (docs/performance.md, fiftieth round), and the files spread over the export's cursors."""
    if PARTITION_COLUMN in names:
        return PARTITION_COLUMN
    if (mart.incremental or mart.view_over) and USAGE_DAY_COLUMN in names:
        return USAGE_DAY_COLUMN
    return None


def _current_run(root: Path) -> dict | None:
    """The run.json of the snapshot CURRENT names (None: none, or unreadable)."""
    try:
        build_id = (root / POINTER).read_text(encoding="utf-8").strip()
        run = json.loads((root / build_id / "run.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return run if isinstance(run, dict) and run.get("build_id") == build_id else None


def file_stamp(path: Path) -> str:
    """ "mtime_ns:size" of a file: a write to the warehouse after a publish changes it."""
    stat = path.stat()
    return f"{stat.st_mtime_ns}:{stat.st_size}"


def current_run(settings: Settings) -> dict | None:
    """What the current published snapshot records about the refresh that built it (its
    run.json: build and run ids, row counts, the refresh's options and inputs)."""
    return _current_run(settings.published_dir)


def _previous(root: Path) -> tuple[Path | None, dict]:
    """The current snapshot's folder and its run.json (None and {} when there is none)."""
    run = _current_run(root)
    if run is None:
        return None, {}
    return root / run["build_id"], run


def _signature(columns: list[tuple[str, str]]) -> str:
    """A mart's columns and types, as one string: a snapshot table is reused only by a mart
    with the same signature."""
    return ", ".join(f"{name} {data_type}" for name, data_type in columns)


def row_hash(columns: list[str]) -> str:
    """A row's hash for the fingerprints: DuckDB's hash of every column, in order, as one
    call (`hash(a, b, ...)` combines the columns' hashes). Hashing the row as a struct
    (`hash(t)`) gives another value and took three times as long: the 10M request fact's
    per-day fingerprints in 3.6 s against 1.2 s."""
    return "hash(" + ", ".join('"' + name.replace('"', '""') + '"' for name in columns) + ")"


# A day's label in run.json and its file's name: grouped by the day itself, labelled after
# (a label per row, a date cast to text, took 0.12 s of 0.03 s on the 10M request fact:
# docs/performance.md, forty-first round).
_DAY_LABEL = "coalesce(cast(part_day as varchar), 'null')"


def _day_counts(con, relation: str, column: str) -> list[tuple[str, int]]:
    """[(day label, rows)] of a partitioned mart."""
    return con.execute(
        f"select {_DAY_LABEL}, part_rows from (select {column} as part_day, "
        f"count(*) as part_rows from {relation} group by 1) as days"
    ).fetchall()


def _in_day_order(prints: dict) -> dict:
    """`prints` ({day label: part}) in day order, rows without a day last."""
    return {day: prints[day] for day in sorted(prints, key=lambda day: (day == "null", day))}


def _day_prints(
    con,
    relation: str,
    column: str,
    hashed_row: str,
    previous_parts: dict | None = None,
    rewritten_from: str | None = None,
) -> tuple[dict[str, list], int]:
    """{landing day: [rows, fingerprint]} of a partitioned mart (the fingerprint is the sum
    of its rows' hashes, `hashed_row` (`row_hash`): a changed, added or removed row changes
    it), and how many days were
    fingerprinted. With `rewritten_from` (the first landing day its model rewrote since the
    current snapshot, from the model's run log), only the days that may have changed are
    hashed: every day from it on, rows without a day, and any day whose row count differs
    from `previous_parts` (outside the days it rewrites, an incremental refresh can only
    delete rows: a re-delivered request moves to its new landing day). Every other day
    keeps the current snapshot's fingerprint."""
    if rewritten_from is None or not previous_parts:
        stale = None
        prints = {}
    else:
        counts = _day_counts(con, relation, column)
        stale = [
            day
            for day, rows in counts
            if day == "null"
            or day >= rewritten_from
            or (previous_parts.get(day) or [None])[0] != rows
        ]
        prints = {day: previous_parts[day] for day, _ in counts if day not in stale}
    if stale is None or stale:
        where, params = _day_predicate(stale, column) if stale else ("true", [])
        for day, rows, fingerprint in con.execute(
            f"""select {_DAY_LABEL}, part_rows, cast(part_print as varchar) from (
                    select {column} as part_day, count(*) as part_rows,
                        sum({hashed_row}) as part_print
                    from {relation} as t where {where} group by 1
                ) as days""",
            params,
        ).fetchall():
            prints[day] = [rows, fingerprint]
    hashed = len(prints) if stale is None else len(stale)
    return _in_day_order(prints), hashed


# The log of the incremental models' runs (macros/refresh_windows.sql): the first landing
# day each run rewrote, numbered in order, with dbt's invocation id.
REWRITES_LOG = "aiusage_landing_rewrites"


def _rewritten_since(con, previous_run: dict) -> tuple[dict[str, str] | None, dict | None]:
    """From the build's run log: {model: first landing day (YYYY-MM-DD) any of its runs
    rewrote since the current snapshot was published}, or None when that is unknown (no
    log, no position recorded with the current snapshot, or a log that is not the one it
    was recorded from: a warehouse built afresh); and the log's position to record with
    the new snapshot (its last row's seq and invocation id)."""
    found = con.execute(
        """select table_schema from information_schema.tables
           where table_catalog = 'built' and table_name = ?""",
        [REWRITES_LOG],
    ).fetchone()
    if found is None:
        return None, None
    log = f'built."{found[0]}"."{REWRITES_LOG}"'
    last = con.execute(f"select seq, invocation_id from {log} order by seq desc limit 1").fetchone()
    position = {"seq": last[0], "invocation_id": last[1]} if last else None
    previous = previous_run.get("rewrites")
    if not previous or position is None:
        return None, position
    recorded = con.execute(
        f"select invocation_id from {log} where seq = ?", [previous["seq"]]
    ).fetchone()
    if recorded is None or recorded[0] != previous["invocation_id"]:
        return None, position
    since = con.execute(
        f"""select model_name, cast(min(coalesce(cutoff_date, date '0001-01-01')) as varchar)
            from {log} where seq > ? group by 1""",
        [previous["seq"]],
    ).fetchall()
    return dict(since), position


def _day_predicate(days: list[str], column: str) -> tuple[str, list[str]]:
    """`<column> in (...)` over day labels ("null" for rows without a day)."""
    dated = [day for day in days if day != "null"]
    terms = []
    if dated:
        terms.append(f"{column} in ({', '.join('cast(? as date)' for _ in dated)})")
    if "null" in days:
        terms.append(f"{column} is null")
    return " or ".join(terms) or "false", dated


# The Parquet exports' options. zstd at level 1 instead of DuckDB's default 3: on the 10M
# request fact (12 days, sorted by key, two statements at a time) 2.9-3.0 s against
# 3.3-3.6 s, files 5 % larger (docs/performance.md, fifteenth round).
PARQUET_OPTIONS = "format parquet, compression zstd, compression_level 1"


def _row_order(mart: Mart) -> str:
    """The ORDER BY of a mart's Parquet export: sorted rows give the same Parquet bytes
    build after build. By the mart's unique key when it has one (a blocking unique test):
    sorting on one column instead of every column cuts a quarter of the export's time."""
    return f'order by "{mart.key}"' if mart.key else "order by all"


def _parquet_copy(relation: str, mart: Mart, target: Path, where: str = "true") -> str:
    """The COPY statement of one Parquet file: the mart's rows (those of `where`), sorted
    (_row_order), with PARQUET_OPTIONS."""
    return (
        f"copy (select * from {relation} where {where} {_row_order(mart)}) to '{target}' "
        f"({PARQUET_OPTIONS})"
    )


@dataclass
class _ParquetWrite:
    statement: str
    params: list
    cells: int  # rows x columns: the order in which the writes are handed out


def _write_all(con, writes: list[_ParquetWrite], workers: int) -> None:
    """Run the Parquet writes on `workers` cursors of `con` (DuckDB writes one file on about
    one core), each taking the next write when it finishes one, the largest first: one
    queue for every mart's files, so no cursor waits at the end of a mart for the other
    (a whole-file mart or the last day of a partitioned one used to run alone). The first
    error stops the queue and is raised once every cursor has stopped."""
    queue = sorted(writes, key=lambda write: -write.cells)
    workers = max(1, min(workers, len(queue)))
    if workers == 1:
        for write in queue:
            con.execute(write.statement, write.params)
        return
    lock = threading.Lock()
    failed = threading.Event()

    def drain() -> None:
        with con.cursor() as cursor:
            while not failed.is_set():
                with lock:
                    if not queue:
                        return
                    write = queue.pop(0)
                try:
                    cursor.execute(write.statement, write.params)
                except BaseException:
                    failed.set()
                    raise

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in [pool.submit(drain) for _ in range(workers)]:
            done.result()


def _changed_days(prints: dict, previous_parts: dict) -> list[str]:
    return sorted(
        day
        for day in set(prints) | set(previous_parts)
        if prints.get(day) != previous_parts.get(day)
    )


@dataclass
class _MartPlan:
    """What one mart of the build is, against the current snapshot: its columns, rows and
    fingerprints (per landing day for a partitioned mart), and what publish does with the
    snapshot's table: keep it, replace the changed landing days, or rewrite it."""

    mart: Mart
    relation: str
    signature: str
    rows: int
    prints: dict  # partitioned: {day: [rows, fingerprint]}; else {}
    fingerprint: list  # run.json "fingerprints" entry
    hashed_days: int  # partitioned: the days fingerprinted (the others kept the snapshot's)
    partition: str | None  # the day column it is kept and exported by (None: whole)
    action: str = "rewrite"  # keep | replace_days | rewrite | view
    changed_days: list[str] = field(default_factory=list)
    view_sql: str | None = None  # a mart kept as a view: the SELECT of its view in the build
    columns: int = 1  # how many (with rows, the size by which its Parquet writes are ordered)

    @property
    def rows_to_write(self) -> int:
        if self.action == "keep" or self.view_sql is not None:
            return 0
        if self.action == "replace_days":
            return sum(self.prints.get(day, [0])[0] for day in self.changed_days)
        return self.rows


# A new snapshot starts from a copy of the current one unless it would rewrite more than
# this share of the rows, or the current file is more than this share free blocks (space
# left by deleted rows, which a copy would carry on): then it is written afresh.
REWRITE_SHARE = 0.5


_VIEW_DEFINITION = re.compile(r"(?is)^\s*create\s+view\s+.+?\s+as\s+(.*?)\s*;?\s*$")


def _view_select(con, mart: Mart) -> str:
    """The SELECT of a mart's view in `built` (its SQL names its relations by schema, never
    by catalog, so it binds in the snapshot's file to the tables kept beside it)."""
    found = con.execute(
        """select sql from duckdb_views()
           where database_name = 'built' and schema_name = ? and view_name = ?""",
        [mart.schema, mart.name],
    ).fetchone()
    match = _VIEW_DEFINITION.match(found[0]) if found else None
    if match is None:
        raise duckdb.CatalogException(
            f"Mart {mart.schema}.{mart.name} is published as a view but is not a view in the build"
        )
    return match.group(1)


def _view_fingerprint(signature: str, select: str, sources: list[_MartPlan]) -> list:
    """A view's fingerprint, from its definition and the fingerprints of what it reads: the
    same definition over the same rows gives the same rows, without computing the view."""
    parts = [select] + [[source.mart.name, source.fingerprint, source.prints] for source in sources]
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]
    return [signature, "view", digest]


def _plan(con, marts: list[Mart], previous_run: dict) -> tuple[list[_MartPlan], dict | None]:
    """Columns, row counts and fingerprints of every mart in `built` (attached to `con`),
    and the action on each snapshot table, judged against the current snapshot's run.json;
    and the position of the build's run log to record with the new snapshot. A mart kept
    as a view comes after the relations it reads (planned first), and its fingerprint is
    theirs with its definition."""
    previous_prints = previous_run.get("fingerprints", {})
    previous_parts = previous_run.get("parts", {})
    rewritten, position = _rewritten_since(con, previous_run)
    plans = []
    planned: dict[str, _MartPlan] = {}
    for mart in sorted(marts, key=lambda m: bool(m.view_over)):
        relation = f'built."{mart.schema}"."{mart.name}"'
        columns = con.execute(
            """select column_name, data_type from information_schema.columns
               where table_catalog = 'built' and table_schema = ?
               and table_name = ? order by ordinal_position""",
            [mart.schema, mart.name],
        ).fetchall()
        if not columns:
            raise duckdb.CatalogException(f"Mart {mart.schema}.{mart.name} not built")
        signature = _signature(columns)
        old = previous_prints.get(mart.name)
        if mart.view_over:
            select = _view_select(con, mart)
            fingerprint = _view_fingerprint(
                signature, select, [planned[name] for name in mart.view_over]
            )
            partition = _partition_column(mart, {c for c, _ in columns})
            if partition is None:
                (rows,) = con.execute(f"select count(*) from {relation}").fetchone()
                prints = {}
            else:
                # a day's rows are the same when the view's inputs are: every day carries
                # the view's fingerprint (all its files written, or all linked)
                prints = _in_day_order(
                    {
                        day: [count, fingerprint[2]]
                        for day, count in _day_counts(con, relation, partition)
                    }
                )
                rows = sum(count for count, _ in prints.values())
            plan = _MartPlan(
                mart, relation, signature, rows, prints, fingerprint, 0, partition,
                columns=len(columns),
            )  # fmt: skip
            plan.view_sql = select
            plan.action = "keep" if old == fingerprint else "view"
            plans.append(plan)
            continue
        hashed_row = row_hash([name for name, _ in columns])
        prints, hashed = {}, 0
        partition = _partition_column(mart, {c for c, _ in columns})
        if partition is not None:
            # the log speaks for landing days, and only for the runs it records: a model
            # that did not run since (no log row) is fingerprinted on every day
            since = (rewritten or {}).get(mart.name) if partition == PARTITION_COLUMN else None
            unchanged_type = old is not None and old[0] == signature
            prints, hashed = _day_prints(
                con,
                relation,
                partition,
                hashed_row,
                previous_parts.get(mart.name)
                if mart.by_rewritten_days and unchanged_type
                else None,
                since,
            )
        if prints:
            rows = sum(count for count, _ in prints.values())
            fingerprint = [signature]
        else:
            rows, whole = con.execute(
                f"select count(*), cast(sum({hashed_row}) as varchar) from {relation} as t"
            ).fetchone()
            fingerprint = [signature, rows, whole]
        plan = _MartPlan(
            mart, relation, signature, rows, prints, fingerprint, hashed, partition,
            columns=len(columns),
        )  # fmt: skip
        if old is not None and old[0] == signature:
            if prints:
                plan.changed_days = _changed_days(prints, previous_parts.get(mart.name, {}))
                plan.action = "replace_days" if plan.changed_days else "keep"
            elif old == fingerprint:
                plan.action = "keep"
        plans.append(plan)
        planned[mart.name] = plan
    return plans, position


_MATERIALISED = "__aiusage_materialised"


def _reduce_build_copy(source: Path, target: Path, marts: list[Mart], limits: dict) -> set[str]:
    """A snapshot written afresh starts as a file copy of the build's DuckDB file, reduced
    to the marts: every mart a table (a view is materialised, unless it is published as a
    view: it stays, with the tables it reads), every other relation (seeds, staging,
    intermediate views, other schemas) dropped. Copying the file is a sequential
    copy of its blocks; writing the same tables anew recompresses every column (at 1M
    events, 9.5 s of the first publish). Returns the marts the copy holds (all of them), or
    an empty set when the build's file cannot be used this way (uncommitted WAL, a mart
    outside the main schema, a view that does not bind under the build's catalog name): the
    caller then writes every table."""
    if Path(f"{source}.wal").exists() or any(mart.schema != "main" for mart in marts):
        return set()
    names = {mart.name for mart in marts}
    shutil.copyfile(source, target)
    try:
        with duckdb.connect(":memory:", config=limits) as con:
            # the build's catalog name: its views name their relations with it
            con.execute(f"attach '{target}' as \"{source.stem}\"")
            con.execute(f'use "{source.stem}"')
            relations = con.execute(
                """select table_schema, table_name, table_type from information_schema.tables
                   where table_catalog = current_database()"""
            ).fetchall()
            kinds = {name: kind for schema, name, kind in relations if schema == "main"}
            if not names <= set(kinds):
                raise duckdb.CatalogException(f"marts not built: {sorted(names - set(kinds))}")
            kept_views = {mart.name for mart in marts if mart.view_over}
            if any(kinds[name] != "VIEW" for name in kept_views):
                raise duckdb.CatalogException(f"not views in the build: {sorted(kept_views)}")
            views = sorted(n for n in names - kept_views if kinds[n] == "VIEW")
            for name in views:
                con.execute(
                    f'create table main."{name}{_MATERIALISED}" as select * from main."{name}"'
                )
            for schema, name, kind in relations:  # listed before the views were materialised
                if schema == "main" and name in names and (kind != "VIEW" or name in kept_views):
                    continue
                _drop(con, name, kind, schema)
            for (schema,) in con.execute(
                """select schema_name from information_schema.schemata
                   where catalog_name = current_database() and schema_name <> 'main'"""
            ).fetchall():
                con.execute(f'drop schema if exists "{schema}" cascade')
            for name in views:
                con.execute(f'alter table main."{name}{_MATERIALISED}" rename to "{name}"')
            con.execute("checkpoint")
    except duckdb.Error:
        target.unlink(missing_ok=True)
        Path(f"{target}.wal").unlink(missing_ok=True)
        return set()
    return names


def _free_share(con) -> float:
    """The share of the open database file's blocks that are free."""
    total, free = con.execute(
        "select total_blocks, free_blocks from pragma_database_size() "
        "where database_name = current_database()"
    ).fetchone()
    return free / total if total else 0.0


# --- the next snapshot's starting file: an expired snapshot's, or a copy made while dbt builds


@dataclass
class _Prepared:
    build_id: str  # the current snapshot when prepared: publish takes it only if still current
    base_run: dict  # run.json of the snapshot whose file this is (what publish judges against)
    path: Path  # the file: a copy, <published>/.base-<build_id>.<pid>.tmp, or the recycled one
    done: Future  # the copy (set at once for a recycled file)
    recycled: Path | None = None  # the expired snapshot's folder, set aside (.recycle-...tmp)
    touched: bool = False  # publish moved the recycled file into its new snapshot


_PREPARED: dict[Path, _Prepared] = {}
_PREPARED_LOCK = threading.Lock()


def _copyable(previous_run: dict) -> bool:
    """The current snapshot's file may start the next one: it is not mostly free space
    (blocks of deleted rows a copy would carry on)."""
    return previous_run.get("free_block_share", 1.0) <= REWRITE_SHARE


def _pop_prepared(root: Path) -> _Prepared | None:
    with _PREPARED_LOCK:
        return _PREPARED.pop(root, None)


def _release(prepared: _Prepared, wait: bool = True) -> None:
    """Let go of a starting file publish did not use (or a failed publish): a copy is
    deleted (after its copy ends, unless `wait` is false: it must not recreate the file); an
    expired snapshot set aside goes back to its folder while its file is untouched, and is
    deleted otherwise (it was due for pruning; its file no longer matches its run.json)."""
    if prepared.recycled is None:
        if wait:
            prepared.done.exception()
        prepared.path.unlink(missing_ok=True)
        return
    home = prepared.recycled.parent / prepared.base_run["build_id"]
    if prepared.touched or home.exists():
        shutil.rmtree(prepared.recycled, ignore_errors=True)
        return
    try:
        os.rename(prepared.recycled, home)
    except OSError:
        shutil.rmtree(prepared.recycled, ignore_errors=True)


@atexit.register
def _remove_prepared_at_exit() -> None:
    """A process leaving with a starting file no publish took (a failed build) lets it go;
    a copy still running is not waited for (its thread ends with the process)."""
    with _PREPARED_LOCK:
        for prepared in _PREPARED.values():
            _release(prepared, wait=False)
        _PREPARED.clear()


def _held(path: Path) -> bool:
    """Whether a reader may hold this DuckDB file open, or writing it would change another
    name's content: a descriptor of this process on it (checked in /proc/self/fd; without
    /proc, assumed), another process's DuckDB lock on it (every DuckDB connection holds an
    fcntl lock on its file, shared when read-only: probed with a non-blocking exclusive
    lock), or a second hard link."""
    try:
        stat = path.stat()
        if stat.st_nlink != 1 or Path(f"{path}.wal").exists():
            return True
        for entry in os.scandir("/proc/self/fd"):
            try:
                opened = os.stat(entry.path)
            except OSError:
                continue
            if (opened.st_dev, opened.st_ino) == (stat.st_dev, stat.st_ino):
                return True
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return True
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # releases the probe's lock (no other descriptor here has the file)
    return False


def _recycle(settings: Settings, current: str) -> _Prepared | None:
    """The file of a snapshot the next publish's prune would delete, taken to start the
    next snapshot instead of a copy of the current one (the copy writes the whole file,
    2.3 GB at 10M events, on every refresh; publish then brings the expired snapshot's
    tables to the build as it would a copy's, judged against that snapshot's run.json).
    The newest such snapshot is taken (the fewest changes to apply): not the current one,
    past the newest AIUSAGE_PUBLISH_KEEP once the next is published, and superseded at
    least AIUSAGE_PUBLISH_GRACE_SECONDS ago, as `prune` decides. Its folder is renamed
    aside first (nobody opens it by its name after that), then its file must be held by no
    reader (`_held`): else the folder goes back and the next snapshot starts from a copy.
    None when there is no such snapshot."""
    root = settings.published_dir
    now = datetime.now(UTC)
    for build_id in reversed(_expired(settings, snapshots(settings), current, now, upcoming=now)):
        folder = root / build_id
        try:
            run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not (isinstance(run, dict) and run.get("build_id") == build_id and _copyable(run)):
            continue
        if not (folder / DUCKDB_NAME).is_file():
            continue
        aside = root / f".recycle-{build_id}.{os.getpid()}.tmp"
        try:
            os.rename(folder, aside)
        except OSError:
            continue
        if _held(aside / DUCKDB_NAME):
            os.rename(aside, folder)
            continue
        done: Future = Future()
        done.set_result(aside / DUCKDB_NAME)
        return _Prepared(current, run, aside / DUCKDB_NAME, done, recycled=aside)
    return None


def prepare_next_snapshot(settings: Settings) -> None:
    """Get the file the next snapshot starts from while the refresh loads and dbt builds:
    `aiusage build` calls this right after its plan, and the dbt step of every refresh
    when dbt starts. The file of an expired snapshot that no reader holds is taken when
    there is one (`_recycle`); else the current snapshot's file is copied in a background
    thread (sequential I/O beside the build instead of after it). A snapshot never changes
    once published, so the early copy is the copy publish would make; a starting file
    already prepared in this process for the current snapshot is kept (the dbt step after
    `aiusage build`'s call). Nothing is prepared when there is no current snapshot, or when
    its file is mostly free space and none expired (the next one is written afresh). A
    preparation for another snapshot, or one whose copy failed, is let go first."""
    root = settings.published_dir
    previous, previous_run = _previous(root)
    with _PREPARED_LOCK:
        prepared = _PREPARED.get(root)
    if (
        prepared is not None
        and previous is not None
        and prepared.build_id == previous.name
        and not (prepared.done.done() and prepared.done.exception() is not None)
    ):
        return
    discard_prepared(root)
    if previous is None:
        return
    recycled = _recycle(settings, previous.name)
    if recycled is not None:
        with _PREPARED_LOCK:
            _PREPARED[root] = recycled
        return
    source = previous / DUCKDB_NAME
    if not _copyable(previous_run) or not source.is_file():
        return
    target = root / f".base-{previous.name}.{os.getpid()}.tmp"
    done: Future = Future()

    def copy() -> None:
        try:
            shutil.copyfile(source, target)
        except BaseException as error:  # noqa: BLE001 (publish copies again and reports)
            done.set_exception(error)
        else:
            done.set_result(target)

    with _PREPARED_LOCK:
        _PREPARED[root] = _Prepared(previous.name, previous_run, target, done)
    threading.Thread(target=copy, name="aiusage-next-snapshot", daemon=True).start()


def _take_prepared(settings: Settings, previous: Path | None) -> _Prepared | None:
    """The starting file prepared for the current snapshot `previous` (not waited for), or,
    when none was, an expired snapshot's file taken now; None: start from a copy of the
    current snapshot's file (or afresh). A preparation for another snapshot is let go."""
    root = settings.published_dir
    prepared = _pop_prepared(root)
    if prepared is not None and (previous is None or prepared.build_id != previous.name):
        _release(prepared)
        prepared = None
    if prepared is None and previous is not None:
        prepared = _recycle(settings, previous.name)
    return prepared


def discard_prepared(root: Path) -> None:
    """Let go of this process's prepared starting file for `root`, if any (`_release`)."""
    prepared = _pop_prepared(root)
    if prepared is not None:
        _release(prepared)


def _relation_kinds(con) -> dict[str, str]:
    """{name: 'BASE TABLE' or 'VIEW'} of the relations in the main schema of the file
    `con` opened."""
    return dict(
        con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_catalog = current_database() and table_schema = 'main'"
        ).fetchall()
    )


def _drop(con, name: str, kind: str | None, schema: str = "main") -> None:
    """Drop a relation of information_schema's `kind` ('VIEW' or a table; None: absent)."""
    if kind is not None:
        word = "view" if kind == "VIEW" else "table"
        con.execute(f'drop {word} if exists "{schema}"."{name}"')


def _apply_tables(con, plans: list[_MartPlan]) -> None:
    """Bring the new snapshot's tables to the build: replace a partitioned mart's changed
    days, rewrite a changed mart whole; a kept mart (or one taken from the build's file)
    is already right. A mart kept as a view is (re)defined after the tables it reads."""
    kinds = _relation_kinds(con)
    for plan in sorted(plans, key=lambda p: p.view_sql is not None):
        name = plan.mart.name
        if plan.action == "view":
            if kinds.get(name) != "VIEW":
                _drop(con, name, kinds.get(name))  # a table the snapshot had before
            con.execute(f'create or replace view main."{name}" as {plan.view_sql}')
        elif plan.action == "replace_days":
            where, params = _day_predicate(plan.changed_days, plan.partition)
            con.execute(f'delete from main."{name}" where {where}', params)
            con.execute(
                f'insert into main."{name}" select * from {plan.relation} where {where}',
                params,
            )
        elif plan.action == "rewrite":
            # A table, not a view over the Parquet files: a view would name their absolute
            # paths, and a copied or pruned snapshot would then read another folder or fail.
            if kinds.get(name) == "VIEW":
                _drop(con, name, "VIEW")
            con.execute(f'create or replace table main."{name}" as select * from {plan.relation}')


def _export_parquet(
    cursor, plans: list[_MartPlan], staging: Path, previous: Path | None, previous_run: dict,
    workers: int,
) -> dict[str, int]:  # fmt: skip
    """Every mart's Parquet export, read from the build's file (`plan.relation`, the rows
    the snapshot's table gets) on `cursor`, a cursor of its own: a partitioned mart as one
    file per day, any other as one file; a file whose rows the current snapshot `previous`
    already has (same columns, and the same fingerprint, of the day or the mart) is
    hard-linked from it. The files to write are written `workers` at a time (_write_all).
    Returns the days written and linked."""
    reuse = {"written": 0, "linked": 0}
    writes: list[_ParquetWrite] = []
    for plan in plans:
        if plan.mart.support:  # kept in the snapshot for a view or a reader: no mart of its own
            continue
        name = plan.mart.name
        old_print = previous_run.get("fingerprints", {}).get(name)
        same_columns = old_print is not None and old_print[0] == plan.signature
        if plan.prints:
            folder = staging / "marts" / name
            folder.mkdir(parents=True)
            previous_parts = previous_run.get("parts", {}).get(name, {}) if same_columns else {}
            for label, part in plan.prints.items():
                target = folder / f"{label}.parquet"
                old = previous / "marts" / name / target.name if previous else None
                if old is not None and previous_parts.get(label) == part and old.exists():
                    os.link(old, target)
                    reuse["linked"] += 1
                    continue
                where, params = _day_predicate([label], plan.partition)
                writes.append(
                    _ParquetWrite(
                        _parquet_copy(plan.relation, plan.mart, target, where),
                        params,
                        part[0] * plan.columns,
                    )
                )
                reuse["written"] += 1
            continue
        target = staging / "marts" / f"{name}.parquet"
        old_file = previous / "marts" / target.name if previous is not None else None
        if old_print == plan.fingerprint and old_file is not None and old_file.is_file():
            os.link(old_file, target)
            continue
        writes.append(
            _ParquetWrite(
                _parquet_copy(plan.relation, plan.mart, target), [], plan.rows * plan.columns
            )
        )
    _write_all(cursor, writes, workers)
    return reuse


def _attach_build(con, source: Path) -> None:
    """Attach the build's DuckDB file to `con` read-only as `built`, the catalog every
    plan's relation names."""
    con.execute(f"attach '{source}' as built (read_only)")


@contextmanager
def _build_reader(source: Path, limits: dict):
    """A DuckDB instance of its own (in memory, `limits`) with the build attached
    (_attach_build): the plan's, and the Parquet export's (a checkpoint of the snapshot's
    file does not wait for its transaction)."""
    with duckdb.connect(":memory:", config=limits) as con:
        _attach_build(con, source)
        yield con


def _export_from_build(
    source: Path, limits: dict, plans: list[_MartPlan], staging: Path, previous: Path | None,
    previous_run: dict, workers: int,
) -> dict[str, int]:  # fmt: skip
    """`_export_parquet` on a reader of the build's own (_build_reader)."""
    with _build_reader(source, limits) as con:
        return _export_parquet(con, plans, staging, previous, previous_run, workers)


def publish(
    settings: Settings,
    marts: list[Mart],
    run_id: str,
    metadata: dict | None = None,
    semantic_manifest: Path | None = None,
) -> PublishedSnapshot:
    """Write a new snapshot folder from the built warehouse, then swap CURRENT. The dbt
    semantic layer the marts were built with (semantic_manifest.json) goes into the folder
    too: readers compile the report's metrics from the definitions of their snapshot.

    Cost follows what changed, not the history. The new snapshot's DuckDB file starts as an
    expired snapshot's file (`_recycle`) or a copy of the current snapshot's, whose tables
    are brought to the build (judged against that snapshot's run.json): a mart whose rows
    did not change (same columns, row count and fingerprint) is kept, a partitioned mart has
    only its changed landing days replaced, any other changed mart is rewritten whole. When
    most rows changed (REWRITE_SHARE), or the current file is mostly free space, the file
    is written afresh instead."""
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
    previous, previous_run = _previous(root)
    # the same memory and thread limits as the dbt profile (DuckDB's default memory
    # limit is 80% of the machine)
    limits = {"memory_limit": settings.duckdb_memory_limit, "threads": settings.duckdb_threads}
    # The file the snapshot starts from, and the run.json its tables are judged against:
    # an expired snapshot's or a copy of the current one's (prepared while dbt built, or
    # now), else none (written afresh).
    prepared = _take_prepared(settings, previous)
    base_run = prepared.base_run if prepared is not None else previous_run
    copyable = prepared is not None or (
        previous is not None and (previous / DUCKDB_NAME).is_file() and _copyable(previous_run)
    )
    # Written afresh whatever the plan says (no current snapshot to start from): the reduced
    # copy of the build's file (mostly sequential I/O) runs while the plan fingerprints
    # the marts (CPU): at 10M events 8.7 s and 12.7 s one after the other.
    reducing = None if copyable else ThreadPoolExecutor(max_workers=1)
    reduced = reducing and reducing.submit(
        _reduce_build_copy, source, staging / DUCKDB_NAME, marts, limits
    )
    try:
        with _build_reader(source, limits) as con:
            plans, rewrites = _plan(con, marts, base_run)
        total_rows = sum(plan.rows for plan in plans)
        incremental = (
            copyable and sum(plan.rows_to_write for plan in plans) <= REWRITE_SHARE * total_rows
        )
        if incremental and prepared is not None and prepared.done.exception() is not None:
            _release(prepared)  # its copy failed: copied here (the same base, the same plan)
            prepared = None
        if incremental and prepared is not None:
            prepared.touched = True
            os.replace(prepared.path, staging / DUCKDB_NAME)
        elif incremental:
            shutil.copyfile(previous / DUCKDB_NAME, staging / DUCKDB_NAME)
        else:
            if prepared is not None:
                _release(prepared)
                prepared = None
            from_build = (
                reduced.result()
                if reduced is not None
                else _reduce_build_copy(source, staging / DUCKDB_NAME, marts, limits)
            )
            for plan in plans:
                if plan.mart.name in from_build:
                    plan.action = "from_build_file"
                else:
                    plan.action = "view" if plan.view_sql is not None else "rewrite"
        # The Parquet files are written from the build's file on a thread and a DuckDB
        # instance of their own while this one brings the snapshot's tables to the build and
        # checkpoints them: at 10M events the rewrite of rpt_session_costs (1M rows) and its
        # export took 1.8 s one after the other and 1.3 s side by side (docs/performance.md,
        # nineteenth round). On the snapshot's own instance (a cursor of it) the export's
        # open transaction held the snapshot's checkpoints back: at 10M the final one took
        # 0.35 s after the export (29 MB written) against 0.06-0.09 s now, during it (11 MB),
        # and a commit's automatic checkpoint waited up to 0.8 s for it (forty-first round).
        with ThreadPoolExecutor(max_workers=1) as exporting:
            exported = exporting.submit(
                _export_from_build,
                source,
                limits,
                plans,
                staging,
                previous,
                previous_run,
                settings.duckdb_threads,
            )
            try:
                with duckdb.connect(str(staging / DUCKDB_NAME), config=limits) as con:
                    inherited = _relation_kinds(con)
                    _attach_build(con, source)
                    _apply_tables(con, plans)
                    for name in sorted(set(inherited) - {plan.mart.name for plan in plans}):
                        _drop(con, name, inherited[name])  # a mart the project no longer has
                    con.execute("detach built")
                    con.execute("checkpoint")
                    free_share = _free_share(con)
            finally:
                exported.exception()  # wait: nothing may write into staging afterwards
            reuse = exported.result()
        parts = {plan.mart.name: plan.prints for plan in plans if plan.prints}  # day files
        actions = {"keep": 0, "replace_days": 0, "rewrite": 0, "view": 0, "from_build_file": 0}
        for plan in plans:
            actions[plan.action] += 1
        run = {
            "build_id": build_id,
            "run_id": run_id,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source_duckdb": str(source),
            "source_stamp": file_stamp(source),
            "marts": {plan.mart.name: plan.rows for plan in plans},
            "parts": parts,
            "fingerprints": {plan.mart.name: plan.fingerprint for plan in plans},
            "parquet_days": reuse,
            "fingerprinted_days": {
                plan.mart.name: [plan.hashed_days, len(plan.prints)]
                for plan in plans
                if plan.prints
            },
            "rewrites": rewrites,
            "tables": {
                "copied_from": base_run["build_id"] if incremental else None,
                "recycled": incremental and prepared is not None and prepared.recycled is not None,
                **actions,
            },
            "free_block_share": round(free_share, 4),
            **(metadata or {}),
        }
        (staging / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
        if semantic_manifest is not None and semantic_manifest.is_file():
            shutil.copyfile(semantic_manifest, staging / semantic_manifest.name)
        _fsync(staging / DUCKDB_NAME)
        fault_point(settings, "publish")
        os.replace(staging, folder)
    except BaseException:
        discard_prepared(root)
        if prepared is not None:
            _release(prepared)
        if reducing is not None:
            reducing.shutdown(wait=True)  # the copy must not write into staging afterwards
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if reducing is not None:
        reducing.shutdown(wait=True)
    _swap_pointer(root, build_id)
    doomed = {}
    if prepared is not None and prepared.recycled is not None:
        # the expired snapshot whose file the new one took: the rest of its folder goes
        doomed[prepared.base_run["build_id"]] = prepared.recycled
    pruned = _prunable(settings, datetime.now(UTC))
    doomed.update({name: root / name for name in pruned})
    _remove_later(root, doomed)
    removed = [*doomed]
    return PublishedSnapshot(
        build_id=build_id,
        folder=folder,
        duckdb_path=folder / DUCKDB_NAME,
        parquet_files={
            plan.mart.name: folder / "marts" / plan.mart.name
            if plan.prints
            else folder / "marts" / f"{plan.mart.name}.parquet"
            for plan in plans
            if not plan.mart.support
        },
        row_counts=run["marts"],
        removed=removed,
    )


def _swap_pointer(root: Path, build_id: str) -> None:
    """Point CURRENT and current.duckdb at `build_id` (each swapped with os.replace; a
    reader sees the old snapshot or the new one, never a missing file)."""
    link = root / f".{STABLE_NAME}.{os.getpid()}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(Path(build_id) / DUCKDB_NAME)
    os.replace(link, root / STABLE_NAME)
    tmp = root / f".{POINTER}.{os.getpid()}.tmp"
    tmp.write_text(build_id + "\n", encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, root / POINTER)


def stable_duckdb_path(settings: Settings) -> Path:
    """The path BI tools open read-only: a link to the current snapshot's DuckDB file."""
    return settings.published_dir / STABLE_NAME


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
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed


def fault_point(settings: Settings, name: str) -> None:
    """Test hook for the crash-recovery tests: when AIUSAGE_FAULT_POINT names this point,
    write `<AIUSAGE_FAULT_MARKER>` and wait there to be killed. Inert when the variable is
    unset (the default)."""
    if settings.fault_point != name:
        return
    import time

    if settings.fault_marker:
        Path(settings.fault_marker).write_text(f"{name} {os.getpid()}\n", encoding="utf-8")
    time.sleep(settings.fault_seconds)


def snapshots(settings: Settings) -> list[str]:
    """Published build ids, oldest first."""
    root = settings.published_dir
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and BUILD_ID.match(p.name))


def built_at(build_id: str) -> datetime:
    """When a snapshot was published (its build id starts with the UTC time)."""
    return datetime.strptime(build_id.split("Z-", 1)[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)


def _expired(
    settings: Settings, ids: list[str], current: str | None, now: datetime,
    upcoming: datetime | None = None,
) -> list[str]:  # fmt: skip
    """The snapshots of `ids` (oldest first) past the newest AIUSAGE_PUBLISH_KEEP, other than
    `current`, that stopped being current (the next one was published) at least
    AIUSAGE_PUBLISH_GRACE_SECONDS before `now`; with `upcoming`, as they will be once a
    snapshot published at that time has joined them (what the next publish's prune
    deletes)."""
    superseded = [built_at(build_id) for build_id in ids[1:]] + ([upcoming] if upcoming else [])
    past_keep = ids[: max(0, len(ids) + (upcoming is not None) - settings.publish_keep)]
    return [
        build_id
        for index, build_id in enumerate(past_keep)
        if build_id != current
        and (now - superseded[index]).total_seconds() >= settings.publish_grace
    ]


def _prunable(settings: Settings, now: datetime) -> list[str]:
    return _expired(settings, snapshots(settings), current_build_id(settings), now)


def prune(settings: Settings, now: datetime | None = None) -> list[str]:
    """Delete the snapshots past the newest AIUSAGE_PUBLISH_KEEP, except the current one and
    any that stopped being current (the next snapshot was published) less than
    AIUSAGE_PUBLISH_GRACE_SECONDS ago: a reader that opened it may still hold it. Each is
    gone from the published folder when this returns; its files are freed in the
    background (`_remove_later`)."""
    root = settings.published_dir
    doomed = _prunable(settings, now or datetime.now(UTC))
    _remove_later(root, {build_id: root / build_id for build_id in doomed})
    return doomed


# The process that deletes what `_remove_later` hands it: folders, each path's bytes ended by
# a NUL (no path holds one; a line feed or undecodable bytes would not survive lines of text).
_REMOVER = (
    "import shutil, sys\n"
    "for path in sys.stdin.buffer.read().split(b'\\0')[:-1]:\n"
    "    shutil.rmtree(path, ignore_errors=True)\n"
)
_REMOVERS: list[subprocess.Popen] = []


def _remove_later(root: Path, folders: dict[str, Path]) -> None:
    """Delete `folders` ({snapshot build id: its folder}, nobody opens them by name any
    more) without waiting for the file system to free their blocks: each is renamed at once
    to `.removing-<build_id>.<pid>.tmp`, `<pid>` that of a process started for them in a
    session of its own (it outlives the refresh and ignores a Ctrl-C aimed at it), which
    deletes them. Should it die first, the next publish deletes what is left
    (`remove_stale_temporaries`: its process is gone); should it not start, they are
    deleted here. `wait_for_removals` waits for this process's removers."""
    folders = {name: path for name, path in folders.items() if path.exists()}
    if not folders:
        return
    try:
        remover = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _REMOVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        for path in folders.values():
            shutil.rmtree(path, ignore_errors=True)
        return
    aside = []
    for name, path in folders.items():
        target = root / f".removing-{name}.{remover.pid}.tmp"
        try:
            os.rename(path, target)
        except OSError:  # gone meanwhile (another publisher's prune)
            continue
        aside.append(target)
    try:
        remover.stdin.write(b"".join(os.fsencode(path) + b"\0" for path in aside))
        remover.stdin.close()
    except OSError:  # it left: deleted here
        for path in aside:
            shutil.rmtree(path, ignore_errors=True)
    # the removers that finished are reaped (a long-lived process publishes many times)
    _REMOVERS[:] = [other for other in _REMOVERS if other.poll() is None] + [remover]


def wait_for_removals(timeout: float | None = 60) -> None:
    """Wait until the folders this process handed to `_remove_later` are deleted."""
    while _REMOVERS:
        _REMOVERS.pop().wait(timeout)
