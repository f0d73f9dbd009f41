"""`aiusage pricing sync|validate` and the currency helper used by the report.

* ``sync`` imports prices and their history from the genai-prices package (PyPI) into
  ``seeds/model_prices.csv``. Rows whose ``source`` is not ``genai-prices`` are hand-edited
  (private contracts, history genai-prices lacks) and are kept untouched; they win over
  synced windows, which are clipped around them. The CSV is written sorted, so a second sync
  changes nothing.
* ``validate`` checks the seed's structure (overlapping windows, negative prices, cache
  read dearer than input, bad tiers, aliases to unknown models) -> exit 1 naming the rows,
  and lists every difference with genai-prices (exit 0).
* ``fx_rate`` gives the conversion rate valid on a day (seeds/fx_rates.csv or the warehouse).

genai-prices model ids -> canonical ids of the seed: ``GENAI_MODEL_MAP`` (documented in
docs/pricing.md). genai-prices history: a model's ``prices`` is either one ``ModelPrice``
or a list of ``ConditionalPrice``; each ``StartDateConstraint.start_date`` opens a window
that the next start closes. The first, unconstrained price has no known start: it starts at
the model's first ``genai-prices`` row in the seed (the seed remembers launch dates), else
after the model's hand-edited rows, else at ``--new-model-start``.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO_ROOT / "seeds"
GENAI_SOURCE = "genai-prices"
DEFAULT_PROVIDERS = ("openai", "anthropic", "google")
DEFAULT_NEW_MODEL_START = "2023-01-01"

PRICE_FIELDS = [
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
    "tier_cache_write_5m_usd_per_mtok",
    "tier_cache_write_1h_usd_per_mtok",
    "reasoning_usd_per_mtok",
    "source",
]
MONEY_FIELDS = [f for f in PRICE_FIELDS if f.endswith("_usd_per_mtok")]

#: genai-prices ModelPrice attribute -> (base column, tier column) of the seed.
GENAI_PRICE_KEYS = {
    "input_mtok": ("input_usd_per_mtok", "tier_input_usd_per_mtok"),
    "output_mtok": ("output_usd_per_mtok", "tier_output_usd_per_mtok"),
    "cache_read_mtok": ("cache_read_usd_per_mtok", "tier_cache_read_usd_per_mtok"),
    "cache_write_mtok": ("cache_write_5m_usd_per_mtok", "tier_cache_write_5m_usd_per_mtok"),
    "cache_write_1h_mtok": ("cache_write_1h_usd_per_mtok", "tier_cache_write_1h_usd_per_mtok"),
}

#: (provider, genai-prices model id) -> canonical model id of the seed, where they differ.
GENAI_MODEL_MAP: dict[tuple[str, str], str] = {
    ("anthropic", "claude-sonnet-4-0"): "claude-sonnet-4",
    ("anthropic", "claude-3-5-haiku-latest"): "claude-3-5-haiku",
    ("anthropic", "claude-opus-4-0"): "claude-opus-4",
    ("anthropic", "claude-3-7-sonnet-latest"): "claude-3-7-sonnet",
}


class PricingError(Exception):
    """A price that cannot be represented in the seed."""


# --------------------------------------------------------------------------- seed I/O


def _ts(text: str) -> datetime:
    value = text.strip()
    return (
        datetime.combine(date.fromisoformat(value), time())
        if len(value) == 10
        else (datetime.fromisoformat(value))
    )


def _fmt_ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _fmt_dec(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f")


def read_price_seed(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [dict(row) for row in csv.DictReader(fh)]


def write_price_seed(path: Path, rows: list[dict]) -> None:
    ordered = sorted(rows, key=lambda r: (r["provider"], r["model"], _ts(r["valid_from"])))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=PRICE_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in ordered:
            writer.writerow({f: row.get(f, "") or "" for f in PRICE_FIELDS})


# --------------------------------------------------------------------------- genai-prices


@dataclass(frozen=True)
class Window:
    provider: str
    model: str
    genai_id: str
    start: date | None  # None: the first, unconstrained price (start unknown)
    end: date | None
    row: dict  # seed columns (prices) without provider/model/valid_from/valid_to/source


def _price_columns(model_price, where: str) -> dict:
    from genai_prices.types import TieredPrices

    row: dict = {}
    threshold = None
    for key, (base_col, tier_col) in GENAI_PRICE_KEYS.items():
        value = getattr(model_price, key, None)
        if value is None:
            continue
        if isinstance(value, TieredPrices):
            if len(value.tiers) != 1:
                raise PricingError(f"{where}: {key} has {len(value.tiers)} tiers (1 supported)")
            tier = value.tiers[0]
            if threshold is not None and tier.start != threshold:
                raise PricingError(f"{where}: tiers start at {threshold} and {tier.start}")
            threshold = tier.start
            row[base_col] = Decimal(value.base)
            row[tier_col] = Decimal(tier.price)
        else:
            row[base_col] = Decimal(value)
    if threshold is not None:
        row["tier_threshold_tokens"] = threshold
    return row


def genai_windows(providers: tuple[str, ...]) -> list[Window]:
    """Every price window of genai-prices' bundled data for the given providers."""
    from genai_prices.data import providers as genai_providers
    from genai_prices.types import ModelPrice, StartDateConstraint

    windows: list[Window] = []
    for provider in genai_providers:
        if provider.id not in providers:
            continue
        for info in provider.models:
            model = GENAI_MODEL_MAP.get((provider.id, info.id), info.id)
            where = f"{provider.id}/{info.id}"
            prices = info.prices
            if isinstance(prices, ModelPrice):
                conditional = [(None, prices)]
            else:
                conditional = []
                for cp in prices:
                    if cp.constraint is not None and not isinstance(
                        cp.constraint, StartDateConstraint
                    ):
                        continue  # time-of-day prices (off-peak discounts) are not modelled
                    start = cp.constraint.start_date if cp.constraint else None
                    conditional.append((start, cp.prices))
            conditional.sort(key=lambda item: item[0] or date.min)
            for i, (start, model_price) in enumerate(conditional):
                end = conditional[i + 1][0] if i + 1 < len(conditional) else None
                try:
                    row = _price_columns(model_price, where)
                except PricingError as error:
                    click.echo(f"skipped {error}", err=True)
                    continue
                if "input_usd_per_mtok" not in row or "output_usd_per_mtok" not in row:
                    continue  # not a token-priced model (images, audio-only, ...)
                windows.append(Window(provider.id, model, info.id, start, end, row))
    return windows


