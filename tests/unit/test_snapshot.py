"""Publishing snapshots: the CURRENT pointer, pruning, failures that leave the current
snapshot, Parquet per landing day with unchanged days hard-linked; what a killed publish
leaves behind is removed by the next publish (a live publisher's work in progress is not);
the fault-point hook is inert by default."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from aiusage.project import Mart
from aiusage.snapshot import (
    current_build_id,
    fault_point,
    publish,
    published_duckdb_path,
    snapshots,
)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid  # reaped: no process has this id now (ids are not reused this fast)


def test_next_publish_removes_what_a_killed_publish_left(warehouse_env):
    settings = warehouse_env
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_daily_usage as select 1 as requests")
    marts = [Mart("fct_daily_usage", "main")]
    first = publish(settings, marts, run_id="first")
    root = settings.published_dir
    dead = _dead_pid()
    half_folder = root / f".20261125T000000000000Z-killed.{dead}.tmp"
    (half_folder / "marts").mkdir(parents=True)
    (half_folder / "warehouse.duckdb").write_bytes(b"half a copy")
    half_pointer = root / f".CURRENT.{dead}.tmp"
    half_pointer.write_text("20261125T000000000000Z-killed\n")
    live = root / f".20261125T000000000001Z-live.{os.getppid()}.tmp"  # a running publisher
    live.mkdir()
    assert current_build_id(settings) == first.build_id  # readers never saw the half copy

    second = publish(settings, marts, run_id="second")

    assert not half_folder.exists() and not half_pointer.exists()
    assert live.exists()
    assert current_build_id(settings) == second.build_id
    assert snapshots(settings) == sorted([first.build_id, second.build_id])
    with duckdb.connect(str(published_duckdb_path(settings)), read_only=True) as con:
        assert con.execute("select requests from fct_daily_usage").fetchall() == [(1,)]


def test_fault_point_is_inert_by_default(monkeypatch, tmp_path):
    from aiusage.settings import Settings

    monkeypatch.delenv("AIUSAGE_FAULT_POINT", raising=False)
    monkeypatch.setenv("AIUSAGE_FAULT_MARKER", str(tmp_path / "marker"))
    fault_point(Settings.from_env(), "publish")  # returns at once
    monkeypatch.setenv("AIUSAGE_FAULT_POINT", "another_point")
    fault_point(Settings.from_env(), "publish")
    assert not (tmp_path / "marker").exists()


def _settings(tmp_path, keep=2, grace=0):
    from aiusage.settings import Settings

    env = {
        "AIUSAGE_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
        "AIUSAGE_LANDING_DIR": str(tmp_path / "landing"),
        "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "published"),
        "AIUSAGE_PUBLISH_KEEP": str(keep),
    }
    if grace is not None:  # None: the default grace period
        env["AIUSAGE_PUBLISH_GRACE_SECONDS"] = str(grace)
    return Settings.from_env(env)


def test_publish_swaps_the_pointer_and_keeps_the_last_snapshots(tmp_path):
    from aiusage.project import Mart
    from aiusage.snapshot import publish, published_duckdb_path, snapshots

    settings = _settings(tmp_path, keep=2)
    with pytest.raises(FileNotFoundError, match="Nothing published"):
        published_duckdb_path(settings)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_x as select * from range(3) as t(n)")
    marts = [Mart(name="fct_x", schema="main")]

    builds = [publish(settings, marts, run_id=f"run{i}") for i in range(3)]

    assert published_duckdb_path(settings) == builds[-1].duckdb_path
    assert snapshots(settings) == [b.build_id for b in builds[1:]]  # the oldest pruned
    assert builds[-1].removed == [builds[0].build_id]
    exported = pd.read_parquet(builds[-1].parquet_files["fct_x"])
    assert exported["n"].tolist() == [0, 1, 2]
    run = json.loads((builds[-1].folder / "run.json").read_text())
    assert run["marts"] == {"fct_x": 3} and run["run_id"] == "run2"
    with duckdb.connect(str(published_duckdb_path(settings)), read_only=True) as con:
        assert con.execute("select sum(n) from fct_x").fetchone() == (3,)


def test_publish_failure_leaves_the_current_snapshot(tmp_path, monkeypatch):
    from aiusage import snapshot
    from aiusage.project import Mart
    from aiusage.snapshot import current_build_id, publish

    settings = _settings(tmp_path)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_x as select 1 as n")
    good = publish(settings, [Mart("fct_x", "main")], run_id="good")
    with pytest.raises(duckdb.CatalogException):
        publish(settings, [Mart("fct_missing", "main")], run_id="bad")
    assert current_build_id(settings) == good.build_id
    assert not [p for p in settings.published_dir.iterdir() if p.name.endswith(".tmp")]

    # nothing published yet: the reduced copy of the build's file runs beside the plan that
    # fails, and nothing of either is left
    fresh = settings.with_overrides(published_dir=tmp_path / "fresh")
    with pytest.raises(duckdb.CatalogException):
        publish(fresh, [Mart("fct_x", "main"), Mart("fct_missing", "main")], run_id="bad")
    assert current_build_id(fresh) is None
    assert list(fresh.published_dir.iterdir()) == []

    # the Parquet export fails (its thread) while the tables are brought to the build:
    # the error reaches the caller once both have stopped, and nothing is left
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("insert into fct_x values (2)")
    real_export = snapshot._export_parquet

    def failing_export(cursor, plans, staging, *args):
        real_export(cursor, plans, staging, *args)
        raise OSError("disk full while exporting")

    monkeypatch.setattr(snapshot, "_export_parquet", failing_export)
    with pytest.raises(OSError, match="disk full"):
        publish(settings, [Mart("fct_x", "main")], run_id="bad-export")
    assert current_build_id(settings) == good.build_id
    assert not [p for p in settings.published_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_keyed_mart_exports_its_rows_by_key_whatever_their_stored_order(tmp_path):
    """Parquet rows are sorted by the mart's key: two warehouses holding the same rows in
    opposite orders publish byte-identical files, per landing day and whole."""
    from aiusage.project import Mart
    from aiusage.snapshot import publish

    files = []
    for order in ("asc", "desc"):
        settings = _settings(tmp_path / order)
        settings.duckdb_path.parent.mkdir(parents=True)
        with duckdb.connect(str(settings.duckdb_path)) as con:
            for name, day in (("fct_days", "date '2026-11-01' + cast(n % 2 as integer)"),
                              ("fct_whole", "null")):  # fmt: skip
                con.execute(
                    f"""create table {name} as select n % 4 as bucket,
                        'k' || lpad(cast(n as varchar), 3, '0') as row_key, {day} as landing_date
                        from range(200) as t(n) order by n {order}"""
                )
            con.execute("alter table fct_whole drop column landing_date")
        build = publish(
            settings,
            [Mart("fct_days", "main", key="row_key"), Mart("fct_whole", "main", key="row_key")],
            run_id=order,
        )
        files.append(
            {p.relative_to(build.folder): p.read_bytes() for p in build.folder.rglob("*.parquet")}
        )
        keys = pd.read_parquet(build.folder / "marts" / "fct_whole.parquet")["row_key"]
        assert keys.tolist() == sorted(keys)
        day = pd.read_parquet(build.folder / "marts" / "fct_days" / "2026-11-02.parquet")
        assert day["row_key"].tolist() == [f"k{n:03d}" for n in range(1, 200, 2)]
    assert len(files[0]) == 3 and files[0] == files[1]


def test_the_parquet_writes_share_one_queue_largest_first_and_stop_at_the_first_error():
    """Every mart's files go through one queue: on one cursor the largest write runs first;
    on two, each cursor takes the next write when it is done with one, and every write
    runs; the first error stops the queue and reaches the caller."""
    from aiusage.snapshot import _ParquetWrite, _write_all

    def logged(cells):  # a write that logs its turn and size
        return _ParquetWrite("insert into done select nextval('turn'), ?", [cells], cells)

    with duckdb.connect(":memory:") as con:
        con.execute("create sequence turn; create table done (turn bigint, cells bigint)")
        _write_all(con, [logged(cells) for cells in (5, 70, 1, 30)], workers=1)
        assert con.execute("select cells from done order by turn").fetchall() == [
            (70,),
            (30,),
            (5,),
            (1,),
        ]
        con.execute("delete from done")
        _write_all(con, [logged(cells) for cells in range(1, 41)], workers=2)
        assert con.execute("select count(*), sum(cells) from done").fetchone() == (40, 820)

        con.execute("delete from done")
        failing = _ParquetWrite("select * from no_such_mart", [], 1_000)
        with pytest.raises(duckdb.CatalogException, match="no_such_mart"):
            _write_all(con, [failing, *(logged(cells) for cells in range(1, 41))], workers=1)
        assert con.execute("select count(*) from done").fetchone() == (0,)
        with pytest.raises(duckdb.CatalogException, match="no_such_mart"):
            _write_all(con, [failing, *(logged(cells) for cells in range(1, 41))], workers=2)
        (ran,) = con.execute("select count(*) from done").fetchone()
        assert ran < 40  # the other cursor stopped at its next turn


def test_publish_rewrites_only_changed_landing_days(tmp_path):
    """A mart with landing_date is published as one Parquet file per day; the next publish
    hard-links the days whose rows did not change and writes the others, and the snapshot's
    view returns the builder's rows with the builder's types."""
    import os

    from aiusage.project import Mart
    from aiusage.snapshot import publish

    settings = _settings(tmp_path, keep=5)
    create = """create or replace table fct_x as
        select cast(n as bigint) as n, cast(n * 1.5 as decimal(38, 12)) as cost,
               date '2026-11-01' + cast(n % 3 as integer) as landing_date
        from range(9) as t(n)"""
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(create)
    first = publish(settings, [Mart("fct_x", "main")], run_id="one")
    with duckdb.connect(str(settings.duckdb_path)) as con:
        # a re-delivered row moves from 2026-11-01 to 2026-11-03; 2026-11-02 is untouched
        con.execute("update fct_x set landing_date = date '2026-11-03' where n = 0")
    second = publish(settings, [Mart("fct_x", "main")], run_id="two")

    def inode(build, day):
        return os.stat(build.folder / "marts" / "fct_x" / f"{day}.parquet").st_ino

    assert inode(first, "2026-11-02") == inode(second, "2026-11-02")
    assert inode(first, "2026-11-01") != inode(second, "2026-11-01")
    assert inode(first, "2026-11-03") != inode(second, "2026-11-03")
    run = json.loads((second.folder / "run.json").read_text())
    assert run["parquet_days"] == {"written": 2, "linked": 1}
    with duckdb.connect(str(second.duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select landing_date, count(*), sum(cost) from fct_x group by 1 order by 1"
        ).fetchall()
        columns = "select column_name, data_type from duckdb_columns() where table_name = 'fct_x'"
        types = dict(con.execute(columns).fetchall())
    assert [(str(d), c, float(s)) for d, c, s in rows] == [
        ("2026-11-01", 2, 1.5 * (3 + 6)),
        ("2026-11-02", 3, 1.5 * (1 + 4 + 7)),
        ("2026-11-03", 4, 1.5 * (0 + 2 + 5 + 8)),
    ]
    assert types == {"n": "BIGINT", "cost": "DECIMAL(38,12)", "landing_date": "DATE"}


def _rows(path, table) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)


def _parquet_rows(path) -> list[tuple]:
    """The rows of a mart's Parquet export: one file, or a folder of one file per day."""
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    with duckdb.connect() as con:
        rows = con.execute(
            "select * from read_parquet(?)", [[str(file) for file in files]]
        ).fetchall()
    return sorted(rows, key=repr)


