"""`aiusage pricing sync|validate`, the currency helper and the price seeds vs the generator."""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime
from decimal import Decimal

import pytest
from click.testing import CliRunner

from orchestration import generate as gen
from orchestration import pricing
from orchestration.cli import main
from orchestration.report import convert_currency
from tests.conftest import PROJECT_DIR

SEEDS = PROJECT_DIR / "seeds"


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path, rows, fields):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def seeds(tmp_path):
    for name in (
        "model_prices.csv",
        "model_aliases.csv",
        "service_tier_multipliers.csv",
        "fx_rates.csv",
    ):
        shutil.copy(SEEDS / name, tmp_path / name)
    return tmp_path


def _sync(seeds_dir, *args):
    result = CliRunner().invoke(main, ["pricing", "sync", "--seeds-dir", str(seeds_dir), *args])
    assert result.exit_code == 0, result.output
    return _rows(seeds_dir / "model_prices.csv")


def _validate(seeds_dir, *args):
    return CliRunner().invoke(main, ["pricing", "validate", "--seeds-dir", str(seeds_dir), *args])


def _windows(rows, provider, model):
    return sorted(
        (
            r["valid_from"],
            r["valid_to"],
            Decimal(r["input_usd_per_mtok"]),
            Decimal(r["output_usd_per_mtok"]),
            r["source"],
        )
        for r in rows
        if (r["provider"], r["model"]) == (provider, model)
    )


def test_sync_keeps_hand_rows_updates_genai_rows_and_is_idempotent(seeds):
    path = seeds / "model_prices.csv"
    rows = _rows(path)
    fields = list(rows[0])
    for row in rows:
        if (row["provider"], row["model"]) == ("openai", "gpt-4.1"):
            row["input_usd_per_mtok"] = "9.99"  # stale synced price: sync must restore 2.00
        if (row["provider"], row["model"]) == ("openai", "gpt-4o") and row["source"] != (
            "genai-prices"
        ):
            row["output_usd_per_mtok"] = "15.50"  # a private contract: sync must keep it
    _write(path, rows, fields)

    synced = _sync(seeds)
    assert (
        "2024-05-13 00:00:00",
        "2024-10-02 00:00:00",
        Decimal("5.00"),
        Decimal("15.50"),
        "list_price",
    ) in _windows(synced, "openai", "gpt-4o")
    assert _windows(synced, "openai", "gpt-4.1") == [
        ("2025-04-14 00:00:00", "", Decimal("2"), Decimal("8"), "genai-prices")
    ]
    first = path.read_bytes()
    _sync(seeds)
    assert path.read_bytes() == first


def test_shipped_seed_is_already_synced(seeds):
    before = sorted(tuple(r.values()) for r in _rows(seeds / "model_prices.csv"))
    after = sorted(tuple(r.values()) for r in _sync(seeds))
    assert after == before


def test_o3_price_cut_gives_two_windows(seeds):
    # With the shipped seed: the hand-edited launch price, then genai-prices' cut price.
    assert _windows(_rows(seeds / "model_prices.csv"), "openai", "o3") == [
        ("2025-04-16 00:00:00", "2025-06-10 00:00:00", Decimal(10), Decimal(40), "list_price"),
        ("2025-06-10 00:00:00", "", Decimal(2), Decimal(8), "genai-prices"),
    ]
    # From genai-prices alone (model new to the seed): its history gives the two windows.
    path = seeds / "model_prices.csv"
    rows = [r for r in _rows(path) if r["model"] != "o3"]
    _write(path, rows, list(rows[0]))
    synced = _sync(seeds, "--all", "--providers", "openai", "--new-model-start", "2025-04-16")
    assert _windows(synced, "openai", "o3") == [
        ("2025-04-16 00:00:00", "2025-06-10 00:00:00", Decimal(10), Decimal(40), "genai-prices"),
        ("2025-06-10 00:00:00", "", Decimal(2), Decimal(8), "genai-prices"),
    ]
    assert _validate(seeds).exit_code == 0


