"""Benchmarks of the warehouse on generated data (not part of the test suite).

    python bench/bench.py --events-per-day 11111 --days 90 --repeats 3

For each size it generates 90 days of events once (cached under bench/.cache/), then
measures, each as the median of repeated runs (the runs' range beside it; each run in the
JSON), wall time and peak RSS (sampled every 50 ms from /proc) of the largest process, issue
16's measure, and of the whole process tree:

- the fixed overhead: a full refresh of a nearly empty landing (one day of 100 events);
- full build from an empty warehouse (`aiusage build` into a new DuckDB file);
- incremental refresh after landing one more day, in a schedule's steady state (one
  refresh after the full build, so the measured one starts its snapshot from an expired
  snapshot's file; warehouse and snapshots put back between repeats);
- a refresh with no new data;
- report generation over the marts (`aiusage report --last-days 30`, in-process);
- the floor: one hand-written DuckDB statement computing the priced daily mart straight
  from the landing files;
- the seed-000 approach: the requests in an indexed SQLite table, and its four report
  queries (cost by team, by workflow, model efficiency, daily trend) over 30 days.

Prints a Markdown table and each target of issue 8 with PASS / MISS; the README quotes
them with the command and the machine.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import psutil

from aiusage.settings import Settings, staging_duckdb_path
from aiusage.snapshot import snapshots

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
END_DATE = date(2026, 11, 20)
# Size of the new day in the history-independence measure (the 1M size's daily volume).
FIXED_DAY_EVENTS = 11112
# Disk a size needs (required_disk): landed JSON bytes per generated event (the 90-day 1M
# and 10M data: 766 MB and 7.52 GB), and what the run adds, relative to the landed bytes
# (10M: warehouse 4.1 GB, two snapshots 8.1 GB; DuckDB's spill during the build, up to
# 7.5 GB, is gone before the snapshots are written).
LANDED_BYTES_PER_EVENT = 770
LANDED_TO_BUILD = 1.7
# Issue 16's memory targets are in GB, 10^9 bytes (3 GB for the 10M full build, 4 GB for
# the 100M run of `make bench-100m`); the bench prints GiB beside them. Until the
# thirty-first round it judged 3 x 2^30 bytes (3.22 GB) and printed GiB as "GB".
GB = 10**9
RSS_LIMIT = 3 * GB
SCALE_RSS_LIMIT = 4 * GB
AIUSAGE = str(Path(sys.executable).with_name("aiusage"))
# `--refresh-server`: every `aiusage build` is served by this `aiusage refresh-server`, and
# its peak RSS is that of the server's process tree (where the refresh runs)
REFRESH_SERVER: subprocess.Popen | None = None


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Linux lists each thread's children in /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN)
PROC_CHILDREN = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


def _proc_tree_rss(pid: int) -> list[int]:
    """The RSS (bytes) of `pid` and of each of its descendants, found through the children
    lists of every thread of every process of the tree (a process forked from a thread is
    listed by that thread only), each read from /proc/<pid>/statm (psutil's source). A
    process that ends while it is read is left out."""
    pids = [pid]
    sizes = []
    for parent in pids:  # grows as the children are found: the tree, breadth first
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
            with open(f"/proc/{parent}/statm") as statm:
                sizes.append(int(statm.read().split()[1]) * PAGE_SIZE)
        except (FileNotFoundError, ProcessLookupError):
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    pids.extend(int(child) for child in children.read().split())
            except (FileNotFoundError, ProcessLookupError):
                continue
    return sizes


def _psutil_tree_rss(pid: int) -> list[int]:
    """_proc_tree_rss through psutil, where the kernel lists no children per thread: a
    map of every process's parent each time: 1.1 ms of CPU a sample against 0.1 ms, and
    with the sampler's thread 3.4-4.5 % of a core at 20 samples a second against 0.8 %
    (docs/performance.md, forty-eighth round)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    sizes = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            sizes.append(proc.memory_info().rss)
    return sizes


class PeakRss:
    """Samples the RSS of a process and all its descendants every 50 ms: the peak of the
    largest one (`largest`) and of their sum (`peak`; a forked process counts the pages it
    shares with its parent again). The sampler runs beside what it measures, so it reads
    /proc directly (_proc_tree_rss) where it can."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        tree_rss = _proc_tree_rss if PROC_CHILDREN else _psutil_tree_rss
        while not self._stop.is_set():
            sizes = tree_rss(self.pid)
            if not sizes:
                return  # the process is gone
            self.peak = max(self.peak, sum(sizes))
            self.largest = max(self.largest, *sizes)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# A measure: wall seconds, peak RSS of the largest process, peak RSS of the process tree.
Sample = tuple[float, int, int]


def run_command(args: list[str], env: dict[str, str]) -> Sample:
    """Wall seconds and peak RSS (bytes) of a subprocess; raises on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    served = REFRESH_SERVER is not None and args[1:2] == ["build"]
    with PeakRss(REFRESH_SERVER.pid if served else proc.pid) as rss:
        output, _ = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{output.decode()[-3000:]}")
    if served and REFRESH_SERVER.poll() is not None:
        # a server whose installed code changed leaves, and the refresh ran in its caller:
        # its time is not a served one, and its RSS was not sampled
        raise RuntimeError(
            "aiusage refresh-server left during the bench (the aiusage or orchestration "
            "code changed?): the measures would mix served and unserved refreshes"
        )
    return elapsed, rss.largest, rss.peak


def run_inprocess(fn) -> Sample:
    start = time.perf_counter()
    with PeakRss(os.getpid()) as rss:
        fn()
    return time.perf_counter() - start, rss.largest, rss.peak


def rss_cell(largest: int, tree: int) -> str:
    """Peak RSS in MiB: the largest process, and the process tree in brackets."""
    return f"{largest / 2**20:,.0f} ({tree / 2**20:,.0f})"


class Measure(tuple):
    """A measure of repeated runs, a Sample (the median wall time, the peak RSS of the
    largest process and of the tree over the runs) that keeps each run's wall time in
    `walls`, in the order they ran: the table prints their range beside the median and the
    JSON lists them, since on a shared machine the runs of one measure can differ by more
    than a change does (docs/performance.md, fifty-second round)."""

    walls: tuple[float, ...]

    def __new__(cls, wall: float, largest: int, tree: int, walls=()):
        measure = super().__new__(cls, (wall, largest, tree))
        measure.walls = tuple(walls)
        return measure


def median_of(samples: list[Sample]) -> Measure:
    return Measure(
        statistics.median(s[0] for s in samples),
        max(s[1] for s in samples),
        max(s[2] for s in samples),
        [s[0] for s in samples],
    )


def walls_of(measure: Sample) -> tuple[float, ...]:
    """Each run's wall time of a measure (none for a single Sample)."""
    return getattr(measure, "walls", ())


def wall_cell(measure: Sample) -> str:
    """A measure's wall seconds for the table: the median, and the runs' range beside it
    when there was more than one run."""
    walls = walls_of(measure)
    spread = f" ({min(walls):.2f}-{max(walls):.2f})" if len(walls) > 1 else ""
    return f"{measure[0]:.2f}{spread}"


def runs_note(measure: Sample) -> str:
    """A measure's runs for a verdict line, each run's wall time in the order they ran
    (nothing for a single run)."""
    walls = walls_of(measure)
    return f" (runs {', '.join(f'{w:.1f}' for w in walls)})" if len(walls) > 1 else ""


def results_json(overhead: Sample, all_results: dict) -> dict:
    """What `--json` writes: each measure as (median wall, peak RSS of the largest process,
    of the tree), and each run's wall time beside it (`overhead_runs`, each size's `runs`)."""
    return {
        "overhead": overhead,
        "overhead_runs": walls_of(overhead),
        **{
            str(per_day): {
                "events": size["events"],
                "results": size["results"],
                "runs": {name: walls_of(m) for name, m in size["results"].items()},
            }
            for per_day, size in all_results.items()
        },
    }


def dataset(days: int, per_day: int) -> Path:
    """Generated landing folder for this size, cached between runs."""
    folder = CACHE / f"{days}d_{per_day}"
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        env = {"AIUSAGE_LANDING_DIR": str(folder / "landing")}
        run_command(
            [
                AIUSAGE,
                "generate",
                "--days",
                str(days),
                "--events-per-day",
                str(per_day),
                "--seed",
                "42",
                "--end-date",
                str(END_DATE),
                "--no-progress",
            ],
            env,
        )
        marker.write_text("ok")
    return folder / "landing"


def floor_query(landing: Path) -> str:
    """The floor of issue 16, exactly: DuckDB's own JSON reader over the landing files (bad
    lines skipped without a word), left-joined to the price seed on provider, model and
    validity window and to the service-tier multipliers, grouped by day, team, provider
    and model into requests, input and output tokens and cost. Run at DuckDB's defaults."""
    prices = ROOT / "seeds" / "model_prices.csv"
    tiers = ROOT / "seeds" / "service_tier_multipliers.csv"
    return f"""
    create or replace table floor_daily as
    select
        cast(ev.occurred_at as date) as usage_date,
        ev.team,
        ev.provider,
        ev.model,
        count(*) as requests,
        sum(ev.input_tokens) as input_tokens,
        sum(ev.output_tokens) as output_tokens,
        sum(
            (ev.input_tokens * p.input_usd_per_mtok + ev.output_tokens * p.output_usd_per_mtok)
            / 1e6 * coalesce(t.multiplier, 1)
        ) as cost_usd
    from read_json_auto('{landing}/events/*/*', format = 'newline_delimited',
                        ignore_errors = true, union_by_name = true) as ev
    left join read_csv_auto('{prices}') as p
        on ev.provider = p.provider and ev.model = p.model
        and cast(ev.occurred_at as timestamp) >= cast(p.valid_from as timestamp)
        and (p.valid_to is null
             or cast(ev.occurred_at as timestamp) < cast(p.valid_to as timestamp))
    left join read_csv_auto('{tiers}') as t
        on ev.provider = t.provider and coalesce(ev.service_tier, 'standard') = t.service_tier
    group by all
    """


def run_floor(landing: Path, work: Path) -> None:
    """The floor statement over `landing`, into a DuckDB file of `work`, at DuckDB's defaults."""
    con = duckdb.connect(str(work / "floor.duckdb"))
    con.execute(floor_query(landing))
    con.close()


SEED000_QUERIES = {
    "cost_by_team": """
        SELECT team, SUM(cost_usd) as total_cost, COUNT(*) as requests,
               SUM(input_tokens + output_tokens) as tokens, AVG(quality_score) as avg_quality
        FROM ai_usage WHERE ts >= datetime(?, '-30 days') GROUP BY team ORDER BY total_cost DESC""",
    "cost_by_workflow": """
        SELECT workflow, task_type, model, SUM(cost_usd) as total_cost, COUNT(*) as requests,
               AVG(cost_usd), AVG(latency_ms), AVG(quality_score),
               SUM(CASE WHEN passed_quality THEN 1 ELSE 0 END) * 1.0 / COUNT(*)
        FROM ai_usage WHERE ts >= datetime(?, '-30 days')
        GROUP BY workflow, task_type, model ORDER BY total_cost DESC""",
    "model_efficiency": """
        SELECT model, SUM(cost_usd), AVG(cost_usd), AVG(latency_ms), AVG(quality_score), COUNT(*)
        FROM ai_usage WHERE ts >= datetime(?, '-30 days') AND quality_score IS NOT NULL
        GROUP BY model ORDER BY 5 DESC, 3""",
    "daily_trend": """
        SELECT DATE(ts), SUM(cost_usd), COUNT(*), COUNT(DISTINCT team)
        FROM ai_usage WHERE ts >= datetime(?, '-30 days') GROUP BY DATE(ts) ORDER BY 1""",
}


def build_sqlite(warehouse: Path, target: Path) -> None:
    """The seed-000 schema, filled from the request fact, with its four indexes."""
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        """select strftime(occurred_at, '%Y-%m-%d %H:%M:%S'), provider, model,
                  coalesce(team, ''), coalesce(task_type, ''), workflow, input_tokens,
                  output_tokens, cast(coalesce(total_cost_usd, 0) as double), latency_ms,
                  quality_score, passed_quality, request_id, session_id
           from fct_llm_requests"""
    ).fetchall()
    con.close()
    lite = sqlite3.connect(target)
    lite.executescript(
        """CREATE TABLE ai_usage (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL,
           provider TEXT NOT NULL, model TEXT NOT NULL, team TEXT NOT NULL,
           task_type TEXT NOT NULL, workflow TEXT, input_tokens INTEGER DEFAULT 0,
           output_tokens INTEGER DEFAULT 0, cost_usd REAL NOT NULL, latency_ms INTEGER,
           quality_score REAL, passed_quality INTEGER, request_id TEXT, session_id TEXT);"""
    )
    lite.executemany(
        "INSERT INTO ai_usage (ts, provider, model, team, task_type, workflow, input_tokens,"
        " output_tokens, cost_usd, latency_ms, quality_score, passed_quality, request_id,"
        " session_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    lite.executescript(
        """CREATE INDEX idx_ts ON ai_usage(ts); CREATE INDEX idx_team ON ai_usage(team);
           CREATE INDEX idx_workflow ON ai_usage(workflow);
           CREATE INDEX idx_model ON ai_usage(model);"""
    )
    lite.commit()
    lite.close()