def test_each_publish_changes_only_what_the_build_changed(tmp_path):
    """The next snapshot starts from a copy of the current one: an unchanged mart is kept, a
    partitioned mart gets only its changed landing days replaced (an updated row, a removed
    day, a new day, rows without a day), a changed mart is rewritten, and a mart the project
    dropped leaves the snapshot. When most rows change (here a column type), the snapshot is
    written afresh. After each publish every snapshot table holds exactly the build's rows,
    with the build's types."""
    settings = _settings(tmp_path, keep=10)
    marts = [Mart("fct_x", "main"), Mart("fct_total", "main"), Mart("dim_gone", "main")]
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(
            """create table fct_x as
            select cast(n as bigint) as n, cast(n * 1.5 as decimal(38, 12)) as cost,
                   date '2026-11-01' + cast(n % 4 as integer) as landing_date
            from range(40) as t(n)"""
        )
        con.execute("create table fct_total as select 7 as version")
        con.execute("create table dim_gone as select 'x' as name")

    def published(run_id, names):
        build = publish(settings, marts, run_id=run_id)
        for name in names:
            built = _rows(settings.duckdb_path, name)
            assert _rows(build.duckdb_path, name) == built, name
            # the Parquet export (written from the build's file beside the table changes)
            # holds the same rows, whether written, linked or per day
            assert _parquet_rows(build.parquet_files[name]) == built, name
        run = json.loads((build.folder / "run.json").read_text())
        assert 0 <= run["free_block_share"] < 1
        return build, run

    first, run = published("one", ["fct_x", "fct_total", "dim_gone"])
    assert run["tables"] == {
        "copied_from": None,
        "recycled": False,
        "keep": 0,
        "replace_days": 0,
        "rewrite": 0,
        "view": 0,
        "from_build_file": 3,
    }

    second, run = published("two", ["fct_x", "fct_total", "dim_gone"])  # nothing changed
    assert run["tables"] == {
        "copied_from": first.build_id,
        "recycled": False,
        "keep": 3,
        "replace_days": 0,
        "rewrite": 0,
        "view": 0,
        "from_build_file": 0,
    }

    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("update fct_x set cost = cost + 1 where n = 1")  # day 2026-11-02
        con.execute("delete from fct_x where landing_date = date '2026-11-04'")
        con.execute("insert into fct_x values (100, 3.25, date '2026-11-05'), (101, 4.5, null)")
        con.execute("update fct_total set version = 8")
    marts = marts[:2]  # dim_gone left the project
    third, run = published("three", ["fct_x", "fct_total"])
    assert run["tables"] == {
        "copied_from": second.build_id,
        "recycled": False,
        "keep": 0,
        "replace_days": 1,
        "rewrite": 1,
        "view": 0,
        "from_build_file": 0,
    }
    assert sorted(run["parts"]["fct_x"]) == [
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
        "2026-11-05",
        "null",
    ]
    with duckdb.connect(str(third.duckdb_path), read_only=True) as con:
        tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert tables == {"fct_x", "fct_total"}

    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("alter table fct_x alter cost type double")
    fourth, run = published("four", ["fct_x", "fct_total"])
    assert run["tables"] == {
        "copied_from": None,
        "recycled": False,
        "keep": 0,
        "replace_days": 0,
        "rewrite": 0,
        "view": 0,
        "from_build_file": 2,
    }
    with duckdb.connect(str(fourth.duckdb_path), read_only=True) as con:
        (kind,) = con.execute(
            "select data_type from duckdb_columns() where table_name = 'fct_x' "
            "and column_name = 'cost'"
        ).fetchone()
    assert kind == "DOUBLE"