# --------------------------------------------------------------------------- sync


def _overlaps(a_start, a_end, b_start, b_end) -> bool:
    return (b_end is None or a_start < b_end) and (a_end is None or b_start < a_end)


def _clip(start: datetime, end: datetime | None, hand: list[tuple]) -> list[tuple]:
    """[start, end) minus the hand-edited windows -> remaining pieces."""
    pieces = [(start, end)]
    for h_start, h_end in hand:
        nxt = []
        for p_start, p_end in pieces:
            if not _overlaps(p_start, p_end, h_start, h_end):
                nxt.append((p_start, p_end))
                continue
            if p_start < h_start:
                nxt.append((p_start, h_start))
            if h_end is not None and (p_end is None or h_end < p_end):
                nxt.append((h_end, p_end))
        pieces = nxt
    return [(s, e) for s, e in pieces if e is None or s < e]


def sync_rows(
    seed_rows: list[dict],
    windows: list[Window],
    include_all: bool = False,
    new_model_start: str = DEFAULT_NEW_MODEL_START,
) -> list[dict]:
    """The new seed rows: hand-edited rows untouched, genai-prices rows rebuilt."""
    hand = [r for r in seed_rows if r.get("source") != GENAI_SOURCE]
    old_genai = [r for r in seed_rows if r.get("source") == GENAI_SOURCE]
    seed_models = {(r["provider"], r["model"]) for r in seed_rows}
    by_model: dict[tuple[str, str], list[Window]] = {}
    for w in windows:
        if include_all or (w.provider, w.model) in seed_models:
            by_model.setdefault((w.provider, w.model), []).append(w)

    out = [dict(r) for r in hand]
    for key, model_windows in sorted(by_model.items()):
        if len({w.genai_id for w in model_windows}) > 1:
            ids = sorted({w.genai_id for w in model_windows})
            raise PricingError(f"{key[0]}/{key[1]}: several genai-prices ids map to it: {ids}")
        hand_windows = [
            (_ts(r["valid_from"]), _ts(r["valid_to"]) if r.get("valid_to") else None)
            for r in hand
            if (r["provider"], r["model"]) == key
        ]
        old_starts = [_ts(r["valid_from"]) for r in old_genai if (r["provider"], r["model"]) == key]
        if old_starts:
            first_start = min(old_starts)
        elif hand_windows:
            ends = [e for _, e in hand_windows]
            first_start = None if None in ends else max(ends)
        else:
            first_start = _ts(new_model_start)
        for w in model_windows:
            start = datetime.combine(w.start, time()) if w.start else first_start
            end = datetime.combine(w.end, time()) if w.end else None
            if start is None:
                continue  # the hand rows are open-ended: they win
            if w.start is None and end is not None and start >= end:
                continue
            for p_start, p_end in _clip(start, end, hand_windows):
                row = {f: "" for f in PRICE_FIELDS}
                row.update(provider=w.provider, model=w.model, source=GENAI_SOURCE)
                row["valid_from"] = _fmt_ts(p_start)
                row["valid_to"] = _fmt_ts(p_end) if p_end else ""
                for col, value in w.row.items():
                    row[col] = str(value) if col == "tier_threshold_tokens" else _fmt_dec(value)
                out.append(row)
    # Seed models genai-prices does not know keep their genai rows (validate lists them).
    synced = set(by_model)
    out += [dict(r) for r in old_genai if (r["provider"], r["model"]) not in synced]
    return [_keep_old_text(r, old_genai) for r in out]


