"""`aiusage pricing suggest`: seed rows proposed from bills (rpt_bill_reconciliation).

A model whose bills one unit price explains but whose list price does not
(likely_cause list_price_stale or list_price_changed, over at least `min_requests` billed
requests) becomes a proposed row of seeds/model_prices.csv with the prices the bills imply
and ``source = learned_from_bills``, starting at the first month of its run of
disagreeing months. Such a row is hand-edited for `aiusage pricing sync` (kept, and it
wins over genai-prices rows, which are cut around it) and prices requests with
``price_basis = learned_from_bills``. Nothing is written to the seed: the rows are for a
reviewer. A disagreement one seed row cannot express (a per-request fee, prices that vary
by host, a model with no list price) is named with its implied figures, without a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from aiusage.pricing.seed import PRICE_FIELDS, format_decimal

LEARNED_SOURCE = "learned_from_bills"
CONSISTENT_CAUSES = ("list_price_stale", "list_price_changed")

SQL = """
    select usage_month, provider, price_provider, model, price_valid_from, billed_requests,
        drift_pct, median_bill_ratio, implied_input_usd_per_mtok, implied_output_usd_per_mtok,
        implied_cache_read_usd_per_mtok, implied_per_request_usd, implied_prices_method,
        likely_cause
    from rpt_bill_reconciliation
    where is_disagreeing
    order by price_provider, model, usage_month
"""


@dataclass(frozen=True)
class Suggestions:
    rows: list[dict]  # proposed seed rows (PRICE_FIELDS)
    notes: list[str]  # disagreements without a row, one line each


def _price(value) -> str:
    return format_decimal(Decimal(str(round(float(value), 6)))) if value is not None else ""


def suggest(records: list[dict], min_requests: int = 3) -> Suggestions:
    """Proposed rows and notes from the disagreeing rows of rpt_bill_reconciliation."""
    rows: list[dict] = []
    notes: list[str] = []
    runs: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        runs.setdefault((record["price_provider"], record["model"]), []).append(record)
    for (provider, model), months in sorted(runs.items()):
        name = f"{provider}/{model}"
        latest = months[-1]
        cause = latest["likely_cause"]
        billed = sum(int(m["billed_requests"]) for m in months)
        if cause not in CONSISTENT_CAUSES:
            notes.append(
                f"{name}: {cause} over {billed} billed requests (latest month "
                f"{latest['usage_month']}: drift {latest['drift_pct']}%, implied input "
                f"{latest['implied_input_usd_per_mtok']}, output "
                f"{latest['implied_output_usd_per_mtok']}, per request "
                f"{latest['implied_per_request_usd']}); no seed row expresses it"
            )
            continue
        if billed < min_requests:
            notes.append(f"{name}: {cause} on {billed} billed requests only (< {min_requests})")
            continue
        first: date = months[0]["usage_month"]
        for month in reversed(months):  # the latest run of consecutive disagreeing months
            if month["likely_cause"] not in CONSISTENT_CAUSES:
                break
            first = month["usage_month"]
        row = {f: "" for f in PRICE_FIELDS}
        row.update(
            provider=provider,
            model=model,
            valid_from=f"{first:%Y-%m-%d} 00:00:00",
            valid_from_is_estimated="false",
            input_usd_per_mtok=_price(latest["implied_input_usd_per_mtok"]),
            output_usd_per_mtok=_price(latest["implied_output_usd_per_mtok"]),
            cache_read_usd_per_mtok=_price(latest["implied_cache_read_usd_per_mtok"]),
            source=LEARNED_SOURCE,
        )
        rows.append(row)
        notes.append(
            f"{name}: {cause}, bills {latest['median_bill_ratio']}x the list price "
            f"({latest['implied_prices_method']}, {billed} billed requests): row proposed"
        )
    return Suggestions(rows, notes)