def test_a_fresh_snapshot_is_the_build_file_reduced_to_the_marts(tmp_path):
    """Written afresh, a snapshot starts as a copy of the build's DuckDB file: the mart
    tables stay, a mart that is a view (here over a qualified name, as dbt writes them)
    becomes a table with its rows, and every other relation and schema is dropped. When a
    mart cannot be read that way, every table is written instead, with the same rows."""
    settings = _settings(tmp_path, keep=10)
    catalog = settings.duckdb_path.stem
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table stg_x as select n, n % 3 as team from range(30) as t(n)")
        con.execute(f"create view int_x as select * from {catalog}.main.stg_x where n > 2")
        con.execute(
            f"""create table fct_x as select n, team, date '2026-11-01' + cast(team as integer)
                as landing_date from {catalog}.main.int_x"""
        )
        con.execute(
            f"create view rpt_team as select team, count(*) as requests "
            f"from {catalog}.main.fct_x group by team"
        )
        con.execute("create schema main_dbt_test__audit")
        con.execute("create table main_dbt_test__audit.failures as select 1 as x")
    marts = [Mart("fct_x", "main", key="n"), Mart("rpt_team", "main")]

    first = publish(settings, marts, run_id="one")

    run = json.loads((first.folder / "run.json").read_text())
    assert run["tables"]["from_build_file"] == 2 and run["tables"]["rewrite"] == 0
    with duckdb.connect(str(first.duckdb_path), read_only=True) as con:
        relations = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        assert relations == [("main", "fct_x"), ("main", "rpt_team")]
        assert con.execute("select count(*) from duckdb_views() where not internal").fetchall() == [
            (0,)
        ]
        schemas = con.execute(
            "select schema_name from duckdb_schemas() where database_name = current_database()"
        ).fetchall()
        assert ("main_dbt_test__audit",) not in schemas
    for name in ("fct_x", "rpt_team"):
        assert _rows(first.duckdb_path, name) == _rows(settings.duckdb_path, name), name
    assert _rows(first.duckdb_path, "rpt_team") == [(0, 9), (1, 9), (2, 9)]

    # a mart outside the main schema: the build's file is not used, every table is written
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.rpt_other as select 1 as one")
    elsewhere = settings.with_overrides(published_dir=tmp_path / "elsewhere")  # afresh
    second = publish(elsewhere, [*marts, Mart("rpt_other", "marts")], run_id="two")
    run = json.loads((second.folder / "run.json").read_text())
    assert run["tables"]["from_build_file"] == 0 and run["tables"]["rewrite"] == 3
    for name in ("fct_x", "rpt_team"):
        assert _rows(second.duckdb_path, name) == _rows(first.duckdb_path, name), name


