"""aiusage ingest: formats, row numbers, refusal of bad files, idempotency."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.ingest import IngestError, ingest


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
