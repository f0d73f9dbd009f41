"""The report as one dict (JSON-ready): period, filters, summary, every section, warnings;
money in USD or converted to another currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from aiusage.reporting.insights import drivers_sentence
from aiusage.reporting.period import ReportQuery, ReportWindow
from aiusage.reporting.queries import rejected_lines, unpriced_usage
from aiusage.reporting.sections import SECTIONS
from aiusage.reporting.usage import summary
from aiusage.warehouse import connect_readonly

REPORT_VERSION = 3


def build_report_from_connection(
    con, q: ReportQuery, currency: str = "USD", usd_rate: Decimal = Decimal(1)
) -> dict:
    """The report in USD; the summary's drivers sentence, text, already in `currency` at
    `usd_rate` (convert_currency converts the money fields)."""
    report = {
        "report_version": REPORT_VERSION,
        "period": {
            "start": q.window.start,
            "end": q.window.end,
            "days": q.window.days,
            "previous_start": q.window.previous().start,
            "previous_end": q.window.previous().end,
        },
        "filters": dict(sorted(q.filters.items())),
        "currency": "USD",
        "summary": {
            **summary(con, q),
            "cost_drivers": drivers_sentence(con, q, currency, usd_rate),
        },
    }
    for section in SECTIONS:
        report[section.key] = section.query(con, q)
    report["warnings"] = {
        "unpriced_usage": unpriced_usage(con, q),
        "rejected_lines": rejected_lines(con, q),
    }
    return report


def build_report(
    duckdb_path: Path,
    window: ReportWindow,
    filters: dict[str, str] | None = None,
    currency: str = "USD",
) -> dict:
    """The report as a dict. With another currency than USD every money field (`*_usd`) is
    converted at the seeds/fx_rates.csv rate valid at the period end and renamed
    `*_<currency>`, and the report is stamped with the currency, rate and its valid_from."""
    query = ReportQuery(window, {k: v for k, v in (filters or {}).items() if v is not None})
    with connect_readonly(duckdb_path) as con:
        if currency.upper() == "USD":
            return build_report_from_connection(con, query)
        from aiusage.pricing.fx import fx_rate

        rate, valid_from = fx_rate(con, currency, window.end)
        report = build_report_from_connection(con, query, currency.upper(), rate)
        return convert_currency(report, currency.upper(), rate, valid_from)


def convert_currency(report: dict, currency: str, rate: Decimal, valid_from: date) -> dict:
    """Every money field (``*_usd``) converted at ``rate`` and renamed ``*_<currency>``; the
    report is stamped with the currency, the rate and the day it became valid."""
    suffix = "_" + currency.lower()

    def convert(value):
        if isinstance(value, dict):
            return {
                (k[: -len("_usd")] + suffix if k.endswith("_usd") else k): (
                    (None if v is None else Decimal(v) * rate) if k.endswith("_usd") else convert(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    converted = convert(report)
    converted["currency"] = {"code": currency, "usd_rate": rate, "rate_valid_from": valid_from}
    return converted


def currency_code(report: dict) -> str:
    stamp = report.get("currency")
    return stamp["code"] if isinstance(stamp, dict) else (stamp or "USD")


def money_key(report: dict, key: str) -> str:
    """The key of a money field in this report (`*_usd` renamed for another currency)."""
    code = currency_code(report)
    if code == "USD" or not key.endswith("_usd"):
        return key
    return key[: -len("_usd")] + "_" + code.lower()