def _same(a: dict, b: dict) -> bool:
    for f in PRICE_FIELDS:
        x, y = (a.get(f) or "").strip(), (b.get(f) or "").strip()
        if f in ("valid_from", "valid_to") and x and y:
            if _ts(x) != _ts(y):
                return False
        elif f in MONEY_FIELDS or f == "tier_threshold_tokens":
            if (Decimal(x) if x else None) != (Decimal(y) if y else None):
                return False
        elif x != y:
            return False
    return True


def _keep_old_text(row: dict, old_rows: list[dict]) -> dict:
    """An unchanged synced row keeps its text as it was (2.50 stays 2.50)."""
    for old in old_rows:
        if _same(row, old):
            return dict(old)
    return row


# --------------------------------------------------------------------------- validate


def _dec(value: str) -> Decimal | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation as error:
        raise ValueError(f"not a number: {value!r}") from error


def structural_errors(price_rows: list[dict], alias_rows: list[dict]) -> list[str]:
    """Everything that makes the seed unusable; each message names its row."""
    errors: list[str] = []
    parsed = []
    for i, r in enumerate(price_rows, start=2):
        name = f"line {i} ({r.get('provider')}/{r.get('model')} from {r.get('valid_from')})"
        try:
            start = _ts(r["valid_from"])
            end = _ts(r["valid_to"]) if (r.get("valid_to") or "").strip() else None
            prices = {f: _dec(r.get(f, "")) for f in MONEY_FIELDS}
            threshold = _dec(r.get("tier_threshold_tokens", ""))
        except (ValueError, KeyError) as error:
            errors.append(f"{name}: unparseable: {error}")
            continue
        if not r.get("provider") or not r.get("model"):
            errors.append(f"{name}: provider and model are required")
        if prices["input_usd_per_mtok"] is None or prices["output_usd_per_mtok"] is None:
            errors.append(f"{name}: input and output prices are required")
        for f, v in prices.items():
            if v is not None and v < 0:
                errors.append(f"{name}: negative {f} ({v})")
        if end is not None and end <= start:
            errors.append(f"{name}: valid_to {end} is not after valid_from {start}")
        pairs = [
            ("cache_read_usd_per_mtok", "input_usd_per_mtok"),
            ("tier_cache_read_usd_per_mtok", "tier_input_usd_per_mtok"),
        ]
        for cheap, dear in pairs:
            if (
                prices[cheap] is not None
                and prices[dear] is not None
                and prices[cheap] > prices[dear]
            ):
                errors.append(f"{name}: {cheap} {prices[cheap]} > {dear} {prices[dear]}")
        tier_set = any(prices[f] is not None for f in MONEY_FIELDS if f.startswith("tier_"))
        if threshold is not None and threshold <= 0:
            errors.append(f"{name}: tier_threshold_tokens must be > 0")
        if tier_set and threshold is None:
            errors.append(f"{name}: tier prices without tier_threshold_tokens")
        if threshold is not None and (
            prices["tier_input_usd_per_mtok"] is None or prices["tier_output_usd_per_mtok"] is None
        ):
            errors.append(f"{name}: tier_threshold_tokens without tier input/output prices")
        parsed.append((name, r.get("provider"), r.get("model"), start, end))
    for i, (name_a, pa, ma, sa, ea) in enumerate(parsed):
        for name_b, pb, mb, sb, eb in parsed[i + 1 :]:
            if (pa, ma) == (pb, mb) and _overlaps(sa, ea, sb, eb):
                errors.append(f"overlapping windows: {name_a} and {name_b}")
    priced = {(r.get("provider"), r.get("model")) for r in price_rows}
    for i, a in enumerate(alias_rows, start=2):
        if (a.get("provider"), a.get("model")) not in priced:
            errors.append(
                f"model_aliases line {i}: {a.get('provider')}/{a.get('model_alias')} -> "
                f"{a.get('model')}, which has no price row"
            )
    return errors


