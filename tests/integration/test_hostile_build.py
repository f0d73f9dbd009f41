"""Property-based hostile input through `aiusage ingest` and one real refresh (`make
test-slow`): hypothesis (derandomized) generates a few hundred random and malformed events,
huge numbers, unicode, wrong types, deeply nested JSON, CSV-injection and SQL-looking
strings into one JSONL, one CSV and one Parquet delivery; one build must succeed, account
for every landed row and execute nothing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import strategies as st

from tests.conftest import PROJECT_DIR
from tests.support.cli_env import AIUSAGE, warehouse_env
from tests.support.hostile import CANARY, CSV_INJECTION, SQL_LOOKING, draw, good_event, line

pytestmark = [pytest.mark.slow, pytest.mark.slow_ci]


def _content_lines(text: str) -> list[str]:
    return [row for row in text.split("\n") if row.strip(" \t\r")]


@pytest.fixture(scope="module")
def hostile_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    # hostile files are mostly rejects, on purpose
    env = warehouse_env(root, AIUSAGE_REJECT_THRESHOLD="1")
    inbox = root / "inbox"
    inbox.mkdir()

    good = [{**event, "request_id": f"good-{n}"} for n, event in enumerate(draw(good_event, 60))]
    hostile = [row for rows in draw(st.lists(line, min_size=5, max_size=10), 60) for row in rows]
    jsonl = [json.dumps(e, ensure_ascii=False) for e in good] + hostile
    jsonl += [json.dumps(e, ensure_ascii=False) for e in good[:5]]  # re-delivered: duplicates
    (inbox / "hostile.jsonl").write_bytes(("\n".join(jsonl) + "\n").encode("utf-8"))

    injected = [
        {**good[n % len(good)], "request_id": f"csv-{n}", "team": text, "workflow": text}
        for n, text in enumerate(CSV_INJECTION + SQL_LOOKING)
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(injected[0]), lineterminator="\n", quoting=csv.QUOTE_ALL
    )
    writer.writeheader()
    writer.writerows(injected)
    writer.writerow({"request_id": "csv-broken"})  # a row missing required fields
    (inbox / "injected.csv").write_text(buffer.getvalue(), encoding="utf-8")

    columns = ["request_id", "occurred_at", "provider", "model", "input_tokens"]
    parquet_rows = [
        ["pq-1", "2026-11-19T10:00:00Z", "openai", "gpt-4o-mini", "12"],
        ["pq-2", "2026-11-19T10:00:00Z", "openai", "gpt-4o-mini", str(10**30)],
        ["pq-3", "not a time", "openai", "gpt-4o-mini", "-5"],
        ["pq-4", "2026-11-19T10:00:00Z", "openai", "gpt-4o-mini", "1e400"],
    ]
    pq.write_table(
        pa.table({c: [r[i] for r in parquet_rows] for i, c in enumerate(columns)}),
        inbox / "typed.parquet",
    )

    landed: dict[str, int] = {}
    for name in ["hostile.jsonl", "injected.csv", "typed.parquet"]:
        ingest = subprocess.run(
            [AIUSAGE, "ingest", "events", str(inbox / name), "--landing-date", "2026-11-20"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert ingest.returncode == 0, ingest.stderr
    for path in (root / "landing" / "events").rglob("*.jsonl"):
        landed[str(path)] = len(_content_lines(path.read_bytes().decode("utf-8")))
    build = subprocess.run(
        [AIUSAGE, "build", "--quiet"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    return {
        "root": root,
        "build": build,
        "landed": landed,
        "good": good,
        "injected": injected,
    }


def _query(root: Path, sql: str) -> list:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_build_over_hostile_files_succeeds(hostile_warehouse):
    build = hostile_warehouse["build"]
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    assert len(hostile_warehouse["landed"]) == 3


def test_every_hostile_row_is_accounted_for(hostile_warehouse):
    root = hostile_warehouse["root"]
    rows = _query(
        root,
        """select source_file, landed_rows, accepted_rows, duplicate_rows, rejected_rows
           from rpt_landing_accounting""",
    )
    accounting = {file: rest for file, *rest in rows}
    # landed rows per file as counted by Python over the landed bytes
    assert {f: a[0] for f, a in accounting.items()} == hostile_warehouse["landed"]
    for landed, accepted, duplicates, rejected in accounting.values():
        assert landed == accepted + duplicates + rejected
    ((requests,),) = _query(root, "select count(*) from fct_llm_requests")
    ((rejected,),) = _query(root, "select count(*) from fct_rejected_events")
    assert requests == sum(a[1] for a in accounting.values())
    assert rejected == sum(a[3] for a in accounting.values())
    assert sum(a[2] for a in accounting.values()) >= 5  # the re-delivered events
    assert rejected > 100


def test_hostile_strings_are_stored_verbatim_and_nothing_is_executed(hostile_warehouse):
    root = hostile_warehouse["root"]
    teams = dict(_query(root, "select request_id, team from fct_llm_requests"))
    for event in hostile_warehouse["good"] + hostile_warehouse["injected"]:
        assert teams[event["request_id"]] == (event["team"] or None), event["request_id"]
    tables = {t for (t,) in _query(root, "select table_name from information_schema.tables")}
    assert "fct_llm_requests" in tables and not [t for t in tables if CANARY in t]
    assert not list(Path("/tmp").glob(f"{CANARY}*"))
    assert not list(root.rglob(f"*{CANARY}*"))