def generate_day(env: dict[str, str], per_day: int, day: date, seed: int) -> None:
    run_command(
        [
            AIUSAGE,
            "generate",
            "--days",
            "1",
            "--events-per-day",
            str(per_day),
            "--seed",
            str(seed),
            "--end-date",
            str(day),
            "--no-progress",
            "--no-planted",  # exactly per_day events a day
        ],
        env,
    )


def parse_project(env: dict[str, str]) -> None:
    """Untimed: parse the dbt project for this environment, as a deployment does once.

    dbt re-parses the whole project (8-20 s) when the profile or an env_var of a yml file
    changes (the DuckDB path, the landing folder); a deployment keeps them, so the timed
    builds start from a parsed project. Each size has its own target folder, and one
    DuckDB path for all its builds."""
    code = (
        "from aiusage.project import ensure_manifest; from aiusage.settings import Settings; "
        "ensure_manifest(Settings.from_env())"
    )
    run_command([sys.executable, "-c", code], env)


def fixed_overhead(repeats: int, work: Path) -> Sample:
    """A full refresh of a nearly empty landing (one day of 100 events): what a refresh costs
    whatever the data (Python and Dagster start-up, the one dbt invocation, checks, publish)."""
    landing = work / "tiny_landing"
    shutil.rmtree(landing, ignore_errors=True)
    env = {
        "AIUSAGE_LANDING_DIR": str(landing),
        "DBT_TARGET_PATH": str(work / "target"),
        "AIUSAGE_PUBLISHED_DIR": str(work / "tiny_published"),
    }
    generate_day(env, 100, END_DATE, 7)
    db = work / "tiny.duckdb"
    env["AIUSAGE_DUCKDB_PATH"] = str(db)
    parse_project(env)
    # each from nothing: the staging file too (it used to survive the repeats after the
    # first, which then found every landed line already parsed)
    return median_of([build_from_nothing(env) for _ in range(repeats)])