def _positive_column_errors(path: Path, column: str) -> list[str]:
    """Rows of a small seed whose ``column`` is missing, unparseable or not > 0."""
    if not path.exists():
        return []
    errors = []
    for i, row in enumerate(read_price_seed(path), start=2):
        try:
            value = _dec(row.get(column, ""))
        except ValueError as error:
            errors.append(f"{path.name} line {i}: {error}")
            continue
        if value is None or value <= 0:
            errors.append(f"{path.name} line {i}: {column} must be > 0 (got {value})")
    return errors


def genai_differences(
    price_rows: list[dict], windows: list[Window], list_missing: bool = False
) -> list[str]:
    """Each seed row vs the genai-prices window active at its valid_from, windows the seed
    lacks, and models missing on either side."""
    diffs: list[str] = []
    by_model: dict[tuple[str, str], list[Window]] = {}
    for w in windows:
        by_model.setdefault((w.provider, w.model), []).append(w)
    seed_models = sorted({(r["provider"], r["model"]) for r in price_rows})
    for key in seed_models:
        rows = sorted(
            (r for r in price_rows if (r["provider"], r["model"]) == key),
            key=lambda r: _ts(r["valid_from"]),
        )
        model_windows = by_model.get(key)
        if not model_windows:
            diffs.append(f"{key[0]}/{key[1]}: not in genai-prices")
            continue
        starts = {datetime.combine(w.start, time()) for w in model_windows if w.start}
        seed_starts = {_ts(r["valid_from"]) for r in rows}
        for start in sorted(starts - seed_starts):
            if start > min(seed_starts):
                diffs.append(
                    f"{key[0]}/{key[1]}: genai-prices has a price change on "
                    f"{start:%Y-%m-%d} that the seed has no window for"
                )
        for r in rows:
            at = _ts(r["valid_from"]).date()
            active = [w for w in model_windows if (w.start is None or w.start <= at)]
            window = max(active, key=lambda w: w.start or date.min) if active else model_windows[0]
            for col in MONEY_FIELDS + ["tier_threshold_tokens"]:
                ours = _dec(r.get(col, ""))
                theirs = window.row.get(col)
                theirs = Decimal(theirs) if theirs is not None else None
                if ours != theirs:
                    diffs.append(
                        f"{key[0]}/{key[1]} from {r['valid_from']} ({r.get('source')}): "
                        f"{col} seed {ours if ours is not None else 'empty'} vs genai-prices "
                        f"{theirs if theirs is not None else 'empty'}"
                    )
    missing = sorted(set(by_model) - set(seed_models))
    if missing:
        if list_missing:
            diffs += [f"{p}/{m}: in genai-prices, not in the seed" for p, m in missing]
        else:
            diffs.append(
                f"{len(missing)} genai-prices models of these providers are not in the seed "
                "(--all lists them)"
            )
    return diffs


# --------------------------------------------------------------------------- currency


