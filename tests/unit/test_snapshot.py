"""Publishing snapshots: the CURRENT pointer, pruning, failures that leave the current
snapshot, Parquet per landing day with unchanged days hard-linked; what a killed publish
leaves behind is removed by the next publish (a live publisher's work in progress is not);
the fault-point hook is inert by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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


def _settings(tmp_path, keep=2):
    from aiusage.settings import Settings

    return Settings.from_env(
        {
            "AIUSAGE_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
            "AIUSAGE_LANDING_DIR": str(tmp_path / "landing"),
            "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "published"),
            "AIUSAGE_PUBLISH_KEEP": str(keep),
        }
    )


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


def test_publish_failure_leaves_the_current_snapshot(tmp_path):
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