def link_landing(landing_src: Path, work: Path) -> Path:
    """The run's own landing folder, where the extra day can be added: the cached files
    hard-linked, not copied (a refresh never writes a landed file; at 100M events a copy
    would double ~70 GB)."""
    landing = work / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    shutil.copytree(landing_src, landing, copy_function=os.link)
    return landing


def required_disk(days: int, per_day: int) -> int:
    """Bytes a size still needs on the disk of bench/.cache: its landed JSON (measured per
    event on the 1M and 10M data) unless it is cached already, and the warehouse, the
    published snapshots and DuckDB's spill (LANDED_TO_BUILD of the landed bytes)."""
    landed = days * per_day * LANDED_BYTES_PER_EVENT
    cached = (CACHE / f"{days}d_{per_day}" / ".complete").exists()
    return int(landed * (LANDED_TO_BUILD + (0 if cached else 1)))


def ensure_disk(days: int, per_day: int) -> None:
    """Stop before generating anything when the disk cannot hold the run."""
    need = required_disk(days, per_day)
    free = shutil.disk_usage(CACHE).free
    if free < need:
        raise SystemExit(
            f"{days} days of {per_day:,} events need about {need / 2**30:.0f} GiB on the disk "
            f"of {CACHE} (landed JSON {LANDED_BYTES_PER_EVENT} bytes an event, then the "
            f"warehouse and its snapshot); {free / 2**30:.0f} GiB are free. Free space or "
            "point bench/.cache at a larger disk (a symbolic link)."
        )


def size_env(days: int, per_day: int, work: Path) -> dict[str, str]:
    """A size's run: its landing folder (the cached data, linked), warehouse, snapshots and
    dbt target under `work`, the project parsed for them."""
    link_landing(dataset(days, per_day), work)
    return work_env(work)


def work_env(work: Path) -> dict[str, str]:
    """The environment of a size's run in `work` (size_env), on the landing folder as it is
    there, the project parsed for it."""
    env = {
        "AIUSAGE_LANDING_DIR": str(work / "landing"),
        "DBT_TARGET_PATH": str(work / "target"),
        "AIUSAGE_PUBLISHED_DIR": str(work / "published"),
        "AIUSAGE_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        # the steady state of a schedule: the snapshot before the current one is past its
        # retention by the next refresh, which takes its file (bench_size)
        "AIUSAGE_PUBLISH_KEEP": "2",
        "AIUSAGE_PUBLISH_GRACE_SECONDS": "0",
    }
    parse_project(env)
    return env


