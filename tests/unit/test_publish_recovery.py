"""What a killed publish leaves behind is removed by the next publish; a live publisher's
work in progress is not; the fault-point hook is inert by default."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb

from orchestration.publish import (
    Mart,
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
    monkeypatch.delenv("AIUSAGE_FAULT_POINT", raising=False)
    monkeypatch.setenv("AIUSAGE_FAULT_MARKER", str(tmp_path / "marker"))
    fault_point("publish")  # returns at once
    monkeypatch.setenv("AIUSAGE_FAULT_POINT", "another_point")
    fault_point("publish")
    assert not (tmp_path / "marker").exists()
