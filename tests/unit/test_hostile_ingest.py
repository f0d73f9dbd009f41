"""Property-based: `aiusage ingest` and the blocking GX check of the landed batch never crash
on hostile records and account for every row. The build over hostile landed files:
tests/integration/test_hostile_build.py."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orchestration.ingest import ingest
from tests.support.hostile import draw, hostile_event, line

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


def test_landed_batch_check_reads_hostile_lines_without_crashing(tmp_path):
    """The blocking landed-batch suite (Great Expectations) over a few hundred generated
    hostile lines: one row per line that staging counts, no exception (a crash there would
    stop every refresh); the expectations fail, as they should."""
    from orchestration.checks.expectations import read_landed_events
    from orchestration.expectations import validate_events

    lines = [row for rows in draw(st.lists(line, min_size=5, max_size=10), 40) for row in rows]
    lines += ['{"request_id": "x", "input_tokens": ' + "9" * 400 + "}", "[" * 5000 + "]" * 5000]
    lines += ["a\rb", "\r", '{"request_id": "y"}\r']
    landed = tmp_path / "hostile.jsonl"
    landed.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))

    frame = read_landed_events([landed])
    result = validate_events(frame, mostly=1.0, build_docs=False, docs_dir=tmp_path / "docs")

    assert len(frame) == sum(1 for row in lines if row.strip(" \t\r"))
    assert not result.success
