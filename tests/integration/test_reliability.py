"""Reliability under faults, in `make test-slow` (several real refreshes, minutes each):

* a refresh killed with SIGKILL during staging, during an incremental merge and during
  publish is followed by a refresh that completes, and the marts then equal those of a
  clean build of the same landing files; the DuckDB file stays readable after every kill;
* a reader querying the published snapshot in another process during a refresh that lands
  new data never gets a lock error and only ever sees the old or the new complete state;
* a BI connection held open on the stable path (current.duckdb) across three refreshes that
  land new data keeps reading the state it opened, with no error, while new connections on
  the same path read each newer whole state in turn (totals recomputed from the landing by
  tests/support/reference.py); the grace period keeps the held snapshot (KEEP=1);
* a refresh starts its snapshot from an expired snapshot's file (KEEP=2, no grace), and a
  refresh killed after taking one leaves the current snapshot readable and the next
  refreshes whole;
* a full disk under the warehouse fails the refresh with one readable line and leaves the
  published snapshot untouched.

Every refresh is `aiusage build` in a subprocess of its own process group, killed as a
crash would (the whole group: the Dagster process and its dbt child).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import psutil
import pytest

from tests.conftest import PROJECT_DIR
from tests.support.cli_env import AIUSAGE, warehouse_env
from tests.support.reference import read_landing

pytestmark = [pytest.mark.slow, pytest.mark.slow_ci]

TOTALS_SQL = """
    select
        (select count(*) from fct_llm_requests),
        (select sum(requests) from fct_daily_usage),
        (select sum(landed_rows) from rpt_landing_accounting),
        (select sum(rejected_rows) from rpt_landing_accounting)
"""
READER = """
import json, sys, time, duckdb
from pathlib import Path
from aiusage.settings import Settings
from aiusage.snapshot import reader_duckdb_path
out, stop = Path(sys.argv[1]), Path(sys.argv[2])
with out.open("w") as handle:
    while not stop.exists():
        try:
            path = reader_duckdb_path(Settings.from_env())
            with duckdb.connect(str(path), read_only=True) as con:
                row = con.execute(sys.argv[3]).fetchone()
            handle.write(json.dumps({"build": path.parent.name, "totals": list(row)}) + "\\n")
        except Exception as error:  # every failure is recorded; the test wants none
            handle.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\\n")
        handle.flush()
        time.sleep(0.02)
"""


# The events' figures every state of the marts must agree on, in the order of
# `_landing_state` (which computes them from the landing files, not from the warehouse).
STATE_SQL = """
    select
        (select count(*) from fct_llm_requests),
        (select sum(requests) from fct_daily_usage),
        (select sum(landed_rows) from rpt_landing_accounting where source_system = 'events'),
        (select sum(rejected_rows) from rpt_landing_accounting where source_system = 'events')
