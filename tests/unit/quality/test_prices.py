"""The rules of the price seeds (the model_prices, service_tier_multipliers and fx_rates
suites), run on pandas batches as the refresh and `aiusage pricing validate` run them."""

from __future__ import annotations

import pandas as pd
import pytest

from aiusage.quality import gx
from aiusage.quality import prices as qp
from tests.conftest import PROJECT_DIR
from tests.unit.quality.conftest import failed_columns


@pytest.fixture
def aliases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider": ["openai", "anthropic"],
            "model_alias": ["gpt-4o-2024-08-06", "claude-sonnet-4-20250514"],
            "model": ["gpt-4o", "claude-sonnet-4"],
        }
    )


def test_valid_prices_pass(prices, aliases):
    result = qp.validate_prices(prices, aliases)
    assert result.success, result.summary()
    assert result.failed == []
    assert result.row_count == len(prices)
    assert result.evaluated == len(gx.load_suite_dict("model_prices")["expectations"])
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
    result = qp.validate_prices(prices)
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
    result = qp.validate_prices(prices)
    assert failed_columns(result) == {"overlaps_other_window"}
    summary = result.summary()
    assert "(openai, gpt-4o, 2024-05-13)" in summary
    assert "(openai, gpt-4o, 2024-09-01)" in summary


def test_negative_price_fails(prices):
    prices.loc[2, "output_usd_per_mtok"] = "-15"
    result = qp.validate_prices(prices)
    assert failed_columns(result) == {"output_usd_per_mtok"}
    assert result.failed[0]["partial_unexpected_list"] == [-15.0]
    assert "(anthropic, claude-sonnet-4, 2025-05-22)" in result.summary()


def test_cache_read_dearer_than_input_fails(prices):
    prices.loc[0, "cache_read_usd_per_mtok"] = "7.5"
    result = qp.validate_prices(prices)
    assert failed_columns(result) == {("input_usd_per_mtok", "cache_read_usd_per_mtok")}
    assert "(openai, gpt-4o, 2024-05-13)" in result.summary()


def test_tier_price_without_threshold_fails(prices):
    prices.loc[4, "tier_input_usd_per_mtok"] = "4"
    result = qp.validate_prices(prices)
    assert failed_columns(result) == {"tier_price_without_threshold"}
    assert "(mistral, mistral-large, 2024-11-18)" in result.summary()


def test_tier_threshold_without_prices_and_non_positive_threshold_fail(prices):
    prices.loc[4, "tier_threshold_tokens"] = "0"
    result = qp.validate_prices(prices)
    assert failed_columns(result) == {"tier_threshold_tokens", "tier_threshold_without_prices"}


def test_alias_to_unknown_model_fails(prices, aliases):
    aliases.loc[len(aliases)] = ["openai", "gpt-9-preview", "gpt-9"]
    result = qp.validate_prices(prices, aliases)
    assert failed_columns(result) == {"provider_model"}
    (failure,) = result.failed
    assert failure["partial_unexpected_list"] == ["openai/gpt-9"]
    assert "openai/gpt-9" in result.summary() and "gpt-9-preview" in result.summary()


def test_other_price_rules(prices):
    prices.loc[0, "provider"] = "openia"  # typo: unknown provider
    prices.loc[3, "valid_to"] = "2025-01-01"  # before valid_from
    prices.loc[2, "valid_to"] = "someday"  # not a date
    prices.loc[4, "input_usd_per_mtok"] = ""  # required
    result = qp.validate_prices(prices)
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
    result = qp.validate_prices(prices)
    assert ("provider", "model", "valid_from_date") in failed_columns(result)
    assert "overlaps_other_window" in failed_columns(result)


def test_seed_file_passes_when_present():
    seed = PROJECT_DIR / "seeds" / "model_prices.csv"
    if not seed.exists():
        pytest.skip("no seeds/model_prices.csv yet")
    alias_csv = PROJECT_DIR / "seeds" / "model_aliases.csv"
    aliases = qp.read_seed(alias_csv) if alias_csv.exists() else None
    result = qp.validate_prices(qp.read_seed(seed), aliases)
    assert result.success, result.summary()


def test_price_suite_accepts_a_mid_day_change_and_rejects_a_mid_day_overlap():
    rows = qp.read_seed(PROJECT_DIR / "seeds" / "model_prices.csv").to_dict("records")
    o3 = [r for r in rows if r["model"] == "o3"]
    o3[0]["valid_to"] = "2025-06-10 12:00:00"
    o3[1]["valid_from"] = "2025-06-10 12:00:00"
    assert qp.validate_prices(pd.DataFrame(rows)).success
    o3[0]["valid_to"] = "2025-06-10 12:00:01"
    result = qp.validate_prices(pd.DataFrame(rows))
    assert not result.success
    assert "overlap" in result.summary() and "2025-06-10 12:00:00" in result.summary()


def test_a_tier_multiplier_per_model_beside_the_provider_row(tmp_path):
    """A row naming the model (OpenAI's priority premium differs by model) may sit beside
    the provider's row with an empty model; two rows of one (provider, model, tier) fail,
    and so do two provider rows."""
    seed = tmp_path / "service_tier_multipliers.csv"
    seed.write_text(
        "provider,model,service_tier,multiplier\n"
        "openai,,priority,1.75\nopenai,gpt-5,priority,2.0\nopenai,gpt-4o,priority,1.7\n"
    )
    assert qp.validate_price_seed(qp.MULTIPLIERS_SUITE, tmp_path).success
    seed.write_text(
        "provider,model,service_tier,multiplier\n"
        "openai,,priority,1.75\nopenai,,priority,2.0\nopenai,gpt-5,priority,2.0\n"
        "openai,gpt-5,priority,2.5\n"
    )
    result = qp.validate_price_seed(qp.MULTIPLIERS_SUITE, tmp_path)
    assert not result.success
    (failure,) = result.failed
    assert failure["column"] == ["provider", "model", "service_tier"]
    assert "4 of 4 row(s) fail" in failure["detail"]
    assert "(openai, *, priority)" in failure["detail"]