def test_sync_clips_genai_windows_around_hand_rows():
    hand = {
        "provider": "openai",
        "model": "m",
        "valid_from": "2025-03-01 12:00:00",
        "valid_to": "2025-04-01 00:00:00",
        "input_usd_per_mtok": "1",
        "output_usd_per_mtok": "2",
        "source": "contract",
    }
    window = pricing.Window(
        "openai",
        "m",
        "m",
        None,
        None,
        {"input_usd_per_mtok": Decimal(3), "output_usd_per_mtok": Decimal(4)},
    )
    # The seed remembers the model's first synced row (2025-01-01): genai-prices' undated
    # price starts there and is cut around the hand-edited contract row.
    old = {
        "provider": "openai",
        "model": "m",
        "valid_from": "2025-01-01 00:00:00",
        "valid_to": "",
        "input_usd_per_mtok": "3",
        "output_usd_per_mtok": "4",
        "source": "genai-prices",
    }
    rows = pricing.sync_rows([old, hand], [window])
    spans = sorted((r["valid_from"], r["valid_to"], r["source"]) for r in rows)
    assert spans == [
        ("2025-01-01 00:00:00", "2025-03-01 12:00:00", "genai-prices"),
        ("2025-03-01 12:00:00", "2025-04-01 00:00:00", "contract"),
        ("2025-04-01 00:00:00", "", "genai-prices"),
    ]
    assert pricing.structural_errors(rows, []) == []
    # Without synced history, the undated price starts after the hand rows.
    rows = pricing.sync_rows([hand], [window])
    assert sorted((r["valid_from"], r["valid_to"]) for r in rows) == [
        ("2025-03-01 12:00:00", "2025-04-01 00:00:00"),
        ("2025-04-01 00:00:00", ""),
    ]


def test_validate_shipped_seed_is_clean_and_lists_differences():
    result = _validate(SEEDS)
    assert result.exit_code == 0, result.output
    assert "no structural error" in result.output
    # The hand-edited o3 launch row (cache read 2.50) differs from genai-prices (0.5).
    assert "openai/o3 from 2025-04-16 00:00:00 (list_price): cache_read_usd_per_mtok" in (
        result.output
    )


def test_validate_fails_on_structural_errors_and_names_rows(seeds):
    path = seeds / "model_prices.csv"
    rows = _rows(path)
    fields = list(rows[0])
    extra = dict(rows[0], valid_from="2024-06-01 00:00:00", valid_to="")  # overlaps
    for row in rows:
        if row["model"] == "gpt-4.1-mini":
            row["output_usd_per_mtok"] = "-1.60"
        if row["model"] == "gpt-5":
            row["cache_read_usd_per_mtok"] = "2.00"  # above input 1.25
    _write(path, [*rows, extra], fields)
    aliases = _rows(seeds / "model_aliases.csv")
    aliases.append({"provider": "openai", "model_alias": "gpt-9-2027", "model": "gpt-9"})
    _write(seeds / "model_aliases.csv", aliases, ["provider", "model_alias", "model"])

    result = _validate(seeds)
    assert result.exit_code == 1
    out = result.output
    assert "overlapping windows" in out and "openai/gpt-4o" in out
    assert "negative output_usd_per_mtok" in out and "gpt-4.1-mini" in out
    assert "cache_read_usd_per_mtok 2.00 > input_usd_per_mtok 1.25" in out
    assert "gpt-9-2027 -> gpt-9, which has no price row" in out