def remove_warehouse(warehouse: Path) -> None:
    """Delete a warehouse's DuckDB file and its staging file, each with its WAL."""
    for path in (warehouse, staging_duckdb_path(warehouse)):
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".wal").unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_folder(path: Path):
    """`path` as a new empty folder for the block, removed after it."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def build_from_nothing(env: dict[str, str]) -> Sample:
    """A full build: no warehouse, and no earlier snapshot whose files publish could reuse."""
    remove_warehouse(Path(env["AIUSAGE_DUCKDB_PATH"]))
    shutil.rmtree(env["AIUSAGE_PUBLISHED_DIR"], ignore_errors=True)
    return run_command([AIUSAGE, "build", "--quiet"], env)


def events_built(env: dict[str, str]) -> int:
    with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
        return con.execute("select count(*) from fct_llm_requests").fetchone()[0]


def scale_run(days: int, per_day: int, work: Path) -> dict:
    """`make bench-100m`: wall time and peak RSS of the full build and of one new day of
    FIXED_DAY_EVENTS events on that history, once each (no repeats, no queries)."""
    env = size_env(days, per_day, work)
    results = {"full build": build_from_nothing(env)}
    events = events_built(env)  # the history the new day lands on
    generate_day(env, FIXED_DAY_EVENTS, END_DATE + timedelta(days=1), 43)
    results[f"incremental refresh (+{FIXED_DAY_EVENTS:,} events)"] = run_command(
        [AIUSAGE, "build", "--quiet"], env
    )
    return {"events": events, "results": results}


def keep_snapshot(source: Path, target: Path) -> None:
    """A copy of a snapshot folder to put back between repeats, as a schedule leaves it on
    disk: a Parquet file that a later snapshot shares (linked to it by publish: a day that
    did not change) hard-linked, every other file copied (publish writes into the expired
    snapshot's DuckDB file it takes). Deleting the expired snapshot then frees what a
    schedule frees: the files it alone has. Copies of every Parquet file made the measured
    10M new day delete 1.6 GB in 1,022 files (about 1 s) where a schedule frees 55 MiB in 28
    (docs/performance.md, thirty-first round)."""

    def keep(src: str, dst: str) -> None:
        if src.endswith(".parquet") and os.stat(src).st_nlink > 1:
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=keep)


class NewDayBase:
    """The state a measured new day starts from, in a refresh schedule's steady state: one
    refresh (a day of FIXED_DAY_EVENTS events) follows the full build, so the full build's
    snapshot is the one before the current, past the retention (KEEP 2, grace 0) by the
    measured refresh, which starts its snapshot from that file. `save` keeps it in the size's
    work folder (the warehouse and its staging file, the older snapshot, the two build ids);
    `restore` puts it back before each measured day, with that day's landing."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.env = env
        self.settings = Settings.from_env(env)
        self.published = self.settings.published_dir
        warehouse = self.settings.duckdb_path
        base = work / "base.duckdb"
        self.saved = {warehouse: base, staging_duckdb_path(warehouse): staging_duckdb_path(base)}
        self.older_copy = work / "base_older_snapshot"
        self.ids = work / "base_snapshots.json"
        self.extra_day = self.settings.landing_dir / "events" / f"dt={END_DATE + timedelta(days=2)}"

    @property
    def before(self) -> Path:
        """The saved warehouse (its staging file beside it: staging_duckdb_path)."""
        return self.saved[self.settings.duckdb_path]

    def save(self) -> None:
        older, base_build = snapshots(self.settings)
        for path, copy in self.saved.items():
            shutil.copy2(path, copy)
        shutil.rmtree(self.older_copy, ignore_errors=True)
        keep_snapshot(self.published / older, self.older_copy)
        self.ids.write_text(json.dumps([older, base_build]), encoding="utf-8")

    def restore(self, events: int) -> None:
        if not self.ids.exists():
            raise RuntimeError(
                f"no saved new day state in {self.ids.parent}: run the benchmark first"
            )
        older, base_build = json.loads(self.ids.read_text(encoding="utf-8"))
        # copy2 keeps the modification time: the warehouse is the one the current snapshot
        # was published from, as after a real refresh (a new stamp would make the refresh
        # plan see a warehouse changed after its publish, and rebuild more)
        remove_warehouse(self.settings.duckdb_path)
        for path, copy in self.saved.items():
            shutil.copy2(copy, path)
        for build_id in snapshots(self.settings):
            if build_id not in (older, base_build):
                shutil.rmtree(self.published / build_id)
        if not (self.published / older).exists():
            keep_snapshot(self.older_copy, self.published / older)
        (self.published / "CURRENT").write_text(base_build, encoding="utf-8")
        shutil.rmtree(self.extra_day, ignore_errors=True)
        generate_day(self.env, events, END_DATE + timedelta(days=2), 43)
        # The restores above leave GBs of dirty pages (at 10M events the warehouse and the
        # older snapshot, 2.4 GB each), which the refresh would otherwise write out on its
        # clock: a sync here took ~1 s at 10M, and without it one DuckDB checkpoint in
        # publish took 0.95 s against 0.07 s (docs/performance.md, twenty-sixth round).
        # Written before, untimed.
        os.sync()


def bench_size(days: int, per_day: int, repeats: int, full_repeats: int, work: Path) -> dict:
    results: dict[str, Sample] = {}
    env = size_env(days, per_day, work)
    results["full build"] = median_of([build_from_nothing(env) for _ in range(full_repeats)])

    noop = [run_command([AIUSAGE, "build", "--quiet"], env) for _ in range(repeats)]
    results["no-op refresh"] = median_of(noop)

    # One more landing day, then the incremental refresh, from NewDayBase's state, put back
    # between repeats. Measured with a day of ~1/days of the data (the 15% target) and
    # with a day of FIXED_DAY_EVENTS whatever the history (the same new data on a 1M and a
    # 10M history: the 1.3x target).
    generate_day(env, FIXED_DAY_EVENTS, END_DATE + timedelta(days=1), 44)
    run_command([AIUSAGE, "build", "--quiet"], env)
    base = NewDayBase(work, env)
    base.save()

    def incremental(events: int) -> Sample:
        samples = []
        for _ in range(repeats):
            base.restore(events)
            samples.append(run_command([AIUSAGE, "build", "--quiet"], env))
        return median_of(samples)

    results["incremental refresh (+1 day)"] = incremental(per_day)
    results[f"incremental refresh (+{FIXED_DAY_EVENTS:,} events)"] = (
        results["incremental refresh (+1 day)"]
        if per_day == FIXED_DAY_EVENTS
        else incremental(FIXED_DAY_EVENTS)
    )

    results.update(query_measures(work, env, repeats))
    return {"events": events_built(env), "results": results}


API_ROUTES = (
    "/api/v1/teams/{team}/usage",
    "/api/v1/report",
    "/api/v1/models",
    "/api/v1/dashboard",
)


def api_queries(snapshot: Path, work: Path, repeats: int) -> Sample:
    """The API's main routes (API_ROUTES, 30 days, admin token) in-process through
    FastAPI's TestClient: each repeat a new app, so its answer cache is empty and every
    route runs its queries on the published snapshot."""
    from fastapi.testclient import TestClient

    from aiusage.api.app import create_app
    from aiusage.api.tokens import create_token
    from aiusage.delivery.state import connect_state

    state = work / "api_state.sqlite"
    state.unlink(missing_ok=True)
    con = connect_state(state)
    token = create_token(con, team=None, is_admin=True, label="bench")
    con.close()
    with duckdb.connect(str(snapshot), read_only=True) as con:
        (team,) = con.execute(
            "select team from fct_daily_usage group by team order by sum(requests) desc limit 1"
        ).fetchone()
    headers = {"Authorization": f"Bearer {token}"}
    params = {"days": 30, "end_date": END_DATE.isoformat()}
    samples = []
    for _ in range(repeats):
        app = create_app(snapshot, state, rate_limit_per_minute=10**6, hold_open=True)
        with TestClient(app) as client:
            assert client.get("/health").status_code == 200
            start = time.perf_counter()
            for route in API_ROUTES:
                answer = client.get(route.format(team=team), params=params, headers=headers)
                assert answer.status_code == 200, (route, answer.text[:300])
            rss = psutil.Process().memory_info().rss
            samples.append((time.perf_counter() - start, rss, rss))
    return median_of(samples)


def query_measures(work: Path, env: dict[str, str], repeats: int) -> dict:
    """Report, API routes, the floor and the seed-000 queries over one size's warehouse,
    in this process with the size's environment (its dbt target folder holds the semantic
    layer the report reads, as for `aiusage report` run with that environment)."""
    from unittest import mock

    with mock.patch.dict(os.environ, env):
        return _query_measures(work, env, repeats)


def _query_measures(work: Path, env: dict[str, str], repeats: int) -> dict:
    from aiusage.reporting.build import build_report
    from aiusage.reporting.period import ReportWindow
    from aiusage.settings import Settings
    from aiusage.snapshot import reader_duckdb_path

    warehouse = Path(env["AIUSAGE_DUCKDB_PATH"])
    landing = Path(env["AIUSAGE_LANDING_DIR"])
    results: dict[str, Sample] = {}
    window = ReportWindow.last_days(30, END_DATE)
    report = [run_inprocess(lambda: build_report(warehouse, window)) for _ in range(repeats)]
    results["report (30 days)"] = median_of(report)
    snapshot = reader_duckdb_path(Settings.from_env({**os.environ, **env}))
    results[f"API: {len(API_ROUTES)} main routes (30 days)"] = api_queries(snapshot, work, repeats)

    results["floor: one DuckDB statement"] = median_of(
        [run_inprocess(lambda: run_floor(landing, work)) for _ in range(repeats)]
    )

    lite = work / "seed000.sqlite"
    build_sqlite(warehouse, lite)

    def seed000():
        con = sqlite3.connect(lite)
        for sql in SEED000_QUERIES.values():
            con.execute(sql, (f"{END_DATE} 23:59:59",)).fetchall()
        con.close()

    results["seed-000: 4 SQLite queries (30 days)"] = median_of(
        [run_inprocess(seed000) for _ in range(repeats)]
    )
    return results


def gb(size: int) -> str:
    """Bytes as GB (10^9, the unit of issue 16's targets) and GiB."""
    return f"{size / GB:.2f} GB = {size / 2**30:.2f} GiB"


def full_build_target(floor: float) -> float:
    """Issue 16's full build target: 3 x the floor + 10 s."""
    return 3 * floor + 10


# Issue 16's new day targets: at most 15 s, and at most 10 % of the full build.
NEW_DAY_SECONDS = 15
NEW_DAY_SHARE = 0.1


def require_warehouse(warehouse: Path) -> Path:
    """The warehouse an earlier run left (the modes that measure on it, without a build)."""
    if not warehouse.exists():
        raise SystemExit(f"no warehouse in {warehouse.parent}: run the full benchmark first")
    return warehouse


def verdicts(all_results: dict, overhead: float) -> list[str]:
    """Each target of issue 16, with the measured figures and PASS / MISS."""
    key = f"incremental refresh (+{FIXED_DAY_EVENTS:,} events)"
    lines = [f"- fixed overhead {overhead:.1f} s <= 10 s: {'PASS' if overhead <= 10 else 'MISS'}"]
    sizes = list(all_results.values())
    for r in sizes:
        res = r["results"]
        full, full_rss, full_tree = res["full build"]
        floor = res["floor: one DuckDB statement"][0]
        day = res[key][0]
        noop = res["no-op refresh"][0]
        checks = [
            (
                f"full build {full:.0f} s <= 3 x floor {floor:.1f} s + 10 s",
                full <= full_build_target(floor),
            ),
            (f"one new day {day:.1f} s <= {NEW_DAY_SECONDS} s", day <= NEW_DAY_SECONDS),
            (
                f"one new day = {day / full:.0%} of the full build <= {NEW_DAY_SHARE:.0%}",
                day <= NEW_DAY_SHARE * full,
            ),
            (f"no-op refresh {noop:.1f} s <= 5 s", noop <= 5),
        ]
        if r is sizes[-1] and len(sizes) > 1:
            peak = (
                f"peak RSS of the full build's largest process {gb(full_rss)} "
                f"(process tree {gb(full_tree)}) <= {RSS_LIMIT / GB:.0f} GB"
            )
            checks.append((peak, full_rss <= RSS_LIMIT))
        for text, ok in checks:
            lines.append(f"- {r['events']:,} events: {text}: {'PASS' if ok else 'MISS'}")
    if len(sizes) >= 2:
        small_day = sizes[0]["results"][key]
        large_day = sizes[-1]["results"][key]
        small, large = small_day[0], large_day[0]
        lines.append(
            f"- the same new day ({FIXED_DAY_EVENTS:,} events) on a history of "
            f"{sizes[-1]['events']:,} events: {large:.1f} s{runs_note(large_day)}, on "
            f"{sizes[0]['events']:,}: {small:.1f} s{runs_note(small_day)}: {large / small:.2f}x "
            f"<= 1.3x: {'PASS' if large <= 1.3 * small else 'MISS'}"
        )
    return lines


def scale_runs(args) -> None:
    """The 100M-event run of issue 16: wall time and peak RSS, PASS when the full build
    completes within SCALE_RSS_LIMIT."""
    CACHE.mkdir(parents=True, exist_ok=True)
    sizes = [int(x) for x in args.events_per_day.split(",")]
    for per_day in sizes:
        ensure_disk(args.days, per_day)
    print(
        "| measure | events | wall s | peak RSS MiB: largest process (process tree) |\n"
        "|---|---|---|---|"
    )
    lines = []
    for per_day in sizes:
        work = CACHE / f"work_{args.days}d_{per_day}"
        work.mkdir(parents=True, exist_ok=True)
        run = scale_run(args.days, per_day, work)
        for name, (wall, rss, tree) in run["results"].items():
            print(f"| {name} | {run['events']:,} | {wall:.1f} | {rss_cell(rss, tree)} |")
        _, peak, tree = run["results"]["full build"]
        ok = peak <= SCALE_RSS_LIMIT
        lines.append(
            f"- {run['events']:,} events: the full build completes, peak RSS of its largest "
            f"process {gb(peak)} (process tree {gb(tree)}) <= "
            f"{SCALE_RSS_LIMIT / GB:.0f} GB: {'PASS' if ok else 'MISS'}"
        )
    print("\n" + "\n".join(lines))


def queries_only(args) -> None:
    print("| measure | wall s / peak RSS MiB |\n|---|---|")
    for per_day in [int(x) for x in args.events_per_day.split(",")]:
        work = CACHE / f"work_{args.days}d_{per_day}"
        env = {
            "AIUSAGE_LANDING_DIR": str(work / "landing"),
            "AIUSAGE_DUCKDB_PATH": str(work / "warehouse.duckdb"),
            "AIUSAGE_PUBLISHED_DIR": str(work / "published"),
            "DBT_TARGET_PATH": str(work / "target"),
        }
        require_warehouse(Path(env["AIUSAGE_DUCKDB_PATH"]))
        with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
            (events,) = con.execute("select count(*) from fct_llm_requests").fetchone()
        print(f"| **{events:,} requests** | |")
        for name, (wall, rss, _) in query_measures(work, env, args.repeats).items():
            print(f"| {name} | {wall:.3f} / {rss / 2**20:.0f} |")


# The parts of a full build that issue 16's design cannot do without (`--lower-bound`): the
# landed lines read once, the request fact stored once as a DuckDB table (the warehouse's or
# the snapshot's: DESIGN.md's read-only DuckDB snapshot holds every mart as a table) and the
# two facts that hold the history exported once as Parquet (DESIGN.md: Parquet per mart).
LOWER_BOUND_PARTS = (
    "read: every landed event line, DuckDB's typed JSON reader",
    "store: the request fact written once into a DuckDB file",
    "export: the request fact as Parquet",
    "export: the landed-row fact as Parquet",
)


def lower_bound_parts(warehouse: Path, landing: Path, scratch: Path, limits: dict) -> dict:
    """{part: (wall s, CPU s, rows)} of LOWER_BOUND_PARTS, each alone in this process at the
    warehouse's DuckDB limits, on the landing and the facts a build left. Each part is less
    than the build does: the reader gives a row for every line with content but numbers
    none and names no reason for a bad one (staging keeps both, for the quarantine), and
    converts nothing from text; the table is copied from the built one (no
    parsing, pricing or deduplication), the Parquet files are unsorted and whole (publish
    sorts each day's file by key). What they write goes into `scratch`, removed after."""
    from aiusage.snapshot import PARQUET_OPTIONS
    from aiusage_tracking.contract import record_fields

    fields = record_fields()
    columns = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in fields) + "}"
    counts = ", ".join(f'count("{name}")' for name in fields)
    day = f"landing_date <= date '{END_DATE}'"  # the generated days (a run adds two more)
    statements = {
        LOWER_BOUND_PARTS[0]: [
            f"""select count(*), {counts}
                from read_json('{landing}/events/*/*', format = 'newline_delimited',
                               columns = {columns}, ignore_errors = true)"""
        ],
        LOWER_BOUND_PARTS[1]: [
            f"create table stored.requests as select * from built.main.fct_llm_requests "
            f"where {day}",
            "checkpoint stored",
            "select count(*) from stored.requests",
        ],
        LOWER_BOUND_PARTS[2]: [
            f"copy (select * from built.main.fct_llm_requests where {day}) "
            f"to '{scratch / 'requests.parquet'}' ({PARQUET_OPTIONS})"
        ],
        LOWER_BOUND_PARTS[3]: [
            f"copy (select * from built.main.fct_landed_rows where {day}) "
            f"to '{scratch / 'landed_rows.parquet'}' ({PARQUET_OPTIONS})"
        ],
    }
    parts = {}
    with scratch_folder(scratch), duckdb.connect(":memory:", config=limits) as con:
        con.execute(f"attach '{warehouse}' as built (read_only)")
        con.execute(f"attach '{scratch / 'stored.duckdb'}' as stored")
        for name, sqls in statements.items():
            start, cpu = time.perf_counter(), time.process_time()
            for sql in sqls:
                result = con.execute(sql).fetchall()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            parts[name] = (wall, cpu, result[0][0])  # the last statement's row count
    return parts


