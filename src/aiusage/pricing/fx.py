"""Currency conversion rates (seeds/fx_rates.csv): the rate valid on a day."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb


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
        try:
            found = con_or_seed.execute(
                "select valid_from, usd_rate from fx_rates where upper(currency) = ?", [code]
            ).fetchall()
        except duckdb.CatalogException as error:  # a snapshot published without the seed
            raise ValueError(
                "this warehouse has no fx_rates table (snapshots hold it since the report "
                "reads it there): rebuild with `aiusage build --full-refresh`, or report in USD"
            ) from error
        rates = [(valid_from, Decimal(str(rate))) for valid_from, rate in found]
    valid = [(d, r) for d, r in rates if d <= on_date]
    if not valid:
        raise ValueError(f"no {code} rate valid on {on_date} in fx_rates")
    valid_from, rate = max(valid)
    if rate <= 0:
        raise ValueError(f"{code} rate from {valid_from} is not positive: {rate}")
    return rate, valid_from
