"""Currency rates: the rate valid on a day (seeds/fx_rates.csv)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from aiusage.pricing.fx import fx_rate


def test_fx_rate_takes_the_rate_valid_on_the_day(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text(
        "currency,valid_from,usd_rate,source\nEUR,2025-01-01,0.9650,x\nEUR,2025-07-01,0.8550,x\n"
    )
    assert fx_rate(path, "eur", date(2025, 6, 30)) == (Decimal("0.9650"), date(2025, 1, 1))
    assert fx_rate(path, "EUR", date(2025, 7, 1)) == (Decimal("0.8550"), date(2025, 7, 1))
    assert fx_rate(path, "USD", date(2025, 7, 1))[0] == 1
    with pytest.raises(ValueError, match="no EUR rate valid on 2024-12-31"):
        fx_rate(path, "EUR", date(2024, 12, 31))
    with pytest.raises(ValueError, match="no GBP rate"):
        fx_rate(path, "GBP", date(2025, 7, 1))


def test_a_warehouse_without_the_seed_is_a_clear_error_not_a_catalog_exception():
    """Snapshots published before the report's fx_rates was kept in them lack the table."""
    import duckdb

    with (
        duckdb.connect(":memory:") as con,
        pytest.raises(ValueError, match="no fx_rates table.*--full-refresh"),
    ):
        fx_rate(con, "EUR", date(2025, 7, 1))