def test_validate_fails_on_non_positive_multiplier_or_fx_rate(seeds):
    rows = _rows(seeds / "service_tier_multipliers.csv")
    rows[1]["multiplier"] = "-0.5"
    _write(seeds / "service_tier_multipliers.csv", rows, list(rows[0]))
    rows = _rows(seeds / "fx_rates.csv")
    rows[0]["usd_rate"] = "0"
    _write(seeds / "fx_rates.csv", rows, list(rows[0]))
    result = _validate(seeds)
    assert result.exit_code == 1
    assert "service_tier_multipliers.csv line 3: multiplier must be > 0 (got -0.5)" in result.output
    assert "fx_rates.csv line 2: usd_rate must be > 0 (got 0)" in result.output


def test_fx_rate_takes_the_rate_valid_on_the_day(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text(
        "currency,valid_from,usd_rate,source\nEUR,2025-01-01,0.9650,x\nEUR,2025-07-01,0.8550,x\n"
    )
    assert pricing.fx_rate(path, "eur", date(2025, 6, 30)) == (Decimal("0.9650"), date(2025, 1, 1))
    assert pricing.fx_rate(path, "EUR", date(2025, 7, 1)) == (Decimal("0.8550"), date(2025, 7, 1))
    assert pricing.fx_rate(path, "USD", date(2025, 7, 1))[0] == 1
    with pytest.raises(ValueError, match="no EUR rate valid on 2024-12-31"):
        pricing.fx_rate(path, "EUR", date(2024, 12, 31))
    with pytest.raises(ValueError, match="no GBP rate"):
        pricing.fx_rate(path, "GBP", date(2025, 7, 1))


def test_convert_currency_converts_every_money_field_and_stamps_the_rate():
    report = {
        "summary": {"requests": 3, "total_cost_usd": Decimal("10.00"), "cost_change_pct": 5.0},
        "by_team": [
            {"team": "a", "total_cost_usd": Decimal("4"), "requests": 1},
            {"team": "b", "total_cost_usd": None, "requests": 2},
        ],
    }
    out = convert_currency(report, "EUR", Decimal("0.855"), date(2026, 1, 1))
    assert out["summary"] == {
        "requests": 3,
        "total_cost_eur": Decimal("8.55"),
        "cost_change_pct": 5.0,
    }
    assert out["by_team"][0]["total_cost_eur"] == Decimal("3.420")
    assert out["by_team"][1]["total_cost_eur"] is None
    assert out["currency"] == {
        "code": "EUR",
        "usd_rate": Decimal("0.855"),
        "rate_valid_from": date(2026, 1, 1),
    }


def test_every_generated_model_is_priced_from_its_first_day():
    prices = _rows(SEEDS / "model_prices.csv")
    aliases = {
        (r["provider"], r["model_alias"]): r["model"] for r in _rows(SEEDS / "model_aliases.csv")
    }
    for model, spec in gen.MODELS.items():
        rows = [r for r in prices if (r["provider"], r["model"]) == (spec.provider, model)]
        if model in gen.UNPRICED_MODELS:
            assert rows == [], model
            continue
        assert rows, model
        first = min(datetime.fromisoformat(r["valid_from"]) for r in rows)
        assert first.date() <= gen.MODEL_AVAILABLE_FROM[model], model
        assert any(r["valid_to"] == "" for r in rows), f"{model} has no current price"
    for alias, model in gen.MODEL_ALIASES.items():
        provider = gen.MODELS[model].provider
        assert aliases.get((provider, alias)) == model, alias


def test_price_suite_accepts_a_mid_day_change_and_rejects_a_mid_day_overlap():
    from orchestration.expectations import validate_prices

    rows = _rows(SEEDS / "model_prices.csv")
    o3 = [r for r in rows if r["model"] == "o3"]
    o3[0]["valid_to"] = "2025-06-10 12:00:00"
    o3[1]["valid_from"] = "2025-06-10 12:00:00"
    import pandas as pd

    assert validate_prices(pd.DataFrame(rows)).success
    o3[0]["valid_to"] = "2025-06-10 12:00:01"
    result = validate_prices(pd.DataFrame(rows))
    assert not result.success
    assert "overlap" in result.summary() and "2025-06-10 12:00:00" in result.summary()
