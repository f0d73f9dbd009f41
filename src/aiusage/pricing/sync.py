"""Prices and their history from genai-prices (PyPI) into seeds/model_prices.csv.

Rows whose ``source`` is not ``genai-prices`` are hand-edited (private contracts, history
genai-prices lacks) and are kept untouched; they win over synced windows, which are clipped
around them. A second sync changes nothing.

genai-prices model ids -> canonical ids of the seed: ``GENAI_MODEL_MAP`` (documented in
docs/pricing.md). genai-prices history: a model's ``prices`` is either one ``ModelPrice``
or a list of ``ConditionalPrice``; each ``StartDateConstraint.start_date`` opens a window
that the next start closes. The first, unconstrained price has no known start: it starts at
the model's first ``genai-prices`` row in the seed (the seed remembers launch dates), else
after the model's hand-edited rows, else at the earliest date its ids carry (a dated
snapshot: gpt-4o-mini-2024-07-18, claude-3-5-sonnet-20240620), else at
``new_model_start``; the row says ``valid_from_is_estimated = true`` when the start is not
a date the source gives (the id date and ``new_model_start`` are estimates).

Every provider and model genai-prices knows is imported by default; its exact match rules
(``ClauseEquals``: dated snapshots, permaslugs, ``:beta`` variants) become alias rows
(``genai_aliases``) of seeds/model_aliases.csv, hand-edited aliases kept and winning.

``genai_differences`` lists where the seed and genai-prices disagree (informational: the
seed's rules are the model_prices expectation suite, aiusage.quality).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from aiusage.pricing.seed import (
    GENAI_SOURCE,
    MONEY_FIELDS,
    PRICE_FIELDS,
    format_decimal,
    format_timestamp,
    parse_decimal,
    parse_timestamp,
)

#: None: every provider genai-prices knows.
DEFAULT_PROVIDERS: tuple[str, ...] | None = None
DEFAULT_NEW_MODEL_START = "2023-01-01"
_ID_DATE = re.compile(r"(20[2-3][0-9])-?(0[1-9]|1[0-2])-?(0[1-9]|[12][0-9]|3[01])(?![0-9])")

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


@dataclass(frozen=True)
class Window:
    provider: str
    model: str
    genai_id: str
    start: date | None  # None: the first, unconstrained price (start unknown)
    end: date | None
    row: dict  # seed columns (prices) without provider/model/valid_from/valid_to/source
    id_date: date | None = None  # the earliest date the model's ids carry (an estimate)


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


def _equals_values(clause) -> list[str]:
    """The ids an exact match rule names (ClauseEquals, inside ClauseOr)."""
    from genai_prices.types import ClauseEquals, ClauseOr

    if isinstance(clause, ClauseEquals):
        return [clause.equals]
    if isinstance(clause, ClauseOr):
        return [value for part in clause.or_ for value in _equals_values(part)]
    return []


def _is_free(model_price) -> bool:
    """A ModelPrice that sets no price at all (genai-prices' free models)."""
    fields = getattr(type(model_price), "__dataclass_fields__", None) or vars(model_price)
    return all(getattr(model_price, name, None) in (None, {}, []) for name in fields)


def _id_date(ids: list[str]) -> date | None:
    dates = []
    for text in ids:
        for year, month, day in _ID_DATE.findall(text):
            try:
                dates.append(date(int(year), int(month), int(day)))
            except ValueError:
                continue
    return min(dates) if dates else None


def _selected(providers: tuple[str, ...] | None):
    from genai_prices.data import providers as genai_providers

    return [p for p in genai_providers if providers is None or p.id in providers]


def genai_aliases(providers: tuple[str, ...] | None = None) -> list[dict]:
    """Alias rows from genai-prices' exact match rules: every id a model's rule names that
    is not the model id itself, lowercase; an id two models of a provider name goes to the
    first (genai-prices' own order)."""
    rows: dict[tuple[str, str], dict] = {}
    for provider in _selected(providers):
        model_ids = {info.id.lower() for info in provider.models}
        for info in provider.models:
            model = GENAI_MODEL_MAP.get((provider.id, info.id), info.id)
            for value in _equals_values(info.match):
                alias = value.strip().lower()
                if not alias or alias == model.lower() or alias in model_ids:
                    continue
                rows.setdefault(
                    (provider.id, alias),
                    {"provider": provider.id, "model_alias": alias, "model": model,
                     "source": GENAI_SOURCE},
                )  # fmt: skip
    return list(rows.values())


def genai_windows(
    providers: tuple[str, ...] | None = None, on_skip: Callable[[str], None] | None = None
) -> list[Window]:
    """Every price window of genai-prices' bundled data for the given providers (None:
    all). A price the seed cannot represent (several tiers) is skipped and named to
    `on_skip`."""
    from genai_prices.types import ModelPrice, StartDateConstraint

    windows: list[Window] = []
    for provider in _selected(providers):
        for info in provider.models:
            model = GENAI_MODEL_MAP.get((provider.id, info.id), info.id)
            id_date = _id_date([info.id, *_equals_values(info.match)])
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
                    if on_skip is not None:
                        on_skip(f"skipped {error}")
                    continue
                if _is_free(model_price):
                    # a price with no field at all is genai-prices' free model (:free
                    # variants): $0, never the paid model's price
                    row = {"input_usd_per_mtok": Decimal(0), "output_usd_per_mtok": Decimal(0)}
                if "input_usd_per_mtok" not in row or "output_usd_per_mtok" not in row:
                    continue  # not a token-priced model (images, audio-only, ...)
                if any(
                    row.get(cache) is not None
                    and row.get(base) is not None
                    and row[cache] > row[base]
                    for cache, base in (
                        ("cache_read_usd_per_mtok", "input_usd_per_mtok"),
                        ("tier_cache_read_usd_per_mtok", "tier_input_usd_per_mtok"),
                    )
                ):
                    if on_skip is not None:  # the seed's rules refuse it (quality.prices)
                        on_skip(f"skipped {where}: cache read dearer than input")
                    continue
                windows.append(Window(provider.id, model, info.id, start, end, row, id_date))
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
    include_all: bool = True,
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
            (
                parse_timestamp(r["valid_from"]),
                parse_timestamp(r["valid_to"]) if r.get("valid_to") else None,
            )
            for r in hand
            if (r["provider"], r["model"]) == key
        ]
        old_rows = sorted(
            (r for r in old_genai if (r["provider"], r["model"]) == key),
            key=lambda r: parse_timestamp(r["valid_from"]),
        )
        id_dates = [w.id_date for w in model_windows if w.id_date]
        if old_rows:
            first_start = parse_timestamp(old_rows[0]["valid_from"])
            first_estimated = _flag(old_rows[0].get("valid_from_is_estimated"))
        elif hand_windows:
            ends = [e for _, e in hand_windows]
            first_start = None if None in ends else max(ends)
            first_estimated = "false"
        elif id_dates:
            first_start = datetime.combine(min(id_dates), time())
            first_estimated = "true"
        else:
            first_start = parse_timestamp(new_model_start)
            first_estimated = "true"
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
                row["valid_from"] = format_timestamp(p_start)
                row["valid_to"] = format_timestamp(p_end) if p_end else ""
                row["valid_from_is_estimated"] = (
                    first_estimated if w.start is None and p_start == start else "false"
                )
                for col, value in w.row.items():
                    row[col] = (
                        str(value) if col == "tier_threshold_tokens" else format_decimal(value)
                    )
                out.append(row)
    # Seed models genai-prices does not know keep their genai rows (validate lists them).
    synced = set(by_model)
    out += [dict(r) for r in old_genai if (r["provider"], r["model"]) not in synced]
    for row in out:
        row["valid_from_is_estimated"] = _flag(row.get("valid_from_is_estimated"))
    return [_keep_old_text(r, old_genai) for r in out]


