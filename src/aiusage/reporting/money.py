"""How the report writes an amount of money: the one formatter of the tables, the summary
and the drivers sentence, in USD or the report's currency."""

from __future__ import annotations

from decimal import Decimal


def format_money(value, currency: str = "USD", digits: int = 2, signed: bool = False) -> str:
    """`$1,234.50` in USD, `EUR 1,234.50` in another currency (`$-3.00` when negative);
    with `signed`, the sign first: `+$3.00`, `-EUR 3.00`."""
    amount = Decimal(value)
    prefix = "$" if currency == "USD" else currency + " "
    if signed:
        return f"{'+' if amount >= 0 else '-'}{prefix}{abs(amount):,.{digits}f}"
    return f"{prefix}{amount:,.{digits}f}"
