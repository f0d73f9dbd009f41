"""The usage_events suite over landed batches: token integrity, allowed values, timestamps,
what does not parse, tolerance, and the landed-batch check of a refresh."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import strategies as st

from aiusage.quality import events as qe
from aiusage.quality import gx
from tests.support.hostile import draw, line
from tests.unit.quality.conftest import failed_columns


def test_valid_events_pass(events):
    result = qe.validate_events(events)
    assert result.success, result.summary()
    assert result.row_count == len(events)
    assert result.evaluated == len(gx.load_suite_dict("usage_events")["expectations"])


def test_missing_optional_columns_are_null_or_zero(events):
    minimal = events[["request_id", "occurred_at", "provider", "model", "input_tokens"]]
    result = qe.validate_events(minimal)
    assert result.success, result.summary()


def test_cached_tokens_above_input_fail(events):
    events.loc[3, "cache_read_tokens"] = 900  # 900 + 200 > 1000
    result = qe.validate_events(events)
    assert failed_columns(result) == {("input_tokens", "cached_input_tokens")}
    assert "req_003" in result.summary()


def test_reasoning_above_output_fails(events):
    events.loc[5, "reasoning_tokens"] = 301
    result = qe.validate_events(events)
    assert failed_columns(result) == {("output_tokens", "reasoning_tokens")}
    assert "req_005" in result.summary()


def test_cache_write_1h_above_cache_write_fails(events):
    events.loc[6, "cache_write_1h_tokens"] = 201
    result = qe.validate_events(events)
    assert failed_columns(result) == {("cache_write_tokens", "cache_write_1h_tokens")}


def test_negative_tokens_fail(events):
    events.loc[7, "cache_write_1h_tokens"] = -1
    result = qe.validate_events(events)
    assert failed_columns(result) == {"cache_write_1h_tokens"}
    assert result.failed[0]["unexpected_count"] == 1
    assert "req_007" in result.summary()
    events.loc[8, "output_tokens"] = -5
    assert "output_tokens" in failed_columns(qe.validate_events(events))


def test_unknown_status_and_tier_fail(events):
    events.loc[8, "status"] = "exploded"
    events.loc[9, "service_tier"] = "gold"
    result = qe.validate_events(events)
    assert failed_columns(result) == {"status", "service_tier"}
    assert "exploded" in result.summary()


def test_future_and_ancient_timestamps_fail(events):
    future = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=3)
    events.loc[10, "occurred_at"] = future.strftime("%Y-%m-%dT%H:%M:%SZ")
    events.loc[11, "occurred_at"] = "2019-12-31T23:59:59+00:00"
    result = qe.validate_events(events)
    assert failed_columns(result) == {"occurred_at_utc"}
    assert result.failed[0]["unexpected_count"] == 2
    assert "req_010" in result.summary() and "req_011" in result.summary()


def test_unparseable_values_and_missing_keys_fail(events):
    events.loc[12, "occurred_at"] = "last tuesday"
    events.loc[13, "request_id"] = ""
    events.loc[14, "quality_score"] = 1.5
    result = qe.validate_events(events)
    assert failed_columns(result) == {"unparseable_fields", "request_id", "quality_score"}
    assert "occurred_at='last tuesday'" in result.summary()


def test_mostly_tolerance(events):
    events.loc[0, "status"] = "exploded"  # 1 of 40 rows = 2.5 %
    assert not qe.validate_events(events).success
    assert qe.validate_events(events, mostly=0.95).success
    events.loc[1:3, "status"] = "exploded"  # 4 of 40 rows = 10 %
    tolerant = qe.validate_events(events, mostly=0.95)
    assert not tolerant.success
    assert failed_columns(tolerant) == {"status"}
    assert "tolerance 5.00%" in tolerant.summary()


def test_large_batch_reports_values_without_row_ids(events, monkeypatch):
    monkeypatch.setattr(gx, "ROW_ID_MAX_ROWS", 10)
    events.loc[8, "status"] = "exploded"
    result = qe.validate_events(events)
    (failure,) = result.failed
    assert failure["rows"] == []
    assert "exploded" in failure["detail"]


def test_landed_jsonl_with_absent_fields(tmp_path):
    lines = [
        {"request_id": "r1", "occurred_at": "2025-03-01T10:00:00+01:00", "provider": "openai",
         "model": "gpt-4o", "input_tokens": 100, "cache_read_tokens": 20, "output_tokens": 30,
         "metadata": {"a": 1}},
        {"request_id": "r2", "occurred_at": "2025-03-01T10:00:00.123Z", "provider": "anthropic",
         "model": "claude-sonnet-4", "input_tokens": 100, "cache_write_tokens": 120,
         "output_tokens": 30, "status": "error", "service_tier": None},
        {"request_id": "r3", "occurred_at": "2025-03-01T10:00:00Z", "provider": "anthropic",
         "model": "claude-sonnet-4", "input_tokens": "12x", "output_tokens": 3},
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = qe.validate_events(qe.read_landed_events([path]))
    assert failed_columns(result) == {"unparseable_fields", ("input_tokens", "cached_input_tokens")}
    summary = result.summary()
    assert "input_tokens='12x'" in summary and "r2" in summary


def test_landed_batch_check_reads_only_new_or_changed_files(warehouse_env):
    """A file that passed the landed-batch expectations is not read again while unchanged:
    a refresh without new data validates nothing; a new or changed file is validated; a
    failing file is never recorded; a full refresh validates the whole window again."""
    from datetime import date

    import duckdb

    from aiusage.refresh import RefreshOptions
    from aiusage.sample import generate

    settings = warehouse_env
    generate(
        settings.landing_dir,
        days=2,
        events_per_day=40,
        seed=5,
        end_date=date(2026, 11, 20),
        progress=False,
    )
    duckdb.connect(str(settings.duckdb_path)).close()  # the seeds' step creates it first

    def run(**options):
        batch = qe.validate_landed_batch(settings, RefreshOptions(**options), build_docs=False)
        return batch.success, batch.files, batch.already_validated

    assert run() == (True, 2, 0)
    assert run() == (True, 0, 2)  # nothing new: no file read
    day_file = next((settings.landing_dir / "events" / "dt=2026-11-20").glob("*.jsonl"))
    with day_file.open("a") as handle:  # a re-delivered (changed) file is read again
        handle.write(day_file.read_text().splitlines()[0] + "\n")
    assert run() == (True, 1, 1)
    bad = settings.landing_dir / "events" / "dt=2026-11-21" / "bad.jsonl"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"request_id": "x", "input_tokens": -5}\n' * 20)
    assert run()[:2] == (False, 1)
    assert run()[:2] == (False, 1)  # a failing file stays to validate
    bad.unlink()
    assert run(full_refresh=True) == (True, 2, 0)  # the window: 2026-11-17 .. 2026-11-20


def test_a_failing_landed_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "dt=2026-11-20" / "bad.jsonl"
    path.parent.mkdir()
    good = {"request_id": "ok", "occurred_at": "2026-11-20T10:00:00Z", "provider": "openai",
            "model": "gpt-4o", "input_tokens": 10, "output_tokens": 2}  # fmt: skip
    lines = [
        json.dumps(good),
        "",
        json.dumps({**good, "request_id": "r3", "cache_read_tokens": 50}),
    ]
    path.write_text("\n".join(lines) + "\n")
    result = qe.validate_events(qe.read_landed_events([path]))
    (failure,) = result.failed
    # the third line of the file (the blank second line counts, as staging counts lines)
    assert f"rows (source_file, line_number, request_id): ({path}, 3, r3)" in failure["detail"]


def test_landed_batch_check_reads_hostile_lines_without_crashing(tmp_path):
    """The blocking landed-batch suite (Great Expectations) over a few hundred generated
    hostile lines: one row per line that staging counts, no exception (a crash there would
    stop every refresh); the expectations fail, as they should."""
    lines = [row for rows in draw(st.lists(line, min_size=5, max_size=10), 40) for row in rows]
    lines += ['{"request_id": "x", "input_tokens": ' + "9" * 400 + "}", "[" * 5000 + "]" * 5000]
    lines += ["a\rb", "\r", '{"request_id": "y"}\r']
    landed = tmp_path / "hostile.jsonl"
    landed.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))

    frame = qe.read_landed_events([landed])
    result = qe.validate_events(frame, mostly=1.0, build_docs=False, docs_dir=tmp_path / "docs")

    assert len(frame) == sum(1 for row in lines if row.strip(" \t\r"))
    assert not result.success


def test_an_infinite_or_huge_token_count_is_unparseable_not_a_crash(tmp_path):
    """A batch whose every token count parses as a number, one of them "1e400" (infinity as
    a float) and one 1e30 (beyond int64): the check reports them, it does not crash."""
    good = {"request_id": "r", "occurred_at": "2026-11-19T10:00:00Z", "provider": "openai",
            "model": "gpt-4o-mini", "output_tokens": 1}  # fmt: skip
    path = tmp_path / "typed.jsonl"
    rows = [{**good, "request_id": "r1", "input_tokens": "12"},
            {**good, "request_id": "r2", "input_tokens": "1e400"},
            {**good, "request_id": "r3", "input_tokens": str(10**30)}]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    prepared = qe.prepare_events(qe.read_landed_events([path]))
    result = qe.validate_events(qe.read_landed_events([path]))

    assert not result.success
    flagged = prepared["unparseable_fields"].fillna("").tolist()
    assert ["input_tokens" in f for f in flagged] == [False, True, False]
    assert prepared["input_tokens"].tolist()[2] == 1e30  # kept as a float, not wrapped


def test_landed_lines_read_as_pythons_json_module_reads_them(tmp_path):
    """read_landed_events parses with orjson and falls back to json where orjson refuses a
    line or may have rounded an integer: every field's value (and its type: an exact int is
    not a float) is what json.loads gives, on the lines where the two parsers differ. A lone
    surrogate escape (json reads it into the string) becomes U+FFFD: pandas' text columns
    cannot hold one (the check crashed on such a line)."""
    big = "1" + "2" * 29  # beyond 64 bits: orjson reads it as a double
    lines = [
        '{"request_id": "r1", "input_tokens": ' + big + ', "output_tokens": -' + big + "}",
        '{"request_id": "r2", "input_tokens": ' + "9" * 400 + "}",  # beyond any double
        '{"request_id": "r3", "input_tokens": 18446744073709551615, "latency_ms": 1e300}',
        '{"request_id": "r4", "quality_score": NaN, "ttft_ms": Infinity}',
        '{"request_id": "r5\\ud800", "model": {"b": 1, "a": [2]}}',  # lone surrogate; an object
        '{"request_id": "r6", "request_id": "r6-last", "input_tokens": 9223372036854775808}',
        '{"request_id": "r7", "input_tokens": 12, "quality_score": 0.25}',
        '{"request_id": "r8", "provider": {"n": ' + big + "}}",  # an object's text: exact int
        '{"request_id": "r9", "model": ["a", 1.5], "quality_score": 0.5}',  # an array, a double
        "[1, 2]",
        "not json",
        "  \t",
        "[" * 5000 + "]" * 5000,
    ]
    landed = tmp_path / "mixed.jsonl"
    landed.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))

    frame = qe.read_landed_events([landed])

    fields = qe.suite_fields()
    expected = []
    for number, text in enumerate(lines, start=1):
        if not text.strip(" \t\r"):
            continue
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict):
            record = {}
        row = {field: record.get(field) for field in fields}
        if isinstance(row["request_id"], str):
            row["request_id"] = row["request_id"].replace("\ud800", "\ufffd")
        for field in ("model", "provider"):
            if isinstance(row[field], dict | list):
                row[field] = json.dumps(row[field], sort_keys=True, ensure_ascii=False)
        expected.append({**row, "line_number": number})
    # the frame json's rows would make, each column's type inferred from its values
    want = pd.DataFrame(expected, columns=[*fields, "line_number"])
    pd.testing.assert_frame_equal(frame[[*fields, "line_number"]], want)
    got = frame.to_dict("records")
    assert len(got) == 12
    assert got[0]["input_tokens"] == int(big) and isinstance(got[0]["input_tokens"], int)
    assert got[4]["model"] == '{"a": [2], "b": 1}'
    assert got[5]["request_id"] == "r6-last"
    assert got[4]["request_id"] == "r5\ufffd"
    assert got[7]["provider"] == '{"n": ' + big + "}"
    assert got[8]["model"] == '["a", 1.5]' and got[8]["quality_score"] == 0.5
    assert not qe.validate_events(frame, mostly=1.0).success  # the check runs, and fails