# The least a new day takes (`--lower-bound`): the SQL statements the dbt command of a
# served new day ran (FIXED_DAY_EVENTS events, from NewDayBase's state), taken from that
# command's debug log and replayed alone on a copy of the warehouse as it was before the
# day: no dbt, Dagster, checks or publish, whose parts every refresh pays on top.
NEW_DAY_PART = "new day: the SQL of its dbt command alone, replayed"
TRANSACTION_STATEMENTS = {"BEGIN", "COMMIT", "ROLLBACK"}
# dbt's file log of every event and statement, as JSON lines, for one command
COMMAND_LOG_ENV = {"DBT_LOG_LEVEL_FILE": "debug", "DBT_LOG_FORMAT_FILE": "json"}


def command_statements(log: Path) -> list[str]:
    """The SQL statements a dbt command ran, from its debug log (JSON lines: written with
    DBT_LOG_LEVEL_FILE=debug and DBT_LOG_FORMAT_FILE=json), in the order they finished: each
    SQLQuery event with the SQLQueryStatus that follows it on its thread (a statement that
    failed has none and is left out). Transaction statements are left out: each replayed
    statement commits alone."""
    pending: dict[str, str] = {}
    finished: list[tuple[str, str]] = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        info = event.get("info", {})
        if info.get("name") == "SQLQuery":
            pending[info["thread"]] = event["data"]["sql"]
        elif info.get("name") == "SQLQueryStatus" and info["thread"] in pending:
            finished.append((info["ts"], pending.pop(info["thread"])))
    finished.sort(key=lambda item: item[0])  # ISO times in UTC; ties keep the log's order
    return [sql for _, sql in finished if sql.strip().upper() not in TRANSACTION_STATEMENTS]


