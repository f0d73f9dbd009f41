"""The price seeds of the project as CSV rows, and private copies tests may edit."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from tests.conftest import PROJECT_DIR

SEEDS = PROJECT_DIR / "seeds"
PRICE_SEEDS = (
    "model_prices.csv",
    "model_aliases.csv",
    "service_tier_multipliers.csv",
    "fx_rates.csv",
)


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, rows: list[dict], fields: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def copy_price_seeds(folder: Path) -> Path:
    """A copy of the price seeds in `folder` (a test edits the copy, never the project)."""
    for name in PRICE_SEEDS:
        shutil.copy(SEEDS / name, folder / name)
    return folder
