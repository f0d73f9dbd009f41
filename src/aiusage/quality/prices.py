"""The rules of the price seeds, as Great Expectations suites: model_prices (with its alias
targets), service_tier_multipliers and fx_rates.

These suites are the one rule set of the price seeds: the refresh runs them as blocking
asset checks before any model reads the seeds, and `aiusage pricing validate` runs them
from the command line. Rules GX has no expectation for (overlapping validity windows, tier
consistency, "did this field parse", alias targets without a price) are derived columns
computed here, which the suites expect to be false or null.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aiusage.pricing.seed import MONEY_FIELDS
from aiusage.quality.checks import FX_RATES_SUITE, MULTIPLIERS_SUITE, PRICE_SEEDS, PRICES_SUITE
from aiusage.quality.failures import join_items
from aiusage.quality.frames import clean_text, nulls, to_numbers, to_timestamps, unparseable
from aiusage.quality.gx import SuiteResult, run_checkpoint

TIER_PRICE_COLUMNS = [f for f in MONEY_FIELDS if f.startswith("tier_")]
PRICE_TEXT_COLUMNS = ["provider", "model", "valid_from", "valid_to", "source"]
PRICE_NUMBER_COLUMNS = [*MONEY_FIELDS, "tier_threshold_tokens"]


def validate_prices(
    prices: pd.DataFrame,
    aliases: pd.DataFrame | None = None,
    context_root: Path | None = None,
    build_docs: bool = False,
    docs_dir: Path | None = None,
) -> SuiteResult:
    """Validate the price seed (strings as read from ``seeds/model_prices.csv`` or typed values).

    ``aliases`` (columns provider, model_alias, model), when given, adds the check that every
    alias target (provider, model) has at least one price row.
    """
    prepared = prepare_prices(prices)
    targets: dict[str, list[str]] = {}
    if aliases is not None:
        targets = _alias_targets(aliases)
    result = run_checkpoint(
        PRICES_SUITE,
        prepared,
        context_root=context_root,
        build_docs=build_docs,
        docs_dir=docs_dir,
        suite_parameters={"alias_targets": sorted(targets)},
    )
    # Name the aliases behind each unpriced target (GX only knows the target).
    for f in result.failed:
        if f["column"] == "provider_model" and targets:
            missing = f["partial_unexpected_list"]
            named = [f"{t} (alias {', '.join(targets.get(t, []))})" for t in missing]
            f["detail"] = (
                f"{len(missing)} model alias target(s) have no price row: {join_items(named)}."
            )
    return result


def prepare_prices(prices: pd.DataFrame) -> pd.DataFrame:
    """The price table typed and with the derived columns the ``model_prices`` suite checks.

    Empty strings are nulls; missing optional columns are added as nulls.  ``valid_from`` /
    ``valid_to`` keep their text (normalized to YYYY-MM-DD when it parses) so failures name rows
    as written; ``valid_from_date`` / ``valid_to_date`` are the parsed dates.
    """
    df = pd.DataFrame(index=prices.index)
    for col in PRICE_TEXT_COLUMNS:
        df[col] = clean_text(prices[col]) if col in prices.columns else nulls(prices.index)

    bad: dict[str, tuple[pd.Series, pd.Series]] = {}
    for col in ("valid_from", "valid_to"):
        raw = df[col]
        # Timestamps, not dates: a price may change in the middle of a day, and two windows
        # that meet at 12:00 must neither overlap nor collide on a truncated date.
        parsed, mask = to_timestamps(raw)
        bad[col] = (mask, raw)
        df[f"{col}_date"] = parsed
        is_midnight = parsed.notna() & (parsed == parsed.dt.normalize())
        text = parsed.dt.strftime("%Y-%m-%d").where(
            is_midnight, parsed.dt.strftime("%Y-%m-%d %H:%M:%S")
        )
        df[col] = raw.where(parsed.isna(), text)
    for col in PRICE_NUMBER_COLUMNS:
        raw = clean_text(prices[col]) if col in prices.columns else nulls(prices.index)
        df[col], mask = to_numbers(raw)
        bad[col] = (mask, raw)
    df["unparseable_fields"] = unparseable(bad, prices.index)

    df["provider_model"] = pd.Series(
        [
            f"{p}/{m}" if pd.notna(p) and pd.notna(m) else None
            for p, m in zip(df["provider"], df["model"], strict=True)
        ],
        index=df.index,
        dtype=object,
    )
    df["overlaps_other_window"] = _overlapping_windows(df)
    any_tier_price = df[TIER_PRICE_COLUMNS].notna().any(axis=1)
    has_threshold = df["tier_threshold_tokens"].notna()
    df["tier_price_without_threshold"] = any_tier_price & ~has_threshold
    df["tier_threshold_without_prices"] = has_threshold & (
        df["tier_input_usd_per_mtok"].isna() | df["tier_output_usd_per_mtok"].isna()
    )
    return df


def _overlapping_windows(df: pd.DataFrame) -> pd.Series:
    """True for each row whose [valid_from, valid_to) window overlaps another row's window of the
    same (provider, model); an empty valid_to is open-ended."""
    w = pd.DataFrame(
        {
            "pos": np.arange(len(df)),
            "provider": df["provider"].to_numpy(),
            "model": df["model"].to_numpy(),
            "start": df["valid_from_date"].to_numpy(),
            "end": df["valid_to_date"].to_numpy(),
        }
    ).dropna(subset=["provider", "model", "start"])
    pairs = w.merge(w, on=["provider", "model"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["pos_a"] != pairs["pos_b"]]
    overlap = (pairs["end_b"].isna() | (pairs["start_a"] < pairs["end_b"])) & (
        pairs["end_a"].isna() | (pairs["start_b"] < pairs["end_a"])
    )
    flags = np.zeros(len(df), dtype=bool)
    flags[pairs.loc[overlap, "pos_a"].to_numpy(dtype=int)] = True
    return pd.Series(flags, index=df.index)


def _alias_targets(aliases: pd.DataFrame) -> dict[str, list[str]]:
    """{"provider/model": [aliases pointing at it]} from an aliases table."""
    missing = {"provider", "model"} - set(aliases.columns)
    if missing:
        raise ValueError(f"aliases needs columns provider, model_alias, model; missing {missing}")
    provider = clean_text(aliases["provider"])
    model = clean_text(aliases["model"])
    alias = (
        clean_text(aliases["model_alias"])
        if "model_alias" in aliases.columns
        else nulls(aliases.index)
    )
    targets: dict[str, list[str]] = {}
    for p, m, a in zip(provider, model, alias, strict=True):
        if p is None or m is None:
            continue
        names = targets.setdefault(f"{p}/{m}", [])
        if a is not None and a not in names:
            names.append(str(a))
    return targets


def _prepare_table(frame: pd.DataFrame, text: list[str], numbers: list[str]) -> pd.DataFrame:
    """A small seed typed for its suite: text stripped, numbers parsed, and what does not
    parse named in `unparseable_fields`."""
    df = pd.DataFrame(index=frame.index)
    bad: dict[str, tuple[pd.Series, pd.Series]] = {}
    for col in text:
        df[col] = clean_text(frame[col]) if col in frame.columns else nulls(frame.index)
    for col in numbers:
        raw = clean_text(frame[col]) if col in frame.columns else nulls(frame.index)
        df[col], mask = to_numbers(raw)
        bad[col] = (mask, raw)
    df["unparseable_fields"] = unparseable(bad, frame.index)
    return df


def _prepare_fx_rates(rates: pd.DataFrame) -> pd.DataFrame:
    df = _prepare_table(rates, ["currency", "source"], ["usd_rate"])
    raw = clean_text(rates["valid_from"]) if "valid_from" in rates.columns else nulls(rates.index)
    parsed, mask = to_timestamps(raw)
    df["valid_from"] = raw.where(parsed.isna(), parsed.dt.strftime("%Y-%m-%d"))
    extra = unparseable({"valid_from": (mask, raw)}, rates.index)
    df["unparseable_fields"] = df["unparseable_fields"].where(extra.isna(), extra)
    return df


def read_seed(path: Path) -> pd.DataFrame:
    """A seed CSV as text (empty cells stay empty strings): a bad value reaches the rules as
    it was written."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def validate_price_seed(
    name: str,
    seeds_dir: Path,
    context_root: Path | None = None,
    build_docs: bool = False,
    docs_dir: Path | None = None,
) -> SuiteResult:
    """One price seed of `seeds_dir` (model_prices, service_tier_multipliers or fx_rates)
    against its suite of the same name; model_prices with the alias targets of
    model_aliases."""
    options = {"context_root": context_root, "build_docs": build_docs, "docs_dir": docs_dir}
    frame = read_seed(seeds_dir / f"{name}.csv")
    if name == PRICES_SUITE:
        aliases_path = seeds_dir / "model_aliases.csv"
        aliases = read_seed(aliases_path) if aliases_path.exists() else None
        return validate_prices(frame, aliases, **options)
    if name == MULTIPLIERS_SUITE:
        prepared = _prepare_table(frame, ["provider", "model", "service_tier"], ["multiplier"])
        # model `*` (or empty) is every model of the provider
        prepared["model"] = prepared["model"].fillna("*")
        return run_checkpoint(MULTIPLIERS_SUITE, prepared, **options)
    if name == FX_RATES_SUITE:
        return run_checkpoint(FX_RATES_SUITE, _prepare_fx_rates(frame), **options)
    raise ValueError(f"no price seed suite named {name!r}")


def validate_price_seeds(
    seeds_dir: Path,
    context_root: Path | None = None,
    build_docs: bool = False,
    docs_dir: Path | None = None,
) -> list[SuiteResult]:
    """Every price seed of `seeds_dir` present there, against its suite."""
    return [
        validate_price_seed(name, seeds_dir, context_root, build_docs, docs_dir)
        for name in PRICE_SEEDS
        if (seeds_dir / f"{name}.csv").exists()
    ]