def newest_command_log(settings: Settings) -> Path:
    """dbt.log of the refresh's latest dbt invocation (dagster-dbt's folder of its own in
    dbt's target folder, `warehouse_dbt-<run>-<random>`)."""
    folders = [path for path in settings.target_dir.glob("warehouse_dbt-*") if path.is_dir()]
    if not folders:
        raise RuntimeError(f"no dbt invocation folder in {settings.target_dir}")
    return max(folders, key=lambda path: path.stat().st_mtime) / "dbt.log"


def profile_duckdb_config() -> dict:
    """The DuckDB settings profiles.yml gives dbt's connection (its duckdb output's
    `config_options`) beside the memory and thread limits, which it takes from the
    environment (templated: the caller's `limits`)."""
    import yaml

    profiles = yaml.safe_load((ROOT / "profiles.yml").read_text(encoding="utf-8"))
    options = profiles["aiusage"]["outputs"]["duckdb"]["config_options"]
    return {name: value for name, value in options.items() if "{{" not in str(value)}


def replay_statements(
    statements: list[str], before: Path, warehouse: Path, limits: dict
) -> tuple[float, float, int]:
    """(wall s, CPU s, statements) of `statements` run one after another on one connection
    to `warehouse`, first a copy of `before` and its staging file, with the settings
    profiles.yml gives dbt's connection. The file keeps the database name the statements
    name (its stem), and the staging file is attached as `staging`."""
    staging = staging_duckdb_path(warehouse)
    remove_warehouse(warehouse)
    shutil.copy2(before, warehouse)
    shutil.copy2(staging_duckdb_path(before), staging)
    os.sync()  # the copies written out before the clock starts, as NewDayBase.restore does
    config = {**limits, **profile_duckdb_config()}
    with duckdb.connect(str(warehouse), config=config) as con:
        con.execute(f"attach '{staging}' as staging")
        con.execute("set TimeZone = 'UTC'")
        start, cpu = time.perf_counter(), time.process_time()
        for sql in statements:
            con.execute(sql).fetchall()
        con.execute("checkpoint")
        return time.perf_counter() - start, time.process_time() - cpu, len(statements)