def _flag(value) -> str:
    """A seed boolean as written: true or false (empty, as before the column: false)."""
    return "true" if str(value or "").strip().lower() == "true" else "false"


def sync_aliases(alias_rows: list[dict], genai: list[dict], price_rows: list[dict]) -> list[dict]:
    """The new alias seed: hand-edited aliases untouched and winning, genai-prices aliases
    rebuilt (only those whose target the price seed prices)."""
    hand = [r for r in alias_rows if r.get("source") != GENAI_SOURCE]
    taken = {(r["provider"], r["model_alias"].lower()) for r in hand}
    priced = {(r["provider"], r["model"]) for r in price_rows}
    return [dict(r) for r in hand] + [
        dict(r)
        for r in genai
        if (r["provider"], r["model_alias"]) not in taken and (r["provider"], r["model"]) in priced
    ]


def _same(a: dict, b: dict) -> bool:
    for f in PRICE_FIELDS:
        x, y = (a.get(f) or "").strip(), (b.get(f) or "").strip()
        if f in ("valid_from", "valid_to") and x and y:
            if parse_timestamp(x) != parse_timestamp(y):
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
            key=lambda r: parse_timestamp(r["valid_from"]),
        )
        model_windows = by_model.get(key)
        if not model_windows:
            diffs.append(f"{key[0]}/{key[1]}: not in genai-prices")
            continue
        starts = {datetime.combine(w.start, time()) for w in model_windows if w.start}
        seed_starts = {parse_timestamp(r["valid_from"]) for r in rows}
        for start in sorted(starts - seed_starts):
            if start > min(seed_starts):
                diffs.append(
                    f"{key[0]}/{key[1]}: genai-prices has a price change on "
                    f"{start:%Y-%m-%d} that the seed has no window for"
                )
        for r in rows:
            at = parse_timestamp(r["valid_from"]).date()
            active = [w for w in model_windows if (w.start is None or w.start <= at)]
            window = max(active, key=lambda w: w.start or date.min) if active else model_windows[0]
            for col in MONEY_FIELDS + ["tier_threshold_tokens"]:
                ours = parse_decimal(r.get(col, ""))
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


