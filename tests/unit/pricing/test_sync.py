"""`aiusage pricing sync`: prices and their history from genai-prices into the seed, hand
rows kept, idempotent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pandas as pd
import pytest
from click.testing import CliRunner

from aiusage import sample
from aiusage.cli import main
from aiusage.pricing.sync import Window, sync_rows
from aiusage.quality import prices as qp
from tests.support.seeds import SEEDS, copy_price_seeds, read_rows, write_rows


@pytest.fixture
def seeds(tmp_path):
    return copy_price_seeds(tmp_path)


def _sync(seeds_dir, *args):
    result = CliRunner().invoke(main, ["pricing", "sync", "--seeds-dir", str(seeds_dir), *args])
    assert result.exit_code == 0, result.output
    return read_rows(seeds_dir / "model_prices.csv")


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
    rows = read_rows(path)
    fields = list(rows[0])
    for row in rows:
        if (row["provider"], row["model"]) == ("openai", "gpt-4.1"):
            row["input_usd_per_mtok"] = "9.99"  # stale synced price: sync must restore 2.00
        if (row["provider"], row["model"]) == ("openai", "gpt-4o") and row["source"] != (
            "genai-prices"
        ):
            row["output_usd_per_mtok"] = "15.50"  # a private contract: sync must keep it
    write_rows(path, rows, fields)

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
    before = sorted(tuple(r.values()) for r in read_rows(seeds / "model_prices.csv"))
    after = sorted(tuple(r.values()) for r in _sync(seeds))
    assert after == before


def test_o3_price_cut_gives_two_windows(seeds):
    # With the shipped seed: the hand-edited launch price, then genai-prices' cut price.
    assert _windows(read_rows(seeds / "model_prices.csv"), "openai", "o3") == [
        ("2025-04-16 00:00:00", "2025-06-10 00:00:00", Decimal(10), Decimal(40), "list_price"),
        ("2025-06-10 00:00:00", "", Decimal(2), Decimal(8), "genai-prices"),
    ]
    # From genai-prices alone (model new to the seed): its history gives the two windows.
    path = seeds / "model_prices.csv"
    rows = [r for r in read_rows(path) if r["model"] != "o3"]
    write_rows(path, rows, list(rows[0]))
    synced = _sync(seeds, "--all", "--providers", "openai", "--new-model-start", "2025-04-16")
    assert _windows(synced, "openai", "o3") == [
        ("2025-04-16 00:00:00", "2025-06-10 00:00:00", Decimal(10), Decimal(40), "genai-prices"),
        ("2025-06-10 00:00:00", "", Decimal(2), Decimal(8), "genai-prices"),
    ]
    assert all(result.success for result in qp.validate_price_seeds(seeds))


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
    window = Window(
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
    rows = sync_rows([old, hand], [window])
    spans = sorted((r["valid_from"], r["valid_to"], r["source"]) for r in rows)
    assert spans == [
        ("2025-01-01 00:00:00", "2025-03-01 12:00:00", "genai-prices"),
        ("2025-03-01 12:00:00", "2025-04-01 00:00:00", "contract"),
        ("2025-04-01 00:00:00", "", "genai-prices"),
    ]
    assert qp.validate_prices(pd.DataFrame(rows)).success
    # Without synced history, the undated price starts after the hand rows.
    rows = sync_rows([hand], [window])
    assert sorted((r["valid_from"], r["valid_to"]) for r in rows) == [
        ("2025-03-01 12:00:00", "2025-04-01 00:00:00"),
        ("2025-04-01 00:00:00", ""),
    ]


def test_every_generated_model_is_priced_from_its_first_day():
    prices = read_rows(SEEDS / "model_prices.csv")
    aliases = {
        (r["provider"], r["model_alias"]): r["model"]
        for r in read_rows(SEEDS / "model_aliases.csv")
    }
    for model, spec in sample.MODELS.items():
        rows = [r for r in prices if (r["provider"], r["model"]) == (spec.provider, model)]
        if model in sample.UNPRICED_MODELS:
            assert rows == [], model
            continue
        assert rows, model
        first = min(datetime.fromisoformat(r["valid_from"]) for r in rows)
        assert first.date() <= sample.MODEL_AVAILABLE_FROM[model], model
        assert any(r["valid_to"] == "" for r in rows), f"{model} has no current price"
    for alias, model in sample.MODEL_ALIASES.items():
        provider = sample.MODELS[model].provider
        assert aliases.get((provider, alias)) == model, alias


def _window(model, start=None, end=None, id_date=None, inp="1", out="2"):
    row = {"input_usd_per_mtok": Decimal(inp), "output_usd_per_mtok": Decimal(out)}
    return Window("openrouter", model, model, start, end, row, id_date)


def test_a_first_price_without_a_source_date_is_marked_estimated():
    from datetime import date

    rows = sync_rows(
        [],
        [
            # undated and no date in its ids: starts at --new-model-start, estimated
            _window("v/plain"),
            # undated, a dated snapshot among its ids: starts there, still estimated
            _window("v/snap", id_date=date(2024, 7, 18)),
            # dated by the source (a price change): not estimated
            _window("v/changed", end=date(2025, 6, 1)),
            _window("v/changed", start=date(2025, 6, 1), inp="0.5"),
        ],
        new_model_start="2023-01-01",
    )
    got = {(r["model"], r["valid_from"]): r["valid_from_is_estimated"] for r in rows}
    assert got == {
        ("v/plain", "2023-01-01 00:00:00"): "true",
        ("v/snap", "2024-07-18 00:00:00"): "true",
        ("v/changed", "2023-01-01 00:00:00"): "true",
        ("v/changed", "2025-06-01 00:00:00"): "false",
    }
    # the seed remembers the flag: a second sync keeps the start and the estimate
    assert sync_rows(rows, [_window("v/plain")])[0]["valid_from_is_estimated"] == "true"


def test_the_whole_catalogue_with_its_match_rules_and_free_models():
    """On genai-prices' own data (not the seed): every provider by default, OpenRouter's
    exact match rules as aliases, :free variants at $0 (not the paid model's price)."""
    from genai_prices.data import providers

    from aiusage.pricing.sync import genai_aliases, genai_windows

    windows = genai_windows()
    assert {w.provider for w in windows} >= {"openrouter", "openai", "aws", "azure", "mistral"}
    aliases = {(a["provider"], a["model_alias"]): a["model"] for a in genai_aliases()}
    openrouter = next(p for p in providers if p.id == "openrouter")
    found = openrouter.find_model("anthropic/claude-4.6-sonnet-20260217")
    assert aliases[("openrouter", "anthropic/claude-4.6-sonnet-20260217")] == found.id
    free = [w for w in windows if w.provider == "openrouter" and w.model.endswith(":free")]
    assert free and all(w.row == {"input_usd_per_mtok": 0, "output_usd_per_mtok": 0} for w in free)


def test_seed_changes_are_readable_and_standard_tiers_are_added(tmp_path):
    from aiusage.pricing.sync import ensure_standard_tiers, seed_changes

    base = {"provider": "openai", "model": "m", "valid_to": "", "source": "genai-prices",
            "output_usd_per_mtok": "2"}  # fmt: skip
    before = [{**base, "valid_from": "2025-01-01 00:00:00", "input_usd_per_mtok": "1"}]
    after = [
        {**base, "valid_from": "2025-01-01 00:00:00", "input_usd_per_mtok": "1.5"},
        {**base, "model": "n", "valid_from": "2025-01-01 00:00:00", "input_usd_per_mtok": "1"},
    ]
    changes = seed_changes(before, after)
    assert changes["new_models"] == [("openai", "n")]
    assert changes["changed"] == ["openai/m from 2025-01-01 00:00:00: input_usd_per_mtok 1 -> 1.5"]
    tiers = tmp_path / "service_tier_multipliers.csv"
    # a model's own standard row is not the provider's (model *): both providers get one
    tiers.write_text(
        "provider,model,service_tier,multiplier\nopenai,*,batch,0.5\nopenai,gpt-5,standard,1.1\n"
    )
    assert ensure_standard_tiers(tiers, after + [{**base, "provider": "x-ai"}]) == [
        "openai", "x-ai"
    ]  # fmt: skip
    assert tiers.read_text().splitlines()[1:] == [
        "openai,*,batch,0.5", "openai,gpt-5,standard,1.1", "openai,*,standard,1.0",
        "x-ai,*,standard,1.0",
    ]  # fmt: skip
    # a seed written before the model column keeps its three columns
    tiers.write_text("provider,service_tier,multiplier\nopenai,batch,0.5\n")
    assert ensure_standard_tiers(tiers, after) == ["openai"]
    assert tiers.read_text().splitlines() == [
        "provider,service_tier,multiplier", "openai,batch,0.5", "openai,standard,1.0"
    ]  # fmt: skip
