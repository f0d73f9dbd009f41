"""The price seed (seeds/model_prices.csv) as rows of text: its columns, reading and writing.

The seed is written sorted by (provider, model, valid_from), so rewriting the same rows
changes nothing. Rows keep their text as written (2.50 stays 2.50).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

GENAI_SOURCE = "genai-prices"

PRICE_FIELDS = [
    "provider",
    "model",
    "valid_from",
    "valid_to",
    "valid_from_is_estimated",
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
ALIAS_FIELDS = ["provider", "model_alias", "model", "source"]
#: source of an alias or price row written by hand (kept by `aiusage pricing sync`)
HAND_SOURCE = "hand_edited"


def read_alias_seed(path: Path) -> list[dict]:
    """seeds/model_aliases.csv; a row without a source is a hand-edited one."""
    rows = read_price_seed(path)
    for row in rows:
        row["source"] = (row.get("source") or "").strip() or HAND_SOURCE
    return rows


def write_alias_seed(path: Path, rows: list[dict]) -> None:
    ordered = sorted(rows, key=lambda r: (r["provider"], r["model_alias"]))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ALIAS_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in ordered:
            writer.writerow({f: row.get(f, "") or "" for f in ALIAS_FIELDS})


def parse_timestamp(text: str) -> datetime:
    value = text.strip()
    return (
        datetime.combine(date.fromisoformat(value), time())
        if len(value) == 10
        else (datetime.fromisoformat(value))
    )


def format_timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def format_decimal(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f")


def read_price_seed(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [dict(row) for row in csv.DictReader(fh)]


def write_price_seed(path: Path, rows: list[dict]) -> None:
    ordered = sorted(
        rows, key=lambda r: (r["provider"], r["model"], parse_timestamp(r["valid_from"]))
    )
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=PRICE_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in ordered:
            writer.writerow({f: row.get(f, "") or "" for f in PRICE_FIELDS})


def parse_decimal(value: str) -> Decimal | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation as error:
        raise ValueError(f"not a number: {value!r}") from error