"""


def _landing_state(landing: Path) -> list[int]:
    """What STATE_SQL must answer once every events file under `landing` is built: one row
    per distinct request, every landed line counted, the rejected ones apart."""
    totals = read_landing(landing)
    requests = len(totals.requests)
    return [requests, requests, totals.landed_lines, sum(totals.rejected.values())]


class HeldReader:
    """What a BI tool does, in a thread of the test process: one read-only connection
    opened on the stable path and kept open, queried in a loop, and beside it a new
    connection on the same path per query. Every answer or error is recorded."""

    def __init__(self, stable: Path):
        self.stable = stable
        self.connection = duckdb.connect(str(stable), read_only=True)
        self.held: list = []
        self.fresh: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @staticmethod
    def _answer(read) -> list:
        try:
            return read()
        except Exception as error:  # every failure is recorded; the test wants none
            return [f"{type(error).__name__}: {error}"]

    def _held_read(self) -> list:
        return list(self.connection.execute(STATE_SQL).fetchone())

    def _fresh_read(self) -> list:
        with duckdb.connect(str(self.stable), read_only=True) as con:
            return list(con.execute(STATE_SQL).fetchone())

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.held.append(self._answer(self._held_read))
            self.fresh.append(self._answer(self._fresh_read))
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def close(self) -> None:
        self.stop()
        self.connection.close()


class Build:
    """`aiusage build` in its own process group, its output collected line by line. Its
    temporary files (the dbt server's socket folder) go to a folder of its own, removed when
    it has ended: a killed group leaves what its members would have removed on leaving."""

    def __init__(self, env: dict[str, str], argv: list[str] | None = None):
        self.lines: list[str] = []
        self.tmp = tempfile.mkdtemp(prefix="aiusage-b-")  # short: it holds a Unix socket
        self.process = subprocess.Popen(
            argv or [AIUSAGE, "build"],
            cwd=PROJECT_DIR,
            env={**env, "TMPDIR": self.tmp},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, predicate, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            if self.process.poll() is not None:
                self._reader.join(5)
                if predicate(self):
                    return
                tail = "".join(self.lines[-40:])
                raise AssertionError(f"the refresh ended before the kill point:\n{tail}")
            time.sleep(0.05)
        raise AssertionError("kill point not reached in time")

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def kill(self) -> None:
        """SIGKILL to the refresh's process group (the refresh, the dbt server and its
        commands, the GX worker), then wait until every member has exited. A killed process
        holds its files and locks until the kernel has torn it down; only the refresh
        itself is this process's child to wait for, so the others are watched (a zombie
        has released everything)."""
        group = self.process.pid
        os.killpg(group, signal.SIGKILL)  # a killed process forks nothing more
        self.process.wait(30)
        members = [proc for proc in psutil.process_iter() if _group_of(proc) == group]
        deadline = time.monotonic() + 30
        while (alive := [proc for proc in members if _exiting(proc)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert not alive, f"killed processes still running: {alive}"
        self._ended()

    def finish(self, timeout: float = 900) -> int:
        code = self.process.wait(timeout)
        self._ended()
        return code

    def _ended(self) -> None:
        self._reader.join(5)
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def output(self) -> str:
        return "".join(self.lines)


def _group_of(proc) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None


def _exiting(proc) -> bool:
    """Still running or being torn down: some thread of it is not yet a zombie. The main
    thread of a killed multi-threaded process (DuckDB's workers) is a zombie before its
    other threads have exited, and the process's files and locks are released by the last
    one: the process's own status said "zombie" while it still held the warehouse's lock."""
    try:
        tasks = os.listdir(f"/proc/{proc.pid}/task")
    except FileNotFoundError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/{proc.pid}/task/{task}/stat", encoding="utf-8") as stat:
                state = stat.read().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if state not in ("Z", "X"):
            return True
    return False


def _checksums(duckdb_path: Path) -> dict:
    from aiusage.project import manifest_path, mart_relations
    from aiusage.settings import Settings

    marts = mart_relations(manifest_path(Settings.from_env()))
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return {
            m.name: con.execute(
                f'select count(*), sum(hash(t)) from "{m.schema}"."{m.name}" as t'
            ).fetchone()
            for m in marts
        }


def _readable(duckdb_path: Path) -> int:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        (tables,) = con.execute("select count(*) from information_schema.tables").fetchone()
    return tables


def _current(root: Path) -> str:
    return (root / "published" / "CURRENT").read_text(encoding="utf-8").strip()


def _generate(landing: Path, days: int, end: date, seed: int, events_per_day: int = 150) -> None:
    from aiusage.sample import generate

    generate(
        landing, days=days, events_per_day=events_per_day, seed=seed, end_date=end, progress=False
    )


@pytest.fixture(scope="module")
def crashed_then_recovered(tmp_path_factory):
    """A warehouse built from 3 landing days, then a BI connection opened on the stable
    path and held; a 4th day lands; refreshes are killed during staging, during the merge
    of fct_llm_requests and during publish; then a refresh runs to the end while a reader
    process queries the published snapshot in a loop; a clean build of the same landing
    files elsewhere; then two more days land, each followed by a refresh. Only one snapshot
    is kept past the grace period (KEEP=1, grace the default hour).

    Everything the tests compare is measured here, in this order, so no test depends on
    the landing files another one added."""
    from aiusage.settings import Settings
    from aiusage.snapshot import built_at, prune, snapshots, stable_duckdb_path

    root = tmp_path_factory.mktemp("crash")
    env = warehouse_env(root, AIUSAGE_PUBLISH_KEEP="1")
    env.pop("AIUSAGE_PUBLISH_GRACE_SECONDS", None)
    settings = Settings.from_env(env)
    _generate(root / "landing", days=3, end=date(2026, 11, 19), seed=7)
    states = [_landing_state(root / "landing")]
    base = Build(env)
    assert base.finish() == 0, base.output[-3000:]
    old_build = _current(root)
    old_totals = list(_query(root / "published" / old_build / "warehouse.duckdb"))
    held = HeldReader(stable_duckdb_path(settings))  # a BI tool connects, and stays
    try:
        _generate(root / "landing", days=1, end=date(2026, 11, 20), seed=8)  # new data
        states.append(_landing_state(root / "landing"))

        kills = {}
        staging = Build(env)
        staging.wait_for(lambda b: b.saw("START sql incremental model staging.main.stg_"))
        staging.kill()
        kills["staging"] = (_readable(root / "warehouse.duckdb"), _current(root))

        merge = Build(env)
        merge.wait_for(lambda b: b.saw("START sql incremental model main.fct_llm_requests"))
        time.sleep(0.5)  # inside the delete+insert of the merge
        merge.kill()
        kills["merge"] = (_readable(root / "warehouse.duckdb"), _current(root))

        marker = root / "fault_marker"
        publish = Build(
            env | {"AIUSAGE_FAULT_POINT": "publish", "AIUSAGE_FAULT_MARKER": str(marker)}
        )
        publish.wait_for(lambda b: marker.exists())
        publish.kill()
        leftovers = sorted(p.name for p in (root / "published").iterdir() if p.name.startswith("."))
        kills["publish"] = (_readable(root / "warehouse.duckdb"), _current(root))

        stop, answers = root / "reader.stop", root / "reader.jsonl"
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(answers), str(stop), TOTALS_SQL],
            cwd=PROJECT_DIR,
            env=env,
        )
        try:
            time.sleep(2)  # the reader is answering from the old snapshot
            final = Build(env)
            code = final.finish()
            time.sleep(2)  # ... and then from the new one
        finally:
            stop.touch()
            reader.wait(60)
        assert code == 0, final.output[-3000:]
        new_build = _current(root)
        new_totals = list(_query(root / "published" / new_build / "warehouse.duckdb"))
        recovered = _checksums(root / "warehouse.duckdb")
        published = _checksums(root / "published" / new_build / "warehouse.duckdb")
        remaining = sorted(p.name for p in (root / "published").iterdir())

        clean_env = env | {
            "AIUSAGE_DUCKDB_PATH": str(root / "clean.duckdb"),
            "AIUSAGE_PUBLISHED_DIR": str(root / "clean_published"),
        }
        clean = Build(clean_env)  # same landing files, from nothing
        assert clean.finish() == 0, clean.output[-3000:]
        clean_checksums = _checksums(root / "clean.duckdb")
        clean_totals = list(_query(root / "clean.duckdb"))

        builds = [old_build, new_build]
        for day, seed in ((date(2026, 11, 21), 9), (date(2026, 11, 22), 10)):
            _generate(root / "landing", days=1, end=day, seed=seed)
            states.append(_landing_state(root / "landing"))
            refresh = Build(env)
            assert refresh.finish() == 0, refresh.output[-3000:]
            builds.append(_current(root))
            time.sleep(1)  # a few reads of each state on new connections
        held.stop()
        kept = snapshots(settings)
        # once the grace period is over, the snapshots held open are pruned...
        pruned = prune(
            settings, now=built_at(builds[-1]) + timedelta(seconds=settings.publish_grace)
        )
        # ... and the held connection still reads the state it opened: a table in its file
        after_prune = held._answer(held._held_read)
    finally:
        held.close()
    return {
        "root": root,
        "env": env,
        "old_build": old_build,
        "old_totals": old_totals,
        "new_build": new_build,
        "new_totals": new_totals,
        "kills": kills,
        "publish_leftovers": leftovers,
        "answers": [json.loads(line) for line in answers.read_text().splitlines()],
        "remaining": remaining,
        "recovered": recovered,
        "published": published,
        "clean": clean_checksums,
        "clean_totals": clean_totals,
        "states": states,
        "builds": builds,
        "held": held.held,
        "fresh": held.fresh,
        "kept": kept,
        "pruned": pruned,
        "after_prune": after_prune,
        "grace": settings.publish_grace,
    }


def _query(path: Path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(TOTALS_SQL).fetchone()


def test_killed_refreshes_recover_to_the_marts_of_a_clean_build(crashed_then_recovered):
    run = crashed_then_recovered
    for point, (tables, current) in run["kills"].items():
        assert tables > 0, point  # the DuckDB file opened and answered after the kill
        assert current == run["old_build"], point  # no kill changed what readers see
    assert any(name.endswith(".tmp") for name in run["publish_leftovers"])  # killed mid-publish
    assert run["new_build"] != run["old_build"]
    # the killed publish left nothing behind once a publish completed
    assert not [name for name in run["remaining"] if name.startswith(".")]
    assert run["recovered"] == run["published"]
    assert run["recovered"] == run["clean"]  # same landing files, built from nothing
    assert run["clean_totals"][0] > run["old_totals"][0]


def test_readers_never_block_and_see_only_whole_snapshots(crashed_then_recovered):
    run = crashed_then_recovered
    answers = run["answers"]
    errors = [a["error"] for a in answers if "error" in a]
    assert errors == []
    old_build, new_build = run["old_build"], run["new_build"]
    new_totals = run["new_totals"]
    assert new_totals != run["old_totals"]
    seen = {a["build"]: a["totals"] for a in answers}
    assert set(seen) == {old_build, new_build}  # the swap happened while reading
    for answer in answers:
        expected = run["old_totals"] if answer["build"] == old_build else new_totals
        assert answer["totals"] == expected, answer
    # requests = daily requests, landed = accepted + duplicates + rejected: whole states only
    for totals in (run["old_totals"], new_totals):
        assert totals[0] == totals[1]
    assert len(answers) > 50


def test_a_connection_held_across_three_refreshes_keeps_its_snapshot(crashed_then_recovered):
    """A BI tool's connection held open on current.duckdb from the first build on: through
    the killed refreshes and three refreshes that publish new data, every read answers the
    state it opened, with no error; new connections on the same path read each newer
    state in turn, never a mix. Each state's figures are recomputed from the landing files
    (tests/support/reference.py). Only the grace period kept the held snapshot (KEEP=1):
    once it is over, prune removes it, and the held connection still reads."""
    run = crashed_then_recovered
    states, builds = run["states"], run["builds"]
    assert len(builds) == len(set(builds)) == len(states) == 4  # 3 refreshes after the first
    assert len({tuple(state) for state in states}) == 4  # each refresh landed new data

    held, fresh = run["held"], run["fresh"]
    assert len(held) > 100
    assert [answer for answer in held if answer != states[0]] == []  # no error, no change

    assert [answer for answer in fresh if answer not in states] == []  # whole states only
    order = [states.index(answer) for answer in fresh]
    assert order == sorted(order)  # never back to an older state
    assert set(order) == {0, 1, 2, 3}  # a new connection follows every publish

    assert run["grace"] == 3600  # the default
    assert run["kept"] == sorted(builds)  # KEEP=1, yet nothing pruned within the grace
    assert run["pruned"] == sorted(builds)[:-1]
    assert run["after_prune"] == states[0]


EVENTS = 2000


def _settled(published: Path, seconds: float = 60) -> list[str]:
    """The temporary entries of a published folder once the snapshots a refresh let go are
    deleted: a process of their own deletes them after the refresh returns
    (aiusage.snapshot._remove_later); only those may still be there, for a while."""
    deadline = time.monotonic() + seconds
    while True:
        left = sorted(p.name for p in published.iterdir() if p.name.startswith("."))
        removing = all(name.startswith(".removing-") for name in left)
        if not left or not removing or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_refreshes_start_their_snapshots_from_expired_files_and_survive_a_kill(tmp_path):
    """Through `aiusage build`: with two snapshots kept and no grace, a refresh starts its
    snapshot from the file of the one the prune would delete (the same inode, nothing
    copied), and the snapshot holds the build's marts. A refresh killed during dbt, after
    it took an expired snapshot's file, leaves the current snapshot as it was and readable;
    the next refresh removes what the killed one set aside, and the refreshes after it take
    expired files again."""
    from aiusage.settings import Settings
    from aiusage.snapshot import snapshots

    env = warehouse_env(tmp_path, AIUSAGE_PUBLISH_KEEP="2", AIUSAGE_PUBLISH_GRACE_SECONDS="0")
    settings = Settings.from_env(env)
    published = tmp_path / "published"

    def refresh(day: date, seed: int) -> dict:
        _generate(tmp_path / "landing", days=1, end=day, seed=seed, events_per_day=EVENTS)
        build = Build(env)
        assert build.finish() == 0, build.output[-3000:]
        current = _current(tmp_path)
        assert _checksums(published / current / "warehouse.duckdb") == _checksums(
            tmp_path / "warehouse.duckdb"
        )
        assert _settled(published) == []
        return json.loads((published / current / "run.json").read_text())["tables"]

    # a history of 8 days: the two days a taken file lacks are a small part of the rows
    # (when more than half of them would be written, a snapshot is written afresh), and
    # enough rows that the files stay mostly used blocks (else the next is written afresh)
    _generate(tmp_path / "landing", days=8, end=date(2026, 11, 19), seed=7, events_per_day=EVENTS)
    assert Build(env).finish() == 0
    first = _current(tmp_path)
    tables = refresh(date(2026, 11, 20), 8)
    assert (tables["copied_from"], tables["recycled"]) == (first, False)  # none expired
    second = _current(tmp_path)

    inode = os.stat(published / first / "warehouse.duckdb").st_ino
    tables = refresh(date(2026, 11, 21), 9)
    assert (tables["copied_from"], tables["recycled"]) == (first, True)
    third = _current(tmp_path)
    assert os.stat(published / third / "warehouse.duckdb").st_ino == inode
    assert snapshots(settings) == [second, third]

    _generate(tmp_path / "landing", days=1, end=date(2026, 11, 22), seed=10, events_per_day=EVENTS)
    killed = Build(env)
    killed.wait_for(lambda b: b.saw("START sql incremental model main.fct_llm_requests"))
    killed.kill()
    assert _current(tmp_path) == third
    assert _readable(published / third / "warehouse.duckdb") > 0
    assert snapshots(settings) == [third]  # `second` was taken, then its refresh killed
    assert [p.name for p in published.iterdir() if p.name.startswith(".recycle-")]

    tables = refresh(date(2026, 11, 23), 11)  # nothing expired now: a copy
    assert (tables["copied_from"], tables["recycled"]) == (third, False)
    tables = refresh(date(2026, 11, 24), 12)
    assert (tables["copied_from"], tables["recycled"]) == (third, True)


def test_full_disk_fails_with_one_line_and_keeps_the_published_snapshot(tmp_path):
    """The warehouse folder on a 2 MB tmpfs (a user + mount namespace): the refresh fails
    with one line naming the full disk; CURRENT still names the same readable snapshot."""
    from aiusage.project import Mart
    from aiusage.settings import Settings
    from aiusage.snapshot import publish

    if shutil.which("unshare") is None:
        pytest.skip("unshare not available")
    probe = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {tmp_path}"],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    root = tmp_path / "warehouse"
    full = tmp_path / "full"
    full.mkdir()
    env = warehouse_env(root, AIUSAGE_DUCKDB_PATH=str(full / "warehouse.duckdb"))
    _generate(root / "landing", days=2, end=date(2026, 11, 20), seed=9)
    previous = root / "previous.duckdb"  # the snapshot readers have now
    with duckdb.connect(str(previous)) as con:
        con.execute("create table fct_daily_usage as select 7 as requests")
    settings = Settings.from_env({**env, "AIUSAGE_DUCKDB_PATH": str(previous)})
    publish(settings, [Mart("fct_daily_usage", "main")], run_id="previous")
    before = _current(root)
    snapshot = root / "published" / before / "warehouse.duckdb"
    snapshot_bytes = snapshot.read_bytes()

    script = f'mount -t tmpfs -o size=2m tmpfs "{full}" && exec "{AIUSAGE}" build --quiet'
    build = Build(env, ["unshare", "-r", "-m", "sh", "-c", script])
    code = build.finish()

    assert code == 1, build.output[-3000:]
    lines = [line for line in build.output.splitlines() if line.strip()]
    assert "Traceback" not in build.output
    assert len(lines) == 1, build.output[-3000:]
    assert lines[0].startswith("Refresh FAILED: no space left on the device writing ")
    assert str(full) in lines[0] and "free disk space" in lines[0]
    assert _current(root) == before
    assert snapshot.read_bytes() == snapshot_bytes
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("select requests from fct_daily_usage").fetchall() == [(7,)]
