"""The report rendered as text, markdown, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

from aiusage.reporting.build import currency_code, money_key
from aiusage.reporting.money import format_money
from aiusage.reporting.sections import SECTIONS, Section
from aiusage.warehouse import json_default


def format_value(value, kind: str, currency: str = "USD") -> str:
    if value is None:
        return "n/a"
    if kind in ("money", "money6"):
        return format_money(value, currency, 2 if kind == "money" else 6)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if kind == "float":
        return f"{float(value):.2f}"
    if kind == "ms":
        return f"{float(value):,.0f} ms"
    return str(value)


def _money(value, currency: str = "USD") -> str:
    return format_value(value, "money", currency)


def summary_lines(report: dict) -> list[tuple[str, str]]:
    s = report["summary"]
    days = report["period"]["days"]
    code = currency_code(report)
    cost = s[money_key(report, "total_cost_usd")]
    change = (
        "n/a (no cost in the previous period)"
        if s["cost_change_pct"] is None
        else f"{s['cost_change_pct']:+.1f}% vs previous {days} days"
    )
    return [
        ("Requests", f"{s['requests']:,}"),
        (
            "Tokens",
            f"{s['total_tokens']:,} (input {s['input_tokens']:,}, output {s['output_tokens']:,})",
        ),
        ("Cost", f"{_money(cost, code)}  ({change})"),
        (
            "Cost per request",
            format_value(s[money_key(report, "cost_per_request_usd")], "money6", code),
        ),
        ("Success rate", format_value(s["success_rate"], "pct")),
        *([("Why", s["cost_drivers"])] if s.get("cost_drivers") else []),
    ] + (
        [
            (
                "Currency",
                f"{code} (1 USD = {Decimal(report['currency']['usd_rate']).normalize():f} "
                f"{code}, rate valid from {report['currency']['rate_valid_from']})",
            )
        ]
        if code != "USD"
        else []
    )


def warning_lines(report: dict) -> list[str]:
    lines = []
    for row in report["warnings"]["unpriced_usage"]:
        reason = f", {row['reasons']}" if row.get("reasons") else ""
        lines.append(
            f"UNPRICED: {row['requests']:,} requests of {row['provider']}/{row['model']} "
            f"have no price{reason} (cost not included; add a row to seeds/model_prices.csv)"
        )
    for row in report["warnings"]["rejected_lines"]:
        lines.append(
            f"REJECTED: {row['lines']:,} landed lines ({row['rejection_reason']}); "
            "see fct_rejected_events"
        )
    return lines


def title(report: dict) -> str:
    p = report["period"]
    scope = ", ".join(f"{k}={v}" for k, v in report["filters"].items())
    return f"AI USAGE REPORT  {p['start']} .. {p['end']} ({p['days']} days)" + (
        f"  [{scope}]" if scope else ""
    )


def _table(
    section: Section, rows: list[dict], limit: int | None, report: dict | None = None
) -> tuple[list, list]:
    shown = rows if limit is None else rows[:limit]
    report = report or {}
    code = currency_code(report)
    header = [c.label for c in section.columns]
    body = [
        [format_value(row.get(money_key(report, c.key)), c.kind, code) for c in section.columns]
        for row in shown
    ]
    return header, body


def render_text(report: dict) -> str:
    lines = ["=" * 72, title(report), "=" * 72, "", "SUMMARY"]
    lines += [f"  {label + ':':<19}{value}" for label, value in summary_lines(report)]
    for section in SECTIONS:
        rows = report.get(section.key, [])
        lines += ["", section.title.upper()]
        if not rows:
            lines.append(f"  {section.empty}")
            continue
        header, body = _table(section, rows, section.limit, report)
        widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
        for cells in [header, *body]:
            lines.append(
                "  "
                + "  ".join(
                    cell.ljust(w)
                    if i == 0 or section.columns[i].kind in ("text", "date")
                    else cell.rjust(w)
                    for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
                ).rstrip()
            )
        if section.limit is not None and len(rows) > section.limit:
            lines.append(f"  ... {len(rows) - section.limit} more (see --format json or csv)")
    lines += ["", "WARNINGS"]
    lines += [f"  {w}" for w in warning_lines(report)] or ["  none"]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def render_markdown(report: dict) -> str:
    lines = [f"# {title(report)}", "", "## Summary", ""]
    lines += [f"- **{label}:** {_md_cell(value)}" for label, value in summary_lines(report)]
    for section in SECTIONS:
        rows = report.get(section.key, [])
        lines += ["", f"## {section.title}", ""]
        if not rows:
            lines.append(section.empty[:1].upper() + section.empty[1:] + ".")
            continue
        header, body = _table(section, rows, section.limit, report)
        lines.append("| " + " | ".join(header) + " |")
        lines.append(
            "|"
            + "|".join("---" if c.kind in ("text", "date") else "---:" for c in section.columns)
            + "|"
        )
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in body]
        if section.limit is not None and len(rows) > section.limit:
            lines.append(f"\n{len(rows) - section.limit} more rows in the JSON or CSV report.")
    lines += ["", "## Warnings", ""]
    lines += [f"- {_md_cell(w)}" for w in warning_lines(report)] or ["None."]
    return "\n".join(lines) + "\n"


def render_json(report: dict) -> str:
    return json.dumps(report, default=json_default, indent=2, sort_keys=False) + "\n"


CSV_HEADER = ["section", "row", "field", "value"]


# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV
# injection"): = + - @, and tab / carriage return, which some of them strip first.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_csv_text(text: str) -> str:
    """A text cell a spreadsheet shows as text: prefixed with ' when it could start a
    formula. Only for text: numbers (negative ones too) are written as numbers."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return str(value)  # a number, e.g. -0.25: never a formula, left as is
    return neutralize_csv_text(str(value))


def render_csv(report: dict) -> str:
    """Long format: one line per (section, row, field) with the exact value (see docs).
    RFC 4180 line ends (CRLF), so a carriage return inside a name is quoted too; text that
    a spreadsheet would run as a formula is neutralized (`neutralize_csv_text`)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for key, value in report["period"].items():
        writer.writerow(["period", 1, key, _csv_value(value)])
    for key, value in report["filters"].items():
        writer.writerow(["filters", 1, key, _csv_value(value)])
    for key, value in report["summary"].items():
        writer.writerow(["summary", 1, key, _csv_value(value)])
    tables = [(s.key, report.get(s.key, [])) for s in SECTIONS] + [
        (f"warnings.{k}", rows) for k, rows in report["warnings"].items()
    ]
    for name, rows in tables:
        for number, row in enumerate(rows, start=1):
            for key, value in row.items():
                writer.writerow([name, number, neutralize_csv_text(key), _csv_value(value)])
    return out.getvalue()


RENDERERS = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
    "csv": render_csv,
}