def _build(settings, version: int) -> list:
    """Two marts in the build file whose figures depend on `version`: fct_x (partitioned by
    landing day, 9 rows) and fct_total (one row)."""
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(
            f"""create or replace table fct_x as
            select cast(n as bigint) as n, cast(n * {version} as decimal(38, 12)) as cost,
                   date '2026-11-01' + cast(n % 3 as integer) as landing_date
            from range(9) as t(n)"""
        )
        con.execute(f"create or replace table fct_total as select {version} as version")
    return [Mart("fct_x", "main"), Mart("fct_total", "main")]


FIGURES = "select (select sum(cost) from fct_x), (select version from fct_total)"


def test_a_reader_holds_its_snapshot_across_three_refreshes(tmp_path):
    """A BI connection opened on the stable path (current.duckdb) keeps reading the snapshot
    it opened while three more are published (KEEP=1, the default grace period keeps it);
    a new connection on the same path reads the newest. Once the grace period is over the
    old snapshots are pruned, and even then the held connection still reads (every mart is
    a table in the file it holds open, not a view over files of a deleted folder)."""
    from aiusage.snapshot import built_at, prune, stable_duckdb_path

    settings = _settings(tmp_path, keep=1, grace=None)
    assert settings.publish_grace == 3600
    first = publish(settings, _build(settings, 1), run_id="v1")
    stable = stable_duckdb_path(settings)
    assert stable == settings.published_dir / "current.duckdb"
    held = duckdb.connect(str(stable), read_only=True)
    try:
        assert held.execute(FIGURES).fetchone() == (36, 1)  # 1 * (0 + 1 + ... + 8)
        later = []
        for version in (2, 3, 4):
            later.append(publish(settings, _build(settings, version), run_id=f"v{version}"))
            assert held.execute(FIGURES).fetchone() == (36, 1)
            with duckdb.connect(str(stable), read_only=True) as fresh:
                assert fresh.execute(FIGURES).fetchone() == (36 * version, version)
            assert later[-1].removed == []  # within the grace period
        assert snapshots(settings) == [first.build_id] + [b.build_id for b in later]

        # an hour after the last publish, everything but the current snapshot goes
        removed = prune(settings, now=built_at(later[-1].build_id) + timedelta(hours=1))
        assert removed == [first.build_id] + [b.build_id for b in later[:2]]
        assert not first.folder.exists()
        assert held.execute(FIGURES).fetchone() == (36, 1)
    finally:
        held.close()
    with duckdb.connect(str(stable), read_only=True) as fresh:
        assert fresh.execute(FIGURES).fetchone() == (144, 4)


def test_grace_period_counts_from_when_a_snapshot_stopped_being_current(tmp_path):
    """KEEP=1, grace 10 minutes: a snapshot goes 10 minutes after the next one was
    published (when it stopped being current), not 10 minutes after its own publish."""
    from datetime import UTC, datetime

    from aiusage.snapshot import prune

    settings = _settings(tmp_path, keep=1, grace=600)
    ids = ["20261130T100000000000Z-a", "20261130T103000000000Z-b", "20261130T110000000000Z-c"]
    for build_id in ids:
        (settings.published_dir / build_id).mkdir(parents=True)
    (settings.published_dir / "CURRENT").write_text(ids[2] + "\n")

    def at(hour, minute):
        return datetime(2026, 11, 30, hour, minute, tzinfo=UTC)

    assert prune(settings, now=at(11, 5)) == [ids[0]]  # replaced at 10:30; b only at 11:00
    assert prune(settings, now=at(11, 9)) == []
    assert prune(settings, now=at(11, 10)) == [ids[1]]
    assert snapshots(settings) == [ids[2]]  # the current one stays whatever its age


