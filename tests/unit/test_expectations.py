"""Great Expectations suites (expectations/gx) and their runner (orchestration/expectations.py)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from orchestration import expectations as ex

PRICE_COLUMNS = [
    "provider",
    "model",
    "valid_from",
    "valid_to",
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cache_read_usd_per_mtok",
    "cache_write_5m_usd_per_mtok",
    "cache_write_1h_usd_per_mtok",
    "tier_threshold_tokens",
    "tier_input_usd_per_mtok",
    "tier_output_usd_per_mtok",
    "tier_cache_read_usd_per_mtok",
    "source",
]


def price_rows() -> list[list[str]]:
    # As read from the CSV: all strings, empty = null.
    return [
        # consecutive windows of one model: [2024-05-13, 2024-10-01) then open-ended
        [
            "openai",
            "gpt-4o",
            "2024-05-13",
            "2024-10-01",
            "5",
            "15",
            "2.5",
            "",
            "",
            "",
            "",
            "",
            "",
            "openai.com/pricing",
        ],
        [
            "openai",
            "gpt-4o",
            "2024-10-01",
            "",
            "2.5",
            "10",
            "1.25",
            "",
            "",
            "",
            "",
            "",
            "",
            "openai.com/pricing",
        ],
        [
            "anthropic",
            "claude-sonnet-4",
            "2025-05-22",
            "",
            "3",
            "15",
            "0.3",
            "3.75",
            "6",
            "200000",
            "6",
            "22.5",
            "0.6",
            "anthropic.com/pricing",
        ],
        [
            "google",
            "gemini-2.5-pro",
            "2025-06-17",
            "",
            "1.25",
            "10",
            "0.31",
            "",
            "",
            "200000",
            "2.5",
            "15",
            "",
            "",
        ],
        ["mistral", "mistral-large", "2024-11-18", "", "2", "6", "", "", "", "", "", "", "", ""],
    ]


@pytest.fixture
def prices() -> pd.DataFrame:
    return pd.DataFrame(price_rows(), columns=PRICE_COLUMNS)


@pytest.fixture
def aliases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider": ["openai", "anthropic"],
            "model_alias": ["gpt-4o-2024-08-06", "claude-sonnet-4-20250514"],
            "model": ["gpt-4o", "claude-sonnet-4"],
        }
    )


@pytest.fixture
def events() -> pd.DataFrame:
    n = 40
    return pd.DataFrame(
        {
            "request_id": [f"req_{i:03d}" for i in range(n)],
            "occurred_at": [f"2025-03-01T10:{i:02d}:00Z" for i in range(n)],
            "provider": ["openai", "anthropic"] * (n // 2),
            "model": ["gpt-4o", "claude-sonnet-4"] * (n // 2),
            "input_tokens": [1000] * n,
            "cache_read_tokens": [600] * n,
            "cache_write_tokens": [200] * n,
            "cache_write_1h_tokens": [100] * n,
            "output_tokens": [300] * n,
            "reasoning_tokens": [50] * n,
            "service_tier": ["standard", None, "batch", "priority"] * (n // 4),
            "latency_ms": [1200] * n,
            "ttft_ms": [None, 300] * (n // 2),
            "status": ["success", "error", "timeout", "rate_limited", "cancelled"] * (n // 5),
            "quality_score": [0.0, 0.5, 1.0, None] * (n // 4),
            "metadata": [{"k": "v"}] * n,
        }
    )


def failed_columns(result: ex.SuiteResult) -> set:
    return {
        tuple(f["column"]) if isinstance(f["column"], list) else f["column"] for f in result.failed
    }


# --------------------------------------------------------------------------- prices


def test_valid_prices_pass(prices, aliases):
    result = ex.validate_prices(prices, aliases)
    assert result.success, result.summary()
    assert result.failed == []
    assert result.row_count == len(prices)
    assert result.evaluated == len(ex.load_suite_dict("model_prices")["expectations"])
    assert "all" in result.summary() and "passed" in result.summary()


def test_two_open_ended_windows_overlap_and_summary_names_both_rows(prices):
    prices.loc[len(prices)] = [
        "mistral",
        "mistral-large",
        "2025-02-01",
        "",
        "2",
        "6",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    result = ex.validate_prices(prices)
    assert not result.success
    assert failed_columns(result) == {"overlaps_other_window"}
    (failure,) = result.failed
    assert failure["unexpected_count"] == 2
    assert {(r["provider"], r["model"], r["valid_from"]) for r in failure["rows"]} == {
        ("mistral", "mistral-large", "2024-11-18"),
        ("mistral", "mistral-large", "2025-02-01"),
    }
    summary = result.summary()
    assert "overlap" in summary
    assert "(mistral, mistral-large, 2024-11-18)" in summary
    assert "(mistral, mistral-large, 2025-02-01)" in summary


def test_window_starting_before_previous_one_ends_overlaps(prices):
    prices.loc[1, "valid_from"] = "2024-09-01"  # previous window runs to 2024-10-01
    result = ex.validate_prices(prices)
    assert failed_columns(result) == {"overlaps_other_window"}
    summary = result.summary()
    assert "(openai, gpt-4o, 2024-05-13)" in summary
    assert "(openai, gpt-4o, 2024-09-01)" in summary


def test_negative_price_fails(prices):
    prices.loc[2, "output_usd_per_mtok"] = "-15"
    result = ex.validate_prices(prices)
    assert failed_columns(result) == {"output_usd_per_mtok"}
    assert result.failed[0]["partial_unexpected_list"] == [-15.0]
    assert "(anthropic, claude-sonnet-4, 2025-05-22)" in result.summary()


def test_cache_read_dearer_than_input_fails(prices):
    prices.loc[0, "cache_read_usd_per_mtok"] = "7.5"
    result = ex.validate_prices(prices)
    assert failed_columns(result) == {("input_usd_per_mtok", "cache_read_usd_per_mtok")}
    assert "(openai, gpt-4o, 2024-05-13)" in result.summary()


def test_tier_price_without_threshold_fails(prices):
    prices.loc[4, "tier_input_usd_per_mtok"] = "4"
    result = ex.validate_prices(prices)
    assert failed_columns(result) == {"tier_price_without_threshold"}
    assert "(mistral, mistral-large, 2024-11-18)" in result.summary()


def test_tier_threshold_without_prices_and_non_positive_threshold_fail(prices):
    prices.loc[4, "tier_threshold_tokens"] = "0"
    result = ex.validate_prices(prices)
    assert failed_columns(result) == {"tier_threshold_tokens", "tier_threshold_without_prices"}


def test_alias_to_unknown_model_fails(prices, aliases):
    aliases.loc[len(aliases)] = ["openai", "gpt-9-preview", "gpt-9"]
    result = ex.validate_prices(prices, aliases)
    assert failed_columns(result) == {"provider_model"}
    (failure,) = result.failed
    assert failure["partial_unexpected_list"] == ["openai/gpt-9"]
    assert "openai/gpt-9" in result.summary() and "gpt-9-preview" in result.summary()


def test_other_price_rules(prices):
    prices.loc[0, "provider"] = "openia"  # typo: unknown provider
    prices.loc[3, "valid_to"] = "2025-01-01"  # before valid_from
    prices.loc[2, "valid_to"] = "someday"  # not a date
    prices.loc[4, "input_usd_per_mtok"] = ""  # required
    result = ex.validate_prices(prices)
    cols = failed_columns(result)
    assert {
        "provider",
        ("valid_to_date", "valid_from_date"),
        "unparseable_fields",
        "input_usd_per_mtok",
    } <= cols
    assert "valid_to='someday'" in result.summary()


def test_duplicate_price_key_fails(prices):
    prices = pd.concat([prices, prices.iloc[[4]]], ignore_index=True)
    result = ex.validate_prices(prices)
    assert ("provider", "model", "valid_from_date") in failed_columns(result)
    assert "overlaps_other_window" in failed_columns(result)


# --------------------------------------------------------------------------- events


def test_valid_events_pass(events):
    result = ex.validate_events(events)
    assert result.success, result.summary()
    assert result.row_count == len(events)
    assert result.evaluated == len(ex.load_suite_dict("usage_events")["expectations"])


def test_missing_optional_columns_are_null_or_zero(events):
    minimal = events[["request_id", "occurred_at", "provider", "model", "input_tokens"]]
    result = ex.validate_events(minimal)
    assert result.success, result.summary()


def test_cached_tokens_above_input_fail(events):
    events.loc[3, "cache_read_tokens"] = 900  # 900 + 200 > 1000
    result = ex.validate_events(events)
    assert failed_columns(result) == {("input_tokens", "cached_input_tokens")}
    assert "req_003" in result.summary()


def test_reasoning_above_output_fails(events):
    events.loc[5, "reasoning_tokens"] = 301
    result = ex.validate_events(events)
    assert failed_columns(result) == {("output_tokens", "reasoning_tokens")}
    assert "req_005" in result.summary()


def test_cache_write_1h_above_cache_write_fails(events):
    events.loc[6, "cache_write_1h_tokens"] = 201
    result = ex.validate_events(events)
    assert failed_columns(result) == {("cache_write_tokens", "cache_write_1h_tokens")}


def test_negative_tokens_fail(events):
    events.loc[7, "cache_write_1h_tokens"] = -1
    result = ex.validate_events(events)
    assert failed_columns(result) == {"cache_write_1h_tokens"}
    assert result.failed[0]["unexpected_count"] == 1
    assert "req_007" in result.summary()
    events.loc[8, "output_tokens"] = -5
    assert "output_tokens" in failed_columns(ex.validate_events(events))


def test_unknown_status_and_tier_fail(events):
    events.loc[8, "status"] = "exploded"
    events.loc[9, "service_tier"] = "gold"
    result = ex.validate_events(events)
    assert failed_columns(result) == {"status", "service_tier"}
    assert "exploded" in result.summary()


def test_future_and_ancient_timestamps_fail(events):
    future = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=3)
    events.loc[10, "occurred_at"] = future.strftime("%Y-%m-%dT%H:%M:%SZ")
    events.loc[11, "occurred_at"] = "2019-12-31T23:59:59+00:00"
    result = ex.validate_events(events)
    assert failed_columns(result) == {"occurred_at_utc"}
    assert result.failed[0]["unexpected_count"] == 2
    assert "req_010" in result.summary() and "req_011" in result.summary()


def test_unparseable_values_and_missing_keys_fail(events):
    events.loc[12, "occurred_at"] = "last tuesday"
    events.loc[13, "request_id"] = ""
    events.loc[14, "quality_score"] = 1.5
    result = ex.validate_events(events)
    assert failed_columns(result) == {"unparseable_fields", "request_id", "quality_score"}
    assert "occurred_at='last tuesday'" in result.summary()


def test_mostly_tolerance(events):
    events.loc[0, "status"] = "exploded"  # 1 of 40 rows = 2.5 %
    assert not ex.validate_events(events).success
    assert ex.validate_events(events, mostly=0.95).success
    events.loc[1:3, "status"] = "exploded"  # 4 of 40 rows = 10 %
    tolerant = ex.validate_events(events, mostly=0.95)
    assert not tolerant.success
    assert failed_columns(tolerant) == {"status"}
    assert "tolerance 5.00%" in tolerant.summary()


def test_large_batch_reports_values_without_row_ids(events, monkeypatch):
    monkeypatch.setattr(ex, "ROW_ID_MAX_ROWS", 10)
    events.loc[8, "status"] = "exploded"
    result = ex.validate_events(events)
    (failure,) = result.failed
    assert failure["rows"] == []
    assert "exploded" in failure["detail"]


# --------------------------------------------------------------------------- docs, suites, runner


def test_data_docs_built_into_docs_dir(tmp_path, prices, events):
    docs = tmp_path / "gx_docs"
    result = ex.validate_prices(prices, build_docs=True, docs_dir=docs)
    assert result.docs_index == docs / "index.html"
    assert (docs / "index.html").is_file()
    ex.validate_events(events, build_docs=True, docs_dir=docs)
    index = (docs / "index.html").read_text()
    assert "model_prices" in index and "usage_events" in index  # history of both runs
    assert list((docs / "validations").rglob("*.html"))


def test_runs_write_nothing_under_expectations(prices, events):
    root = ex.gx_root()

    def snapshot() -> dict:
        return {p: p.stat().st_mtime_ns for p in root.rglob("*")}

    before = snapshot()
    ex.validate_prices(prices)
    ex.validate_events(events)
    assert snapshot() == before


def test_suite_json_is_native_gx_and_loads_in_the_file_context(tmp_path):
    copy = tmp_path / "expectations"
    shutil.copytree(ex.DEFAULT_CONTEXT_ROOT, copy)
    context = ex.open_file_context(copy)
    names = {s.name: len(s.expectations) for s in context.suites.all()}
    assert set(names) == {"model_prices", "usage_events", "fct_llm_requests", "warehouse_marts"}
    for name, count in names.items():
        assert count == len(ex.load_suite_dict(name)["expectations"])


def test_suite_edits_take_effect_and_invalid_entries_are_loud(tmp_path, events):
    root = tmp_path / "expectations"
    shutil.copytree(ex.DEFAULT_CONTEXT_ROOT, root)
    path = ex.suites_dir(root) / "usage_events.json"
    suite = json.loads(path.read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "provider", "value_set": ["openai"]},
            "description": "only openai",
        }
    )
    path.write_text(json.dumps(suite))
    result = ex.validate_events(events, context_root=root)
    assert failed_columns(result) == {"provider"}
    assert "only openai" in result.summary()

    suite["expectations"].append({"type": "expect_column_values_to_be_between", "kwargs": {}})
    path.write_text(json.dumps(suite))
    with pytest.raises(ValueError, match="is invalid"):
        ex.validate_events(events, context_root=root)


def test_run_checkpoint_directly():
    df = ex.prepare_prices(pd.DataFrame(price_rows(), columns=PRICE_COLUMNS))
    result = ex.run_checkpoint("model_prices", df, suite_parameters={"alias_targets": []})
    assert result.success and result.suite == "model_prices"
    with pytest.raises(FileNotFoundError):
        ex.run_checkpoint("no_such_suite", df)


def test_summary_lists_every_failure():
    result = ex.SuiteResult(
        suite="s",
        success=False,
        evaluated=3,
        row_count=1,
        failed=[{"detail": "first broke."}, {"detail": "second broke."}],
    )
    assert result.summary() == (
        "Suite s: 2 of 3 expectations failed on 1 row. (1) first broke. (2) second broke."
    )


def test_seed_file_passes_when_present():
    seed = ex.REPO_ROOT / "seeds" / "model_prices.csv"
    if not seed.exists():
        pytest.skip("no seeds/model_prices.csv yet")
    alias_csv = ex.REPO_ROOT / "seeds" / "model_aliases.csv"
    aliases = ex.load_prices_csv(alias_csv) if alias_csv.exists() else None
    result = ex.validate_prices(ex.load_prices_csv(seed), aliases)
    assert result.success, result.summary()


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
    result = ex.validate_events(ex.load_events_jsonl([path]))
    assert failed_columns(result) == {"unparseable_fields", ("input_tokens", "cached_input_tokens")}
    summary = result.summary()
    assert "input_tokens='12x'" in summary and "r2" in summary