def fx_rate(con_or_seed, currency: str, on_date: date) -> tuple[Decimal, date]:
    """(units of ``currency`` per USD, the rate's valid_from) valid on ``on_date``.

    ``con_or_seed``: a DuckDB connection holding the ``fx_rates`` seed table, or the path of
    ``seeds/fx_rates.csv``. Raises ValueError when no rate is valid on that day.
    """
    code = currency.strip().upper()
    if code == "USD":
        return Decimal(1), date(2000, 1, 1)
    if isinstance(con_or_seed, str | Path):
        with open(con_or_seed, encoding="utf-8", newline="") as fh:
            rates = [
                (date.fromisoformat(r["valid_from"]), Decimal(r["usd_rate"]))
                for r in csv.DictReader(fh)
                if r["currency"].strip().upper() == code
            ]
    else:
        rates = [
            (valid_from, Decimal(str(rate)))
            for valid_from, rate in con_or_seed.execute(
                "select valid_from, usd_rate from fx_rates where upper(currency) = ?", [code]
            ).fetchall()
        ]
    valid = [(d, r) for d, r in rates if d <= on_date]
    if not valid:
        raise ValueError(f"no {code} rate valid on {on_date} in fx_rates")
    valid_from, rate = max(valid)
    if rate <= 0:
        raise ValueError(f"{code} rate from {valid_from} is not positive: {rate}")
    return rate, valid_from


# --------------------------------------------------------------------------- CLI


def _providers_option(value: str) -> tuple[str, ...]:
    return tuple(p.strip().lower() for p in value.split(",") if p.strip())


@click.group()
def pricing() -> None:
    """Model prices: sync from genai-prices, validate the seeds."""


@pricing.command()
@click.option(
    "--seeds-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=SEEDS_DIR,
    show_default=True,
)
@click.option(
    "--providers",
    default=",".join(DEFAULT_PROVIDERS),
    show_default=True,
    help="Comma-separated genai-prices provider ids to import.",
)
@click.option(
    "--all",
    "include_all",
    is_flag=True,
    help="Import every model of those providers, not only the seed's.",
)
@click.option(
    "--new-model-start",
    default=DEFAULT_NEW_MODEL_START,
    show_default=True,
    help="valid_from of a model new to the seed whose first price has no date.",
)
def sync(seeds_dir, providers, include_all, new_model_start) -> None:
    """Import prices and their history from genai-prices into seeds/model_prices.csv."""
    path = seeds_dir / "model_prices.csv"
    before = read_price_seed(path)
    try:
        rows = sync_rows(
            before, genai_windows(_providers_option(providers)), include_all, new_model_start
        )
    except PricingError as error:
        raise click.ClickException(str(error)) from error
    write_price_seed(path, rows)
    after = read_price_seed(path)
    key = lambda r: tuple(r.get(f, "") for f in PRICE_FIELDS)  # noqa: E731
    added = {key(r) for r in after} - {key(r) for r in before}
    removed = {key(r) for r in before} - {key(r) for r in after}
    import genai_prices

    click.echo(
        f"Synced {path} from genai-prices {genai_prices.__version__}: {len(after)} rows "
        f"({len(added)} added or changed, {len(removed)} replaced, "
        f"{sum(1 for r in after if r['source'] != GENAI_SOURCE)} hand-edited kept)."
    )


@pricing.command()
@click.option(
    "--seeds-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=SEEDS_DIR,
    show_default=True,
)
@click.option("--providers", default=",".join(DEFAULT_PROVIDERS), show_default=True)
@click.option(
    "--all",
    "list_missing",
    is_flag=True,
    help="List every genai-prices model missing from the seed.",
)
def validate(seeds_dir, providers, list_missing) -> None:
    """Check the price seeds (exit 1 on structural errors) and list differences with
    genai-prices (informational)."""
    prices = read_price_seed(seeds_dir / "model_prices.csv")
    aliases_path = seeds_dir / "model_aliases.csv"
    aliases = read_price_seed(aliases_path) if aliases_path.exists() else []
    errors = structural_errors(prices, aliases)
    errors += _positive_column_errors(seeds_dir / "service_tier_multipliers.csv", "multiplier")
    errors += _positive_column_errors(seeds_dir / "fx_rates.csv", "usd_rate")
    diffs = genai_differences(prices, genai_windows(_providers_option(providers)), list_missing)
    click.echo(f"Differences with genai-prices ({len(diffs)}):")
    for line in diffs:
        click.echo(f"  {line}")
    if errors:
        click.echo(f"STRUCTURAL ERRORS ({len(errors)}):", err=True)
        for line in errors:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    click.echo(f"Seed OK: {len(prices)} price rows, {len(aliases)} aliases, no structural error.")
