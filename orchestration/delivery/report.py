"""The usage report, read from the published marts (never from raw events).

The report is a list of sections. Each section is one parameterized SQL query over a mart
(`Section.query`) plus the columns it shows; the renderers (text, markdown, JSON, CSV, Slack)
are generic over sections, so a new mart becomes a report section in a few lines:

    def by_prompt_version(con, q):
        where, params = q.where()
        return _rows(con, f"select ... from rpt_usage_by_prompt_version where {where} ...", params)

    SECTIONS.append(Section("by_prompt_version", "By prompt version", [...], by_prompt_version))

Filters (--client, --team, --user) go through `ReportQuery.where()`, which only ever emits
fixed column names and `?` placeholders: no value is ever spliced into SQL.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

REPORT_VERSION = 2


@dataclass(frozen=True)
class ReportWindow:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")
        if self.days > 3660:
            raise ValueError("the period is longer than 3660 days")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportWindow:
        return ReportWindow(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @classmethod
    def last_days(cls, days: int, end: date) -> ReportWindow:
        if days < 1:
            raise ValueError("--last-days must be at least 1")
        return cls(end - timedelta(days=days - 1), end)


# Filter name -> column of fct_daily_usage. The only identifiers a filter can produce.
FILTER_COLUMNS = {"client": "client", "team": "team", "user": "user_id"}


@dataclass(frozen=True)
class ReportQuery:
    """The period and the attribution filters of one report."""

    window: ReportWindow
    filters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.filters) - set(FILTER_COLUMNS)
        if unknown:
            raise ValueError(f"unknown report filter(s): {', '.join(sorted(unknown))}")

    def where(self, *, window: ReportWindow | None = None, date_column: str = "usage_date"):
        """SQL condition and parameters for the period and the filters on fct_daily_usage."""
        window = window or self.window
        clauses = [f"{date_column} between ? and ?"]
        params: list = [window.start, window.end]
        for name in sorted(self.filters):
            clauses.append(f"{FILTER_COLUMNS[name]} = ?")
            params.append(self.filters[name])
        return " and ".join(clauses), params


def connect_readonly(duckdb_path: Path) -> duckdb.DuckDBPyConnection:
    if not Path(duckdb_path).exists():
        raise FileNotFoundError(
            f"No warehouse at {duckdb_path}: run `aiusage build` (or `aiusage demo`) first."
        )
    return duckdb.connect(str(duckdb_path), read_only=True)


def relation_exists(con, name: str) -> bool:
    (count,) = con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [name]
    ).fetchone()
    return count > 0


def _rows(con, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _ratio(numerator, denominator):
    return None if not denominator else numerator / denominator


# ---------------------------------------------------------------------------------------------
# Sections: one parameterized query each
# ---------------------------------------------------------------------------------------------

SUMMARY_SQL = """
    select
        coalesce(sum(requests), 0) as requests,
        coalesce(sum(successful_requests), 0) as successful_requests,
        coalesce(sum(input_tokens), 0) as input_tokens,
        coalesce(sum(output_tokens), 0) as output_tokens,
        coalesce(sum(total_tokens), 0) as total_tokens,
        coalesce(sum(total_cost_usd), 0) as total_cost_usd,
        coalesce(sum(unpriced_requests), 0) as unpriced_requests
    from fct_daily_usage
    where {where}