def new_day_sql(work: Path, env: dict[str, str], limits: dict, repeats: int) -> tuple:
    """NEW_DAY_PART for the size whose work folder is `work`: one served new day of
    FIXED_DAY_EVENTS events from NewDayBase's state with dbt's debug log on, then its dbt
    command's statements replayed `repeats` times on copies of the state before it (the
    least wall and CPU; the copies removed after). Returns (wall s, CPU s, statements)."""
    base = NewDayBase(work, env)
    base.restore(FIXED_DAY_EVENTS)
    run_command([AIUSAGE, "build", "--quiet"], {**env, **COMMAND_LOG_ENV})
    statements = command_statements(newest_command_log(base.settings))
    with scratch_folder(work / "lower_bound") as scratch:
        warehouse = scratch / base.settings.duckdb_path.name
        runs = [
            replay_statements(statements, base.before, warehouse, limits) for _ in range(repeats)
        ]
    return min(run[0] for run in runs), min(run[1] for run in runs), len(statements)


def lower_bound(args) -> None:
    """`--lower-bound`: for each size whose warehouse an earlier run left, the floor, the
    fixed overhead and LOWER_BOUND_PARTS; the least a full build can take is the fixed
    overhead plus the parts' CPU over the cores (however they overlap), against the full
    build's target, 3 x the floor + 10 s. Then NEW_DAY_PART: a new day takes at least its
    dbt command's SQL CPU over the cores, against the most the new day targets allow when
    the full build holds its own (10 % of it, and 15 s)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.refresh_server:
        start_refresh_server(CACHE / "refresh.sock")
    # the least of the repeats, for a bound (the floor, for the target, is a median as in
    # the full benchmark)
    overhead = min(fixed_overhead(1, CACHE / "work_overhead")[0] for _ in range(args.repeats))
    cores = len(os.sched_getaffinity(0))
    settings = Settings.from_env({})
    limits = {"memory_limit": settings.duckdb_memory_limit, "threads": settings.duckdb_threads}
    print(
        f"\nMachine: {cores} cores; fixed overhead (full refresh of 100 events, least of "
        f"{args.repeats}): {overhead:.2f} s; DuckDB {duckdb.__version__} at "
        f"{limits['memory_limit']}, {limits['threads']} threads\n"
    )
    print("| size | part | wall s | CPU s | rows |\n|---|---|---|---|---|")
    lines, results = [], {"overhead": overhead, "cores": cores}
    for per_day in [int(x) for x in args.events_per_day.split(",")]:
        work = CACHE / f"work_{args.days}d_{per_day}"
        warehouse = require_warehouse(work / "warehouse.duckdb")
        landing = dataset(args.days, per_day)
        floor = functools.partial(run_floor, landing, work)
        floor_wall = median_of([run_inprocess(floor) for _ in range(args.repeats)])[0]
        runs = [
            lower_bound_parts(warehouse, landing, work / "lower_bound", limits)
            for _ in range(args.repeats)
        ]
        parts = {
            name: tuple(min(run[name][i] for run in runs) for i in range(2)) + (runs[0][name][2],)
            for name in LOWER_BOUND_PARTS
        }
        label = f"{args.days} days x {per_day:,}"
        for name, (wall, cpu, rows) in parts.items():
            print(f"| {label} | {name} | {wall:.2f} | {cpu:.2f} | {rows:,} |")
        cpu = sum(part[1] for part in parts.values())
        bound = overhead + cpu / cores
        target = full_build_target(floor_wall)
        print(
            f"| {label} | the parts one after the other; their CPU over {cores} cores | "
            f"{sum(part[0] for part in parts.values()):.2f}; {cpu / cores:.2f} | {cpu:.2f} | |"
        )
        verdict = (
            "below the bound: unreachable by this design on this machine"
            if target < bound
            else f"leaves {target - bound:.1f} s for everything else a build does"
        )
        lines.append(
            f"- {label} events: full build >= fixed overhead {overhead:.1f} s + parts' CPU "
            f"{cpu:.1f} s / {cores} cores = {bound:.1f} s; target 3 x floor {floor_wall:.2f} s "
            f"+ 10 s = {target:.1f} s: {verdict}"
        )
        # the landing as the benchmark left it (the days it added included: NewDayBase's
        # state read them), not linked again
        day_wall, day_cpu, day_statements = new_day_sql(work, work_env(work), limits, args.repeats)
        print(
            f"| {label} | {NEW_DAY_PART} ({FIXED_DAY_EVENTS:,} events) | {day_wall:.2f} | "
            f"{day_cpu:.2f} | {day_statements:,} statements |"
        )
        # with every target held, the full build takes at most its target, so the new day
        # may take at most 10 % of that (and 15 s)
        day_target = min(NEW_DAY_SECONDS, NEW_DAY_SHARE * target)
        day_bound = day_cpu / cores
        day_verdict = (
            "above it: unreachable with this SQL, before any orchestration"
            if day_bound > day_target
            else f"leaves {day_target - day_bound:.1f} s for Dagster, the checks, dbt's own "
            f"work and publish"
        )
        lines.append(
            f"- {label} events: new day of {FIXED_DAY_EVENTS:,} events >= its dbt command's "
            f"SQL, CPU {day_cpu:.1f} s / {cores} cores = {day_bound:.1f} s ({day_wall:.1f} s "
            f"one statement after another); target min(15 s, 10 % of the full build's target "
            f"{target:.1f} s) = {day_target:.1f} s: {day_verdict}"
        )
        results[str(per_day)] = {
            "floor": floor_wall,
            "parts": parts,
            "bound": bound,
            "new_day_sql": [day_wall, day_cpu, day_statements],
            "new_day_bound": day_bound,
        }
    print("\n" + "\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def start_refresh_server(path: Path) -> None:
    """Start `aiusage refresh-server` on `path` for every later `aiusage build` of this run
    (AIUSAGE_REFRESH_SERVER in this process's environment), once it has warmed up; it is
    stopped at exit."""
    global REFRESH_SERVER
    from aiusage.cli.refreshserver import SOCKET_ENV

    REFRESH_SERVER = subprocess.Popen(
        [AIUSAGE, "refresh-server", "--socket", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    atexit.register(REFRESH_SERVER.terminate)
    line = REFRESH_SERVER.stdout.readline()  # printed once warm
    if "listening" not in line:
        raise RuntimeError(f"aiusage refresh-server did not start: {line!r}")
    os.environ[SOCKET_ENV] = str(path)


def main() -> None:
    # every command and in-process call works on this checkout's dbt project
    os.environ.setdefault("AIUSAGE_PROJECT_DIR", str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--events-per-day",
        type=str,
        default="11112,111112",
        help="comma-separated sizes (mean events per day)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--full-repeats", type=int, default=None, help="full builds per size (default: repeats)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="only the report, API, floor and seed-000 measures, on the warehouses an "
        "earlier run left in bench/.cache (no build)",
    )
    parser.add_argument(
        "--scale-run",
        action="store_true",
        help="only the full build and one new day, once, for each size (make bench-100m), "
        "after checking the disk can hold the data",
    )
    parser.add_argument(
        "--lower-bound",
        action="store_true",
        help="the least a full build of this design takes (the floor, the fixed overhead "
        "and what its required outputs cost alone) and what a new day's SQL costs without "
        "dbt, on the warehouses an earlier run left",
    )
    parser.add_argument(
        "--refresh-server",
        action="store_true",
        help="run every refresh in a warm `aiusage refresh-server` started first (peak RSS: "
        "the server's process tree)",
    )
    args = parser.parse_args()
    full_repeats = args.full_repeats or args.repeats
    if args.queries_only:
        queries_only(args)
        return
    if args.scale_run:
        scale_runs(args)
        return
    if args.lower_bound:
        lower_bound(args)
        return

    CACHE.mkdir(parents=True, exist_ok=True)
    if args.refresh_server:
        start_refresh_server(CACHE / "refresh.sock")
    overhead = fixed_overhead(args.repeats, CACHE / "work_overhead")
    all_results = {}
    for per_day in [int(x) for x in args.events_per_day.split(",")]:
        work = CACHE / f"work_{args.days}d_{per_day}"
        work.mkdir(parents=True, exist_ok=True)
        all_results[per_day] = bench_size(args.days, per_day, args.repeats, full_repeats, work)
        print(f"done: {per_day} events per day", file=sys.stderr, flush=True)

    mode = "served by `aiusage refresh-server`" if args.refresh_server else "each a new process"
    print(
        f"\nMachine: {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; repeats={args.repeats}, "
        f"full builds={full_repeats}; refreshes {mode}\n"
    )
    print(
        "| measure | "
        + " | ".join(
            f"{r['events']:,} events: wall s, median (runs' range) / peak RSS MiB, largest "
            "process (process tree)"
            for r in all_results.values()
        )
        + " |"
    )
    print("|---|" + "---|" * len(all_results))
    print(
        "| fixed overhead (full refresh of 100 events) | "
        + " | ".join(f"{wall_cell(overhead)} / {rss_cell(*overhead[1:])}" for _ in all_results)
        + " |"
    )
    names = next(iter(all_results.values()))["results"].keys()
    for name in names:
        cells = []
        for r in all_results.values():
            measure = r["results"][name]
            cells.append(f"{wall_cell(measure)} / {rss_cell(*measure[1:])}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    print("\n".join(verdicts(all_results, overhead[0])))
    if args.json:
        args.json.write_text(json.dumps(results_json(overhead, all_results), indent=2))


if __name__ == "__main__":
    main()
