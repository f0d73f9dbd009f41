"""`aiusage ingest`: formats, row numbers, refusal of bad files, idempotency; and, property-
based, that it never crashes on hostile records and accounts for every row (the build over
hostile landed files: tests/integration/test_hostile_build.py)."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aiusage.cli import main
from aiusage.ingest import IngestError, ingest
from tests.support.hostile import hostile_event, line


def test_csv_parquet_and_gzip_land_as_jsonl_with_row_numbers_kept(tmp_path):
    landing = tmp_path / "landing"
    csv_path = tmp_path / "spend.csv.gz"
    csv_path.write_bytes(
        gzip.compress(
            b"request_id,startTime,model\nr1,2026-11-01T00:00:00Z,gpt-4o\n"
            b",,\nr3,2026-11-01T00:00:00Z\n"
        )
    )
    summary = ingest(landing, "litellm_spend_logs", [csv_path])
    lines = summary.files[0].landed.read_text().split("\n")
    assert json.loads(lines[0])["request_id"] == "r1"
    assert lines[1] == ""  # blank row stays a (blank) line: row 3 is still line 3
    assert json.loads(lines[2])["_ingest_error"] == "csv_field_count_mismatch"
    assert (summary.rows, summary.invalid_rows) == (2, 1)
    parquet = tmp_path / "obs.parquet"
    pq.write_table(
        pa.table({"id": ["a", "b"], "start_time": ["2026-11-01T00:00:00Z", None]}), parquet
    )
    summary = ingest(landing, "langfuse_observations", [parquet])
    assert (summary.rows, summary.invalid_rows) == (2, 1)
    assert summary.files[0].landed.parent.parent.name == "langfuse_observations"


def test_ingest_outcomes_lands_task_outcome_records_and_counts_the_invalid(tmp_path):
    inbox = tmp_path / "outcomes.csv"
    inbox.write_text(
        "task_id,workflow,occurred_at,outcome,value_usd\n"
        "t1,refunds,2026-11-01T10:00:00Z,success,4.5\n"
        ",refunds,2026-11-01T10:00:00Z,failure,\n"
        "t3,refunds,2026-11-01T10:00:00Z\n"
    )
    env = {"AIUSAGE_LANDING_DIR": str(tmp_path / "landing")}
    result = CliRunner().invoke(main, ["ingest", "outcomes", str(inbox)], env=env)
    assert result.exit_code == 0, result.output
    assert "3 rows landed, 2 failing basic validation" in result.output
    (landed,) = (tmp_path / "landing" / "outcomes").glob("dt=*/*-outcomes.*.jsonl")
    lines = landed.read_text().splitlines()
    assert json.loads(lines[0]) == {
        "task_id": "t1", "workflow": "refunds", "occurred_at": "2026-11-01T10:00:00Z",
        "outcome": "success", "value_usd": "4.5",
    }  # fmt: skip
    assert "task_id" not in json.loads(lines[1])  # kept: staging rejects it with a reason
    assert json.loads(lines[2])["_ingest_error"] == "csv_field_count_mismatch"


def test_openrouter_generation_records_land_without_their_api_envelope(tmp_path):
    """GET /api/v1/generation answers {"data": {record}}: the record inside lands, one per
    line and at its line, from a JSON file or a JSONL file of envelopes; a response (no
    envelope) lands as it is; a line that is not JSON stays as it is (staging rejects it)."""
    record = {"id": "gen-1", "created_at": "2026-02-24T21:19:33.705Z", "model": "m/x",
              "total_cost": 0.00003452}  # fmt: skip
    response = {"id": "gen-2", "created": 1773011155, "model": "m/y", "usage": {"cost": 0.01}}
    whole = tmp_path / "generation.json"
    whole.write_text(json.dumps({"data": record}))
    lines = tmp_path / "mixed.jsonl"
    lines.write_text(
        json.dumps({"data": record})
        + "\n\n"
        + json.dumps(response)
        + "\n{not json\n"
        + json.dumps({"data": {"model": "m/z"}})
        + "\n"
    )
    summary = ingest(tmp_path / "landing", "openrouter", [whole, lines])
    assert json.loads(summary.files[0].landed.read_text()) == record
    landed = summary.files[1].landed.read_text().split("\n")
    assert json.loads(landed[0]) == record and landed[1] == ""
    assert json.loads(landed[2]) == response and landed[3] == "{not json"
    assert json.loads(landed[4]) == {"model": "m/z"}
    # rows: 1 + 4; invalid: the line that is not JSON and the record without id/created
    assert (summary.rows, summary.invalid_rows) == (5, 2)
    assert summary.files[0].landed.parent.parent.name == "openrouter"


def test_same_content_twice_is_skipped_and_bad_files_are_refused(tmp_path):
    landing = tmp_path / "landing"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    page = inbox / "page.json"
    page.write_text(json.dumps({"data": [{"start_time": 1, "end_time": 2, "results": [{}]}]}))
    runner = CliRunner(env={"AIUSAGE_LANDING_DIR": str(landing)})
    first = runner.invoke(main, ["ingest", "openai_usage", str(page)])
    second = runner.invoke(main, ["ingest", "openai_usage", str(inbox)])
    assert first.exit_code == 0 and "1 file(s) landed" in first.output
    assert second.exit_code == 0 and "1 skipped as already landed" in second.output
    assert len(list(landing.rglob("*.json"))) == 1
    (tmp_path / "x.json").write_text('{"not": "a page"}')
    with pytest.raises(IngestError, match="not a openai_usage page"):
        ingest(landing, "openai_usage", [tmp_path / "x.json"])
    (tmp_path / "y.xlsx").write_text("?")
    with pytest.raises(IngestError, match="unsupported file type"):
        ingest(landing, "events", [tmp_path / "y.xlsx"])
    (tmp_path / "z.jsonl").write_bytes(b"\xff\xfe")
    with pytest.raises(IngestError, match="not UTF-8"):
        ingest(landing, "events", [tmp_path / "z.jsonl"])


# --- hostile records (hypothesis) --------------------------------------------------------


REQUIRED = ("request_id", "occurred_at", "provider", "model")
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _expected_invalid(text: str) -> bool:
    """Independent rule: a row is invalid unless it is a JSON object with every required
    field present and not empty."""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        return True
    if not isinstance(record, dict):
        return True
    return any(record.get(name) in (None, "") for name in REQUIRED)


@PROPERTY
@given(lines=st.lists(line, min_size=1, max_size=25))
def test_hostile_jsonl_lands_verbatim_and_every_row_is_counted(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("hostile")
    delivered = root / "in.jsonl"
    text = "\n".join(lines) + "\n"
    delivered.write_bytes(text.encode("utf-8"))

    summary = ingest(root / "landing", "events", [delivered])

    (landed,) = summary.files
    assert landed.landed.read_bytes().decode("utf-8") == text  # row N is still line N
    rows = [candidate for candidate in lines if candidate.strip(" \t\r")]
    assert landed.rows == len(rows)
    assert landed.invalid_rows == sum(_expected_invalid(row) for row in rows)
    again = ingest(root / "landing", "events", [delivered])
    assert again.files[0].skipped and again.files[0].landed == landed.landed


@PROPERTY
@given(
    records=st.lists(hostile_event, min_size=1, max_size=15),
    fmt=st.sampled_from(["json", "csv", "parquet"]),
)
@example(records=[{"request_id": "x" * 300_000, "team": "=1+1"}], fmt="csv")  # a huge cell
@example(records=[{"metadata": {"a": [[[[[[[[[[{"b": None}]]]]]]]]]]}}], fmt="json")
def test_hostile_records_in_any_format_land_one_line_per_row(tmp_path_factory, records, fmt):
    root = tmp_path_factory.mktemp("hostile")
    delivered = root / f"in.{fmt}"
    if fmt == "json":
        delivered.write_text(json.dumps(records), encoding="utf-8")
        expected = records
    elif fmt == "csv":
        # header cells are trimmed by ingest: keys that survive trimming unchanged
        header = sorted({key for record in records for key in record if key and key == key.strip()})
        if not header:
            header = ["request_id"]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        expected = []
        for record in records:
            cells = [json.dumps(record[key]) if key in record else "" for key in header]
            writer.writerow(cells)
            expected.append({key: cell for key, cell in zip(header, cells, strict=True) if cell})
        delivered.write_text(buffer.getvalue(), encoding="utf-8")
    else:  # every value as its JSON text: Parquet columns need one type
        keys = sorted({key for record in records for key in record})
        table = pa.table(
            {
                key or "_blank": [json.dumps(r[key]) if key in r else None for r in records]
                for key in keys
            }
            if keys
            else {"request_id": [None] * len(records)}
        )
        pq.write_table(table, delivered)
        expected = [
            {(key or "_blank"): json.dumps(r[key]) for key in keys if key in r} for r in records
        ]

    summary = ingest(root / "landing", "events", [delivered])  # well-formed files land

    (landed,) = summary.files
    out = landed.landed.read_bytes().decode("utf-8").split("\n")[:-1]
    content = [row for row in expected if fmt != "csv" or any(v.strip() for v in row.values())]
    assert landed.rows == len(content)
    parsed = [json.loads(row) for row in out if row]
    if fmt == "json":
        assert len(parsed) == len(records)
        assert json.dumps(parsed) == json.dumps(records)  # NaN, huge numbers, unicode kept
    else:
        assert parsed == content
    assert landed.invalid_rows == sum(_expected_invalid(json.dumps(row)) for row in content)