def seed_changes(before: list[dict], after: list[dict]) -> dict:
    """What a sync changed, readable: models new to the seed, models gone, and for the
    models on both sides each price window added, removed or changed (field: old -> new)."""

    def by_model(rows):
        out: dict[tuple[str, str], dict[str, dict]] = {}
        for r in rows:
            row = {**r, "valid_from_is_estimated": _flag(r.get("valid_from_is_estimated"))}
            out.setdefault((r["provider"], r["model"]), {})[r["valid_from"]] = row
        return out

    old, new = by_model(before), by_model(after)
    changed: list[str] = []
    for key in sorted(set(old) & set(new)):
        name = f"{key[0]}/{key[1]}"
        for start in sorted(set(old[key]) | set(new[key])):
            a, b = old[key].get(start), new[key].get(start)
            if a is None:
                changed.append(f"{name}: new window from {start}")
            elif b is None:
                changed.append(f"{name}: window from {start} removed")
            elif not _same(a, b):
                fields = [
                    f"{f} {a.get(f) or 'empty'} -> {b.get(f) or 'empty'}"
                    for f in PRICE_FIELDS
                    if (a.get(f) or "") != (b.get(f) or "")
                ]
                changed.append(f"{name} from {start}: " + ", ".join(fields))
    return {
        "new_models": sorted(set(new) - set(old)),
        "removed_models": sorted(set(old) - set(new)),
        "changed": changed,
    }


def ensure_standard_tiers(path, price_rows: list[dict]) -> list[str]:
    """Add `<provider>,standard,1.0` (every model) to the multiplier seed for every provider
    of the price seed that has no provider-wide standard row (the standard tier is the list
    price); the providers added. Other tiers are never added: a batch or priority price
    without a row stays unpriced."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0]) if rows else ["provider", "model", "service_tier", "multiplier"]
    have = {
        r["provider"].lower()
        for r in rows
        if r["service_tier"].lower() == "standard" and (r.get("model") or "*") == "*"
    }
    added = sorted({r["provider"] for r in price_rows} - have)
    if added:
        rows += [
            {"provider": p, "model": "*", "service_tier": "standard", "multiplier": "1.0"}
            for p in added
        ]
        with open(path, "w", encoding="utf-8", newline="") as fh:
            # a seed without the model column (before it existed) keeps its columns
            writer = csv.DictWriter(
                fh, fieldnames=fields, lineterminator="\n", extrasaction="ignore"
            )
            writer.writeheader()
            writer.writerows(rows)
    return added
