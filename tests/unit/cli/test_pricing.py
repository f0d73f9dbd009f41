"""`aiusage pricing validate`: the seeds against their rules (the expectation suites a refresh
runs), failures named by row, differences with genai-prices listed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from aiusage.cli import main
from tests.support.seeds import SEEDS, copy_price_seeds, read_rows, write_rows


@pytest.fixture
def seeds(tmp_path):
    return copy_price_seeds(tmp_path)


def _validate(seeds_dir, *args):
    return CliRunner().invoke(main, ["pricing", "validate", "--seeds-dir", str(seeds_dir), *args])


def test_validate_shipped_seed_is_clean_and_lists_differences():
    result = _validate(SEEDS)
    assert result.exit_code == 0, result.output
    assert "Seeds OK" in result.output and "pass every rule" in result.output
    # The hand-edited o3 launch row (cache read 2.50) differs from genai-prices (0.5).
    assert "openai/o3 from 2025-04-16 00:00:00 (list_price): cache_read_usd_per_mtok" in (
        result.output
    )


def test_validate_fails_on_structural_errors_and_names_rows(seeds):
    path = seeds / "model_prices.csv"
    rows = read_rows(path)
    fields = list(rows[0])
    extra = dict(rows[0], valid_from="2024-06-01 00:00:00", valid_to="")  # overlaps
    for row in rows:
        if row["model"] == "gpt-4.1-mini":
            row["output_usd_per_mtok"] = "-1.60"
        if row["model"] == "gpt-5":
            row["cache_read_usd_per_mtok"] = "2.00"  # above input 1.25
    write_rows(path, [*rows, extra], fields)
    aliases = read_rows(seeds / "model_aliases.csv")
    aliases.append(
        {
            "provider": "openai",
            "model_alias": "gpt-9-2027",
            "model": "gpt-9",
            "source": "hand_edited",
        }  # fmt: skip
    )
    write_rows(seeds / "model_aliases.csv", aliases, ["provider", "model_alias", "model", "source"])

    result = _validate(seeds)
    assert result.exit_code == 1
    lines = result.output.splitlines()

    def failure(rule):
        (line,) = [line for line in lines if line.strip().startswith(rule)]
        return line

    overlap = failure("no two price windows")
    first = f"({rows[0]['provider']}, {rows[0]['model']}"
    assert (
        f"{first}, 2024-06-01)" in overlap and f"{first}, {rows[0]['valid_from'][:10]}" in overlap
    )
    assert "(openai, gpt-4.1-mini," in failure("output_usd_per_mtok is >= 0")
    assert "(openai, gpt-5," in failure("cache_read_usd_per_mtok <= input_usd_per_mtok")
    assert "openai/gpt-9 (alias gpt-9-2027)" in failure("1 model alias target(s) have no price")


def test_validate_fails_on_non_positive_multiplier_or_fx_rate(seeds):
    rows = read_rows(seeds / "service_tier_multipliers.csv")
    rows[1]["multiplier"] = "-0.5"
    write_rows(seeds / "service_tier_multipliers.csv", rows, list(rows[0]))
    rows = read_rows(seeds / "fx_rates.csv")
    rows[0]["usd_rate"] = "0"
    write_rows(seeds / "fx_rates.csv", rows, list(rows[0]))
    result = _validate(seeds)
    assert result.exit_code == 1
    out = result.output
    assert "FAILED service_tier_multipliers:" in out and "FAILED fx_rates:" in out
    assert "multiplier is > 0" in out and "(openai, *, batch)" in out
    assert "usd_rate (units of the currency per USD) is > 0" in out and "(EUR, 2024-01-01)" in out