"""


def summary(con, q: ReportQuery) -> dict:
    where, params = q.where()
    current = _rows(con, SUMMARY_SQL.format(where=where), params)[0]
    where, params = q.where(window=q.window.previous())
    previous = _rows(con, SUMMARY_SQL.format(where=where), params)[0]
    requests = current["requests"]
    priced = requests - current["unpriced_requests"]
    # Per priced request: unpriced requests have no cost, counting them would understate it.
    current["cost_per_request_usd"] = current["total_cost_usd"] / priced if priced else None
    current["success_rate"] = _ratio(current["successful_requests"], requests)
    current["previous_requests"] = previous["requests"]
    current["previous_total_cost_usd"] = previous["total_cost_usd"]
    current["cost_change_pct"] = (
        float((current["total_cost_usd"] - previous["total_cost_usd"]) / previous["total_cost_usd"])
        * 100
        if previous["total_cost_usd"]
        else None
    )
    current["requests_change_pct"] = (
        (requests - previous["requests"]) / previous["requests"] * 100
        if previous["requests"]
        else None
    )
    return current


def _grouped(con, q: ReportQuery, dimensions: list[str], extra: str = "") -> list[dict]:
    """Cost, volume, reliability and quality of fct_daily_usage grouped by fixed columns."""
    where, params = q.where()
    dims = ", ".join(dimensions)
    sql = f"""
        select
            {dims},
            sum(total_cost_usd) as total_cost_usd,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            sum(total_cost_usd) / nullif(sum(requests) - sum(unpriced_requests), 0)
                as cost_per_request_usd,
            sum(successful_requests) / nullif(sum(requests), 0) as success_rate,
            cast(sum(quality_score_sum) / nullif(sum(scored_requests), 0) as double)
                as avg_quality_score,
            sum(passed_quality_requests) / nullif(sum(quality_judged_requests), 0)
                as pass_rate,
            sum(latency_ms_sum) / nullif(sum(latency_requests), 0) as avg_latency_ms,
            sum(unpriced_requests) as unpriced_requests
            {extra}
        from fct_daily_usage
        where {where}
        group by {dims}
        order by total_cost_usd desc nulls last, requests desc, {dims}
    """
    return _rows(con, sql, params)


def by_client(con, q):
    return _grouped(con, q, ["client"], ", count(distinct user_id) as active_users")


def by_team(con, q):
    return _grouped(con, q, ["team"], ", count(distinct user_id) as active_users")


def by_user(con, q):
    return _grouped(con, q, ["user_id", "team"])


def by_workflow(con, q):
    return _grouped(con, q, ["workflow", "task_type"])


def by_model(con, q):
    return _grouped(
        con,
        q,
        ["provider", "model"],
        ", sum(ttft_ms_sum) / nullif(sum(ttft_requests), 0) as avg_ttft_ms",
    )


def by_day(con, q):
    where, params = q.where()
    return _rows(
        con,
        f"""
        select
            usage_date,
            sum(total_cost_usd) as total_cost_usd,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            sum(successful_requests) / nullif(sum(requests), 0) as success_rate,
            count(distinct team) as active_teams
        from fct_daily_usage
        where {where}
        group by usage_date
        order by usage_date
        """,
        params,
    )


def errors(con, q):
    """Failed requests by outcome and model (error distribution)."""
    where, params = q.where()
    return _rows(
        con,
        f"""
        with totals as (
            select
                provider,
                model,
                sum(requests) as requests,
                sum(error_requests) as error,
                sum(timeout_requests) as timeout,
                sum(rate_limited_requests) as rate_limited,
                sum(cancelled_requests) as cancelled
            from fct_daily_usage
            where {where}
            group by provider, model
        ),

        unpivoted as (
            unpivot totals
            on error, timeout, rate_limited, cancelled
            into name status value failed_requests
        )

        select
            status,
            provider,
            model,
            failed_requests,
            failed_requests / nullif(requests, 0) as failure_rate
        from unpivoted
        where failed_requests > 0
        order by failed_requests desc, status, provider, model
        """,
        params,
    )


def unpriced_usage(con, q):
    where, params = q.where()
    return _rows(
        con,
        f"""
        select provider, model, sum(unpriced_requests) as requests
        from fct_daily_usage
        where {where} and unpriced_requests > 0
        group by provider, model
        order by requests desc, provider, model
        """,
        params,
    )


def rejected_lines(con, q):
    # Rejected lines carry no trusted attribution: this warning is never filtered by
    # client/team/user, only by landing day.
    return _rows(
        con,
        """
        select rejection_reason, count(*) as lines
        from fct_rejected_events
        where landing_date between ? and ?
        group by rejection_reason
        order by lines desc, rejection_reason
        """,
        [q.window.start, q.window.end],
    )


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, money, money6, pct, float, ms, date


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: list[Column]
    query: Callable
    limit: int | None = None  # rows shown in text/markdown/Slack (JSON and CSV keep all)


_COST = [
    Column("total_cost_usd", "Cost", "money"),
    Column("requests", "Requests", "int"),
    Column("total_tokens", "Tokens", "int"),
    Column("cost_per_request_usd", "Cost/request", "money6"),
    Column("success_rate", "Success", "pct"),
    Column("avg_quality_score", "Quality", "float"),
]

SECTIONS: list[Section] = [
    Section(
        "by_client",
        "By client",
        [Column("client", "Client"), *_COST, Column("active_users", "Users", "int")],
        by_client,
    ),
    Section(
        "by_team",
        "By team",
        [Column("team", "Team"), *_COST, Column("active_users", "Users", "int")],
        by_team,
    ),
    Section(
        "by_user",
        "By user",
        [Column("user_id", "User"), Column("team", "Team"), *_COST],
        by_user,
        limit=15,
    ),
    Section(
        "by_workflow",
        "By workflow",
        [
            Column("workflow", "Workflow"),
            Column("task_type", "Task"),
            *_COST,
            Column("pass_rate", "Pass rate", "pct"),
            Column("avg_latency_ms", "Avg latency", "ms"),
        ],
        by_workflow,
        limit=15,
    ),
    Section(
        "by_model",
        "By model",
        [
            Column("provider", "Provider"),
            Column("model", "Model"),
            *_COST,
            Column("avg_latency_ms", "Avg latency", "ms"),
            Column("avg_ttft_ms", "Avg TTFT", "ms"),
        ],
        by_model,
    ),
    Section(
        "by_day",
        "By day",
        [
            Column("usage_date", "Day", "date"),
            Column("total_cost_usd", "Cost", "money"),
            Column("requests", "Requests", "int"),
            Column("total_tokens", "Tokens", "int"),
            Column("success_rate", "Success", "pct"),
            Column("active_teams", "Teams", "int"),
        ],
        by_day,
    ),
    Section(
        "errors",
        "Errors",
        [
            Column("status", "Outcome"),
            Column("provider", "Provider"),
            Column("model", "Model"),
            Column("failed_requests", "Requests", "int"),
            Column("failure_rate", "Rate", "pct"),
        ],
        errors,
        limit=10,
    ),
]

# Sections that wait for marts built on other branches (see docs/delivery.md). They are not
# rendered until their mart exists and a query is written for it: never with invented data.
PENDING_SECTIONS = {
    "substitution": "rpt_model_substitution",
    "budgets": "rpt_budget_status",
    "anomalies": "rpt_cost_anomalies",
    "by_prompt_version": "rpt_usage_by_prompt_version",
    "latency_percentiles": "rpt_latency_percentiles",
}


def build_report_from_connection(con, q: ReportQuery) -> dict:
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
        "summary": summary(con, q),
    }
    for section in SECTIONS:
        report[section.key] = section.query(con, q)
    report["warnings"] = {
        "unpriced_usage": unpriced_usage(con, q),
        "rejected_lines": rejected_lines(con, q),
    }
    return report


def build_report(
    duckdb_path: Path, window: ReportWindow, filters: dict[str, str] | None = None
) -> dict:
    query = ReportQuery(window, {k: v for k, v in (filters or {}).items() if v is not None})
    with connect_readonly(duckdb_path) as con:
        return build_report_from_connection(con, query)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def format_value(value, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "money":
        return f"${Decimal(value):,.2f}"
    if kind == "money6":
        return f"${Decimal(value):,.6f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if kind == "float":
        return f"{float(value):.2f}"
    if kind == "ms":
        return f"{float(value):,.0f} ms"
    return str(value)


def _money(value) -> str:
    return format_value(value, "money")


def summary_lines(report: dict) -> list[tuple[str, str]]:
    s = report["summary"]
    days = report["period"]["days"]
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
        ("Cost", f"{_money(s['total_cost_usd'])}  ({change})"),
        ("Cost per request", format_value(s["cost_per_request_usd"], "money6")),
        ("Success rate", format_value(s["success_rate"], "pct")),
    ]


def warning_lines(report: dict) -> list[str]:
    lines = []
    for row in report["warnings"]["unpriced_usage"]:
        lines.append(
            f"UNPRICED: {row['requests']:,} requests of {row['provider']}/{row['model']} "
            "have no price (cost not included; add a row to seeds/model_prices.csv)"
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


def _table(section: Section, rows: list[dict], limit: int | None) -> tuple[list, list]:
    shown = rows if limit is None else rows[:limit]
    header = [c.label for c in section.columns]
    body = [[format_value(row.get(c.key), c.kind) for c in section.columns] for row in shown]
    return header, body


def render_text(report: dict) -> str:
    lines = ["=" * 72, title(report), "=" * 72, "", "SUMMARY"]
    lines += [f"  {label + ':':<19}{value}" for label, value in summary_lines(report)]
    for section in SECTIONS:
        rows = report.get(section.key, [])
        lines += ["", section.title.upper()]
        if not rows:
            lines.append("  no usage")
            continue
        header, body = _table(section, rows, section.limit)
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
            lines.append("No usage.")
            continue
        header, body = _table(section, rows, section.limit)
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


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_jsonable(report: dict):
    return json.loads(json.dumps(report, default=_json_default))


def render_json(report: dict) -> str:
    return json.dumps(report, default=_json_default, indent=2, sort_keys=False) + "\n"


CSV_HEADER = ["section", "row", "field", "value"]


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render_csv(report: dict) -> str:
    """Long format: one line per (section, row, field) with the exact value (see docs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for key, value in report["period"].items():
        writer.writerow(["period", 1, key, _csv_value(value)])
    for key, value in report["filters"].items():
        writer.writerow(["filters", 1, key, value])
    for key, value in report["summary"].items():
        writer.writerow(["summary", 1, key, _csv_value(value)])
    tables = [(s.key, report.get(s.key, [])) for s in SECTIONS] + [
        (f"warnings.{k}", rows) for k, rows in report["warnings"].items()
    ]
    for name, rows in tables:
        for number, row in enumerate(rows, start=1):
            for key, value in row.items():
                writer.writerow([name, number, key, _csv_value(value)])
    return out.getvalue()


RENDERERS = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
    "csv": render_csv,
}


def report_window(last_days: int, start: date | None, end: date | None, today: date):
    """The period of `aiusage report`: --start-date/--end-date, else --last-days to end."""
    start = start.date() if hasattr(start, "date") else start
    end = end.date() if hasattr(end, "date") else end
    if start is not None:
        return ReportWindow(start, end or today)
    return ReportWindow.last_days(last_days, end or today)
