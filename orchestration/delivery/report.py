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
    """Unpriced usage of the period (rpt_unpriced_usage), with the reason; never costed as 0.

    The mart's grain has no team or user: with those filters the warning falls back to the
    unpriced request counts of fct_daily_usage (same requests, no reason)."""
    if q.filters.keys() - {"client"} or not relation_exists(con, "rpt_unpriced_usage"):
        where, params = q.where()
        return _rows(
            con,
            f"""
            select provider, model, null as reasons, sum(unpriced_requests) as requests
            from fct_daily_usage
            where {where} and unpriced_requests > 0
            group by provider, model
            order by requests desc, provider, model
            """,
            params,
        )
    return _rows(
        con,
        """
        select
            provider,
            model,
            string_agg(distinct unpriced_reason, ', ' order by unpriced_reason) as reasons,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            min(first_seen_at) as first_seen_at,
            max(last_seen_at) as last_seen_at
        from rpt_unpriced_usage
        where usage_date between ? and ?
        group by provider, model
        order by requests desc, provider, model
        """,
        [q.window.start, q.window.end],
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


def by_prompt_version(con, q):
    """rpt_usage_by_prompt_version has client but no team/user: skipped with those filters."""
    if q.filters.keys() - {"client"} or not relation_exists(con, "rpt_usage_by_prompt_version"):
        return []
    where, params = q.where()
    return _rows(
        con,
        f"""
        select
            workflow,
            prompt_version,
            sum(total_cost_usd) as total_cost_usd,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            sum(total_cost_usd) / nullif(sum(requests) - sum(unpriced_requests), 0)
                as cost_per_request_usd,
            sum(successful_requests) / nullif(sum(requests), 0) as success_rate,
            sum(quality_score_sum) / nullif(sum(scored_requests), 0) as avg_quality_score,
            sum(passed_quality_requests) / nullif(sum(quality_judged_requests), 0) as pass_rate
        from rpt_usage_by_prompt_version
        where {where}
        group by workflow, prompt_version
        order by total_cost_usd desc nulls last, workflow, prompt_version
        """,
        params,
    )


def substitution(con, q):
    """Best cheaper candidate per (workflow, task, current model), largest savings first.

    The mart's window is its own (the trailing analysis window ending with the data); with
    --team it keeps the team's workflows (dim_workflows), with --client/--user it is skipped."""
    if q.filters.keys() - {"team"} or not relation_exists(con, "rpt_model_substitution"):
        return []
    team_clause, params = "", []
    if "team" in q.filters:
        team_clause = "and workflow in (select workflow from dim_workflows where team = ?)"
        params = [q.filters["team"]]
    return _rows(
        con,
        f"""
        select
            workflow,
            task_type,
            current_model,
            candidate_model,
            current_avg_quality_score,
            candidate_avg_quality_score,
            quality_difference_lower_bound,
            current_cost_per_successful_request_usd,
            candidate_cost_per_successful_request_usd,
            estimated_monthly_savings_usd,
            window_start_date,
            window_end_date
        from rpt_model_substitution
        where is_best_candidate {team_clause}
        order by estimated_monthly_savings_usd desc, workflow, task_type, current_model
        """,
        params,
    )


_SCOPE_FILTERS = {"team": "team", "client": "client", "user": "user"}


def _scope_clause(q, scope_column: str) -> tuple[str, list]:
    """Budgets, anomalies and alerts are per scope: a --team/--client/--user filter keeps the
    rows of that scope only.

    Within a team's view (a --team filter, always there for a team token of the API) a
    client's rows are left out (a client's spend spans teams) and a user's rows are kept
    only for a user whose usage is all in that team: a team never reads another team's
    figures through a user or client filter."""
    clauses, params = [], []
    team = q.filters.get("team")
    for name in sorted(q.filters):
        if team is not None and name == "client":
            continue
        clause = f"{scope_column} = ? and scope_id = ?"
        params += [_SCOPE_FILTERS[name], q.filters[name]]
        if team is not None and name == "user":
            clause += (
                " and scope_id in (select user_id from fct_daily_usage group by user_id"
                " having min(team) = ? and max(team) = ?)"
            )
            params += [team, team]
        clauses.append(f"({clause})")
    return (" and (" + " or ".join(clauses) + ")" if clauses else ""), params


def budgets(con, q):
    """Each budget as it stood at the end of the period (month to date, month-end forecast)."""
    if not relation_exists(con, "rpt_budget_status"):
        return []
    scope, params = _scope_clause(q, "scope")
    return _rows(
        con,
        f"""
        select scope, scope_id, as_of_date, monthly_limit_usd, spent_mtd_usd, utilization,
               forecast_month_end_usd, forecast_utilization, status, forecast_status
        from rpt_budget_status
        where as_of_date = (select max(as_of_date) from rpt_budget_status where as_of_date <= ?)
            {scope}
        order by forecast_utilization desc nulls last, scope, scope_id
        """,
        [q.window.end, *params],
    )


ANOMALY_LOOKBACK_DAYS = 30


def anomalies(con, q):
    """Flagged cost and token anomalies of teams and workflows in the ANOMALY_LOOKBACK_DAYS
    days ending with the period (a weekly report still shows last month's spikes)."""
    if not relation_exists(con, "rpt_cost_anomalies"):
        return []
    scope, params = _scope_clause(q, "scope_type")
    return _rows(
        con,
        f"""
        select usage_date, scope_type, scope_id, metric, metric_value, trailing_mean,
               ratio_to_mean, z_score
        from rpt_cost_anomalies
        where is_anomaly and usage_date between ? and ? {scope}
        order by usage_date desc, metric, scope_type, scope_id
        """,
        [
            min(q.window.start, q.window.end - timedelta(days=ANOMALY_LOOKBACK_DAYS - 1)),
            q.window.end,
            *params,
        ],
    )


def alerts(con, q):
    """Conditions breaching the alert thresholds on the warehouse's as-of day (rpt_alerts)."""
    if not relation_exists(con, "rpt_alerts"):
        return []
    scope, params = _scope_clause(q, "scope_type")
    return _rows(
        con,
        f"""
        select as_of_date, severity, alert_type, scope_type, scope_id, measured_value,
               threshold_value, unit, message
        from rpt_alerts
        where true {scope}
        order by severity_rank desc, alert_type, scope_type, scope_id
        """,
        params,
    )


def latency_percentiles(con, q):
    """Latency and TTFT percentiles per model on the last day of the period with traffic
    (percentiles do not add up over days, so the report shows one day).

    The mart is per model over every team's requests: with a --team/--client/--user filter
    the section is left out, so a team's report (and a team token of the API) never shows
    figures made of other teams' requests."""
    if q.filters or not relation_exists(con, "rpt_latency_percentiles"):
        return []
    return _rows(
        con,
        """
        select usage_date, provider, model, requests, latency_p50_ms, latency_p95_ms,
               latency_p99_ms, ttft_p50_ms, ttft_p95_ms, output_tokens_per_second_p50
        from rpt_latency_percentiles
        where usage_date = (
            select max(usage_date) from rpt_latency_percentiles where usage_date between ? and ?
        )
        order by latency_p95_ms desc nulls last, provider, model
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
    Section(
        "by_prompt_version",
        "By prompt version",
        [
            Column("workflow", "Workflow"),
            Column("prompt_version", "Prompt"),
            *_COST,
            Column("pass_rate", "Pass rate", "pct"),
        ],
        by_prompt_version,
        limit=15,
    ),
    Section(
        "substitution",
        "Cost-reduction opportunities (model substitution)",
        [
            Column("workflow", "Workflow"),
            Column("task_type", "Task"),
            Column("current_model", "Current"),
            Column("candidate_model", "Candidate"),
            Column("current_avg_quality_score", "Quality now", "float"),
            Column("candidate_avg_quality_score", "Quality cand.", "float"),
            Column("current_cost_per_successful_request_usd", "Cost/success now", "money6"),
            Column("candidate_cost_per_successful_request_usd", "Cost/success cand.", "money6"),
            Column("estimated_monthly_savings_usd", "Savings/month", "money"),
        ],
        substitution,
        limit=5,
    ),
    Section(
        "budgets",
        "Budgets and month-end forecast",
        [
            Column("scope", "Scope"),
            Column("scope_id", "Id"),
            Column("spent_mtd_usd", "Spent MTD", "money"),
            Column("monthly_limit_usd", "Limit", "money"),
            Column("utilization", "Used", "pct"),
            Column("status", "Status"),
            Column("forecast_month_end_usd", "Forecast", "money"),
            Column("forecast_utilization", "Forecast used", "pct"),
            Column("forecast_status", "Forecast status"),
        ],
        budgets,
    ),
    Section(
        "anomalies",
        f"Anomalies (last {ANOMALY_LOOKBACK_DAYS} days)",
        [
            Column("usage_date", "Day", "date"),
            Column("scope_type", "Scope"),
            Column("scope_id", "Id"),
            Column("metric", "Metric"),
            Column("metric_value", "Value", "float"),
            Column("ratio_to_mean", "x trailing mean", "float"),
            Column("z_score", "z", "float"),
        ],
        anomalies,
        limit=10,
    ),
    Section(
        "alerts",
        "Alerts",
        [
            Column("severity", "Severity"),
            Column("alert_type", "Type"),
            Column("scope_type", "Scope"),
            Column("scope_id", "Id"),
            Column("measured_value", "Measured", "float"),
            Column("threshold_value", "Threshold", "float"),
            Column("unit", "Unit"),
        ],
        alerts,
        limit=15,
    ),
    Section(
        "latency_percentiles",
        "Latency percentiles (last day of the period)",
        [
            Column("provider", "Provider"),
            Column("model", "Model"),
            Column("requests", "Requests", "int"),
            Column("latency_p50_ms", "p50", "ms"),
            Column("latency_p95_ms", "p95", "ms"),
            Column("latency_p99_ms", "p99", "ms"),
            Column("ttft_p95_ms", "TTFT p95", "ms"),
        ],
        latency_percentiles,
    ),
]


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
        report = build_report_from_connection(con, query)
        if currency.upper() != "USD":
            from orchestration.pricing import fx_rate

            rate, valid_from = fx_rate(con, currency, window.end)
            report = convert_currency(report, currency.upper(), rate, valid_from)
        return report


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


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def format_value(value, kind: str, currency: str = "USD") -> str:
    if value is None:
        return "n/a"
    if kind in ("money", "money6"):
        digits = 2 if kind == "money" else 6
        prefix = "$" if currency == "USD" else currency + " "
        return f"{prefix}{Decimal(value):,.{digits}f}"
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
            lines.append("  no usage")
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
            lines.append("No usage.")
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


def report_window(last_days: int, start: date | None, end: date | None, today: date):
    """The period of `aiusage report`: --start-date/--end-date, else --last-days to end."""
    start = start.date() if hasattr(start, "date") else start
    end = end.date() if hasattr(end, "date") else end
    if start is not None:
        return ReportWindow(start, end or today)
    return ReportWindow.last_days(last_days, end or today)