def test_a_pruned_snapshot_leaves_at_once_and_its_files_are_freed_by_another_process(
    tmp_path, monkeypatch
):
    """A snapshot let go leaves the published folder's listing when prune returns (renamed
    aside, nothing opens it by name), and a process of its own deletes its files, so a
    refresh does not wait for the file system (10M events: 1.2-1.3 s). When that process
    cannot start, the folder is deleted on the spot; when it dies first, the next publish
    deletes what is left (its temporary name carries the dead process's id)."""
    from aiusage import snapshot
    from aiusage.snapshot import prune, remove_stale_temporaries, wait_for_removals

    settings = _settings(tmp_path, keep=1, grace=0)
    root = settings.published_dir
    ids = ["20261130T100000000000Z-a", "20261130T103000000000Z-b", "20261130T110000000000Z-c"]
    for build_id in ids:
        (root / build_id / "marts").mkdir(parents=True)
        (root / build_id / "marts" / "fct_x.parquet").write_bytes(b"x" * 4096)
    (root / "CURRENT").write_text(ids[2] + "\n")

    assert prune(settings) == ids[:2]
    assert snapshots(settings) == [ids[2]]
    remover = snapshot._REMOVERS[-1]
    assert remover.pid != os.getpid()
    aside = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
    assert set(aside) <= {f".removing-{name}.{remover.pid}.tmp" for name in ids[:2]}
    wait_for_removals()
    assert remover.returncode == 0
    assert sorted(p.name for p in root.iterdir()) == [ids[2], "CURRENT"]

    def no_process(*args, **kwargs):
        raise OSError("cannot fork")

    dead = _dead_pid()
    (root / ids[0] / "marts").mkdir(parents=True)
    monkeypatch.setattr(snapshot.subprocess, "Popen", no_process)
    assert prune(settings) == [ids[0]]
    assert sorted(p.name for p in root.iterdir()) == [ids[2], "CURRENT"]  # deleted here

    monkeypatch.undo()
    left = root / f".removing-{ids[1]}.{dead}.tmp"  # its remover was killed
    (left / "marts").mkdir(parents=True)
    assert remove_stale_temporaries(root) == [left.name]
    assert not left.exists()

    odd = tmp_path / "line\nfeed"  # any path reaches the remover whole
    (odd / ids[0] / "marts").mkdir(parents=True)
    snapshot._remove_later(odd, {ids[0]: odd / ids[0]})
    wait_for_removals()
    assert list(odd.iterdir()) == []


def test_a_copied_snapshot_folder_opens_elsewhere(tmp_path):
    """Every mart of a snapshot reads from a copy of its folder after the original is gone:
    no view names a path."""
    settings = _settings(tmp_path / "origin", keep=5)
    settings.duckdb_path.parent.mkdir(parents=True)
    build = publish(settings, _build(settings, 3), run_id="copy")
    elsewhere = tmp_path / "elsewhere" / "snapshot"
    shutil.copytree(build.folder, elsewhere)
    shutil.rmtree(tmp_path / "origin")
    with duckdb.connect(str(elsewhere / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_views() where not internal").fetchone() == (
            0,
        )
        assert con.execute(FIGURES).fetchone() == (108, 3)  # 3 * 36
        by_day = con.execute(
            "select cast(landing_date as varchar), count(*) from fct_x group by 1 order by 1"
        ).fetchall()
    assert by_day == [("2026-11-01", 3), ("2026-11-02", 3), ("2026-11-03", 3)]
    days = pd.read_parquet(elsewhere / "marts" / "fct_x")
    assert len(days) == 9 and float(days["cost"].sum()) == 108


def test_a_snapshot_carries_the_metric_definitions_it_was_built_with(tmp_path):
    """The report compiles its metrics from the semantic layer beside the file it reads, so
    a copied or served snapshot needs no dbt project."""
    from aiusage.reporting.semantic import semantic_layer_of, semantic_manifest_for
    from tests.conftest import PROJECT_DIR

    settings = _settings(tmp_path)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_x as select 1 as n")
    manifest = tmp_path / "semantic_manifest.json"
    definitions = json.loads((PROJECT_DIR / "target" / "semantic_manifest.json").read_text())
    definitions["metrics"] = [m for m in definitions["metrics"] if m["name"] == "requests"]
    manifest.write_text(json.dumps(definitions))
    build = publish(settings, [Mart("fct_x", "main")], run_id="r", semantic_manifest=manifest)
    copied = build.folder / "semantic_manifest.json"
    assert semantic_manifest_for(build.duckdb_path, tmp_path / "nowhere") == copied
    with duckdb.connect(str(build.duckdb_path), read_only=True) as con:
        assert list(semantic_layer_of(con).metrics) == ["requests"]


def _temporaries(settings) -> list[str]:
    """The temporary entries of the published folder once the snapshots this process let go
    are deleted (by processes of their own: `_remove_later`)."""
    from aiusage.snapshot import wait_for_removals

    wait_for_removals()
    return sorted(p.name for p in settings.published_dir.iterdir() if p.name.endswith(".tmp"))


def test_the_copy_publish_starts_from_is_made_while_dbt_builds(tmp_path, monkeypatch):
    """prepare_next_snapshot copies the current snapshot's file in the background (the dbt
    step calls it as dbt starts); publish takes that copy instead of copying again, and the
    snapshot holds exactly the build's rows. A copy of a snapshot that is no longer current
    is dropped and publish copies the current one; a failed build's copy is discarded; a
    failed publish leaves no copy behind."""
    import aiusage.snapshot as snapshot

    settings = _settings(tmp_path, keep=10)
    marts = [Mart("fct_big", "main"), Mart("fct_x", "main")]  # most rows stay: a copy
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("create table fct_big as select * from range(100) as t(n)")
        con.execute("create table fct_x as select * from range(5) as t(n)")
    first = publish(settings, marts, run_id="one")
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("update fct_x set n = n + 10 where n = 4")

    snapshot.prepare_next_snapshot(settings)  # `aiusage build`, after its plan
    (prepared,) = snapshot._PREPARED.values()
    assert prepared.done.result(timeout=30).name == f".base-{first.build_id}.{os.getpid()}.tmp"
    snapshot.prepare_next_snapshot(settings)  # the dbt step: the same copy, not a second
    assert list(snapshot._PREPARED.values()) == [prepared]
    assert len(_temporaries(settings)) == 1
    real_copy = shutil.copyfile

    def no_second_copy(source, target, *args, **kwargs):
        assert not str(target).endswith(snapshot.DUCKDB_NAME), "publish copied the file again"
        return real_copy(source, target, *args, **kwargs)

    monkeypatch.setattr(snapshot.shutil, "copyfile", no_second_copy)
    second = publish(settings, marts, run_id="two")
    monkeypatch.setattr(snapshot.shutil, "copyfile", real_copy)
    run = json.loads((second.folder / "run.json").read_text())
    assert run["tables"]["copied_from"] == first.build_id
    assert (run["tables"]["keep"], run["tables"]["rewrite"]) == (1, 1)
    assert _rows(second.duckdb_path, "fct_x") == _rows(settings.duckdb_path, "fct_x")
    assert _temporaries(settings) == []

    # prepared from `second`, but CURRENT names `first` again when publish runs
    snapshot.prepare_next_snapshot(settings)
    next(iter(snapshot._PREPARED.values())).done.result(timeout=30)
    (settings.published_dir / "CURRENT").write_text(first.build_id + "\n")
    third = publish(settings, marts, run_id="three")
    run = json.loads((third.folder / "run.json").read_text())
    assert run["tables"]["copied_from"] == first.build_id
    assert _rows(third.duckdb_path, "fct_x") == _rows(settings.duckdb_path, "fct_x")
    assert _temporaries(settings) == [] and snapshot._PREPARED == {}

    snapshot.prepare_next_snapshot(settings)  # the build fails: the dbt step discards it
    next(iter(snapshot._PREPARED.values())).done.result(timeout=30)
    assert len(_temporaries(settings)) == 1
    snapshot.discard_prepared(settings.published_dir)
    assert _temporaries(settings) == [] and snapshot._PREPARED == {}

    snapshot.prepare_next_snapshot(settings)
    with pytest.raises(duckdb.CatalogException):
        publish(settings, [Mart("fct_missing", "main")], run_id="bad")
    assert _temporaries(settings) == [] and snapshot._PREPARED == {}
    assert current_build_id(settings) == third.build_id


def test_an_incremental_mart_of_usage_days_is_kept_per_usage_day(tmp_path):
    """An incremental mart with usage_date and no landing_date (fct_daily_usage, the daily
    reports) is replaced and exported per usage day: a refresh that rewrote one day writes
    that day's Parquet file and table rows, and links the others. A mart with usage_date
    that is not incremental (rebuilt whole by every refresh) is kept whole."""
    settings = _settings(tmp_path, keep=5)
    marts = [Mart("fct_days", "main", incremental=True), Mart("rpt_days", "main")]
    with duckdb.connect(str(settings.duckdb_path)) as con:
        for name in ("fct_days", "rpt_days"):
            con.execute(
                f"""create table {name} as
                select date '2026-11-01' + cast(n % 3 as integer) as usage_date,
                       cast(n as bigint) as requests
                from range(9) as t(n)"""
            )
    publish(settings, marts, run_id="one")
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(
            "update fct_days set requests = requests + 100 where usage_date = date '2026-11-02'"
        )
        con.execute(
            "update rpt_days set requests = requests + 100 where usage_date = date '2026-11-02'"
        )
    second = publish(settings, marts, run_id="two")
    run = json.loads((second.folder / "run.json").read_text())
    assert sorted(run["parts"]) == ["fct_days"]
    assert sorted(run["parts"]["fct_days"]) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert run["parquet_days"] == {"written": 1, "linked": 2}
    assert sorted(p.name for p in (second.folder / "marts" / "fct_days").iterdir()) == [
        "2026-11-01.parquet",
        "2026-11-02.parquet",
        "2026-11-03.parquet",
    ]
    assert (second.folder / "marts" / "rpt_days.parquet").is_file()
    for name in ("fct_days", "rpt_days"):
        assert _rows(second.duckdb_path, name) == _rows(settings.duckdb_path, name), name
    exported = pd.read_parquet(second.folder / "marts" / "fct_days" / "2026-11-02.parquet")
    assert sorted(exported["requests"]) == [101, 104, 107]


def _fct_x(settings, statement: str) -> None:
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(statement)


FCT_X = """create or replace table fct_x as
    select cast(n as bigint) as n, cast(n * 1.5 as decimal(38, 12)) as cost,
           date '2026-11-01' + cast(n % 10 as integer) as landing_date
    from range(1000) as t(n)"""


def test_the_next_snapshot_takes_an_expired_snapshots_file(tmp_path):
    """Once a snapshot is past the newest AIUSAGE_PUBLISH_KEEP and its grace, the next
    snapshot takes its file (the same inode: nothing copied) instead of copying the current
    one, and brings it to the build from that snapshot's state: the changes of both
    refreshes since are applied to its tables, while its Parquet files are linked from the
    current snapshot where that one already has the day. The expired snapshot is gone."""
    settings = _settings(tmp_path, keep=2, grace=0)
    marts = [Mart("fct_x", "main"), Mart("fct_total", "main")]
    _fct_x(settings, FCT_X)
    _fct_x(settings, "create table fct_total as select 1 as version")
    first = publish(settings, marts, run_id="one")
    _fct_x(settings, "update fct_x set cost = cost + 1 where n = 1")  # day 2026-11-02
    second = publish(settings, marts, run_id="two")  # only `first` exists: a copy of it
    run = json.loads((second.folder / "run.json").read_text())
    assert (run["tables"]["copied_from"], run["tables"]["recycled"]) == (first.build_id, False)
    inode = os.stat(first.duckdb_path).st_ino

    _fct_x(settings, "update fct_x set cost = cost + 2 where n = 2")  # day 2026-11-03
    _fct_x(settings, "insert into fct_x values (1000, 7.5, date '2026-11-20')")
    _fct_x(settings, "update fct_total set version = 2")
    third = publish(settings, marts, run_id="three")

    run = json.loads((third.folder / "run.json").read_text())
    assert run["tables"] == {
        "copied_from": first.build_id,
        "recycled": True,
        "keep": 0,
        "replace_days": 1,
        "rewrite": 1,
        "view": 0,
        "from_build_file": 0,
    }
    assert os.stat(third.duckdb_path).st_ino == inode
    for name in ("fct_x", "fct_total"):
        built = _rows(settings.duckdb_path, name)
        assert _rows(third.duckdb_path, name) == built, name
        assert _parquet_rows(third.parquet_files[name]) == built, name
    # the days as `second` has them are linked (-02 too); -03 changed and -20 is new
    assert run["parquet_days"] == {"written": 2, "linked": 9}
    assert third.removed == [first.build_id]
    assert snapshots(settings) == [second.build_id, third.build_id]
    assert _temporaries(settings) == []

    # the next one takes `second`'s file: the changes since it, and only those
    _fct_x(settings, "delete from fct_x where landing_date = date '2026-11-04'")
    fourth = publish(settings, marts, run_id="four")
    run = json.loads((fourth.folder / "run.json").read_text())
    assert (run["tables"]["copied_from"], run["tables"]["recycled"]) == (second.build_id, True)
    assert (run["tables"]["replace_days"], run["tables"]["rewrite"]) == (1, 1)
    for name in ("fct_x", "fct_total"):
        assert _rows(fourth.duckdb_path, name) == _rows(settings.duckdb_path, name), name


_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
before = con.execute("select sum(cost) from fct_x").fetchone()[0]
print("open", flush=True)
sys.stdin.readline()
print(before == con.execute("select sum(cost) from fct_x").fetchone()[0], flush=True)
"""


def test_an_expired_snapshot_a_reader_holds_is_copied_around(tmp_path):
    """An expired snapshot whose file a reader holds open is not taken: not when another
    process holds it (its DuckDB lock), not when this process does, not when the file has
    a second hard link. The next snapshot starts from a copy of the current one, and the
    reader keeps reading what it opened."""
    settings = _settings(tmp_path, keep=2, grace=0)
    marts = [Mart("fct_x", "main")]
    _fct_x(settings, FCT_X)
    publish(settings, marts, run_id="one")
    publish(settings, marts, run_id="two")

    def next_base(run_id: str) -> tuple[str, bool]:
        _fct_x(settings, "update fct_x set cost = cost + 1 where n = 3")
        build = publish(settings, marts, run_id=run_id)
        assert _rows(build.duckdb_path, "fct_x") == _rows(settings.duckdb_path, "fct_x")
        tables = json.loads((build.folder / "run.json").read_text())["tables"]
        return tables["copied_from"], tables["recycled"]

    oldest = snapshots(settings)[0]
    reader = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(settings.published_dir / oldest / "warehouse.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline() == "open\n"
        current = current_build_id(settings)
        assert next_base("held-elsewhere") == (current, False)
        assert oldest not in snapshots(settings)  # pruned after the publish, as before
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline() == "True\n"  # it read the rows it opened
    finally:
        reader.kill()
        reader.wait()

    oldest, current = snapshots(settings)[0], current_build_id(settings)
    with duckdb.connect(str(settings.published_dir / oldest / "warehouse.duckdb"), read_only=True):
        assert next_base("held-here") == (current, False)

    oldest, current = snapshots(settings)[0], current_build_id(settings)
    os.link(settings.published_dir / oldest / "warehouse.duckdb", tmp_path / "backup.duckdb")
    assert next_base("linked") == (current, False)

    oldest = snapshots(settings)[0]
    assert next_base("free") == (oldest, True)
    assert _temporaries(settings) == []


def test_a_taken_expired_snapshot_goes_back_when_unused(tmp_path, monkeypatch):
    """The dbt step takes an expired snapshot's file as dbt starts: a failed build gives it
    back untouched (folder, file, run.json); a publish that fails after it began writing
    into the file deletes it (it was due for pruning, and no longer matches its run.json).
    The current snapshot stays in both cases, and nothing is left behind."""
    import aiusage.snapshot as snapshot

    settings = _settings(tmp_path, keep=2, grace=0)
    marts = [Mart("fct_x", "main")]
    _fct_x(settings, FCT_X)
    first = publish(settings, marts, run_id="one")
    second = publish(settings, marts, run_id="two")
    before = (first.duckdb_path.read_bytes(), (first.folder / "run.json").read_text())

    snapshot.prepare_next_snapshot(settings)
    assert not first.folder.exists()
    assert _temporaries(settings) == [f".recycle-{first.build_id}.{os.getpid()}.tmp"]
    snapshot.discard_prepared(settings.published_dir)  # the build failed
    assert (first.duckdb_path.read_bytes(), (first.folder / "run.json").read_text()) == before
    assert snapshots(settings) == [first.build_id, second.build_id]
    assert _temporaries(settings) == []

    _fct_x(settings, "update fct_x set cost = cost + 1 where n = 3")
    snapshot.prepare_next_snapshot(settings)

    def failing_apply(con, plans):
        con.execute("delete from fct_x")
        raise OSError("disk full while applying")

    monkeypatch.setattr(snapshot, "_apply_tables", failing_apply)
    with pytest.raises(OSError, match="disk full"):
        publish(settings, marts, run_id="bad")
    assert current_build_id(settings) == second.build_id
    assert snapshots(settings) == [second.build_id]
    assert _temporaries(settings) == [] and snapshot._PREPARED == {}


def test_a_mart_published_as_a_view_stays_a_view_over_its_tables(tmp_path):
    """A mart whose model declares meta publish_as_view (rpt_session_costs) is a view in the
    snapshot too, over the relations it reads, kept beside it as tables (support relations,
    no Parquet file of their own): its rows are not written on a publish, whatever changed
    under it. A snapshot written afresh keeps the view as the build's file has it; the next
    one replaces the changed days of the support table and defines the view again; with
    nothing changed the view is kept and its Parquet file linked. A snapshot whose mart was
    a table gets the view in its place. A view with a usage_date is exported one file per
    usage day, each sorted by its key: every day written when what it reads changed (its
    fingerprint moved), every day linked when nothing did."""
    settings = _settings(tmp_path, keep=10)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(
            """create table int_s as
            select 's' || n as session_id, date '2026-11-01' + cast(n % 3 as integer)
                   as usage_date, n % 2 as kind, cast(n + 1 as bigint) as requests
            from range(12) as t(n)"""
        )
        con.execute(
            "create table int_b as select kind, max(requests) as top from main.int_s group by kind"
        )
        con.execute(
            """create view rpt_v as select int_s.session_id, int_s.requests, int_b.top,
                   int_s.requests = int_b.top as is_top
               from main.int_s inner join main.int_b on int_s.kind = int_b.kind"""
        )
        con.execute(
            """create view rpt_d as select int_s.session_id, int_s.usage_date, int_b.top
               from main.int_s inner join main.int_b on int_s.kind = int_b.kind"""
        )
    marts = [
        Mart("int_b", "main", support=True),
        Mart("int_s", "main", incremental=True, support=True),
        Mart("rpt_v", "main", key="session_id", view_over=("int_b", "int_s")),
        Mart("rpt_d", "main", key="session_id", view_over=("int_b", "int_s")),
    ]
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]

    def published(run_id):
        build = publish(settings, marts, run_id=run_id)
        for view in ("rpt_v", "rpt_d"):
            built = _rows(settings.duckdb_path, view)
            assert _rows(build.duckdb_path, view) == built
            assert _parquet_rows(build.parquet_files[view]) == built
        assert set(build.parquet_files) == {"rpt_v", "rpt_d"}  # not the support tables
        assert not (build.folder / "marts" / "int_s").exists()
        assert build.parquet_files["rpt_v"].is_file()
        # one file per usage day, its rows in key order ('s10' before 's4')
        with duckdb.connect() as con:
            for day in days:
                in_file = con.execute(
                    "select session_id from read_parquet(?)",
                    [str(build.parquet_files["rpt_d"] / f"{day}.parquet")],
                ).fetchall()
                expected = sorted(
                    f"s{n}" for n in range(12) if str(date(2026, 11, 1 + n % 3)) == day
                )
                assert [session for (session,) in in_file] == expected
        assert sorted(p.name for p in build.parquet_files["rpt_d"].iterdir()) == [
            f"{day}.parquet" for day in days
        ]
        with duckdb.connect(str(build.duckdb_path), read_only=True) as con:
            kinds = dict(
                con.execute(
                    "select table_name, table_type from information_schema.tables"
                ).fetchall()
            )
        assert kinds == {
            "int_b": "BASE TABLE", "int_s": "BASE TABLE", "rpt_v": "VIEW", "rpt_d": "VIEW",
        }  # fmt: skip
        return build, json.loads((build.folder / "run.json").read_text())

    def day_files(build):
        return [build.parquet_files["rpt_d"] / f"{day}.parquet" for day in days]

    first, run = published("one")
    assert run["tables"]["from_build_file"] == 4
    assert _rows(first.duckdb_path, "rpt_v")[:2] == [("s0", 1, 11, False), ("s1", 2, 12, False)]
    assert {day: rows for day, (rows, _) in run["parts"]["rpt_d"].items()} == dict.fromkeys(days, 4)

    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute("update int_s set requests = 100 where session_id = 's4'")  # 2026-11-02
        con.execute(
            "create or replace table int_b as "
            "select kind, max(requests) as top from main.int_s group by kind"
        )
    second, run = published("two")
    assert run["tables"]["view"] == 2 and run["tables"]["replace_days"] == 1
    assert run["tables"]["rewrite"] == 1  # int_b
    # the baselines moved: every day of the view written again, the unchanged ones too
    assert not any(map(os.path.samefile, day_files(first), day_files(second)))
    assert (
        run["parts"]["int_s"]["2026-11-01"]
        == json.loads((first.folder / "run.json").read_text())["parts"]["int_s"]["2026-11-01"]
    )
    assert ("s4", 100, 100, True) in _rows(second.duckdb_path, "rpt_v")

    third, run = published("three")  # nothing changed
    assert run["tables"]["keep"] == 4 and run["tables"]["view"] == 0
    assert os.path.samefile(third.parquet_files["rpt_v"], second.parquet_files["rpt_v"])  # linked
    assert all(map(os.path.samefile, day_files(second), day_files(third)))

    # a snapshot whose rpt_v was a table (before the mart became a view)
    with duckdb.connect(str(third.duckdb_path)) as con:
        con.execute("drop view rpt_v")
        con.execute("create table rpt_v as select 'stale' as session_id")
    run_file = third.folder / "run.json"
    run = json.loads(run_file.read_text())
    run["fingerprints"]["rpt_v"] = ["session_id VARCHAR", 1, "0"]
    run_file.write_text(json.dumps(run))
    _fourth, run = published("four")
    assert run["tables"]["view"] == 1
