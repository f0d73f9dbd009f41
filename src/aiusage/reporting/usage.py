"""The report's usage figures, read through the semantic layer (models/semantic): cost,
volume, tokens, reliability and quality of fct_daily_usage, and latency percentiles of
interactive traffic from fct_llm_requests (batch and flex apart), for any period, filter and
grouping. Every figure is a metric of the semantic layer, compiled to SQL by
aiusage.reporting.semantic; nothing here defines one. The API and the dashboard read the same
functions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from aiusage.reporting.period import ReportQuery, ReportWindow
from aiusage.reporting.semantic import semantic_layer_of
from aiusage.warehouse import connect_readonly, fetch_rows

# report column -> semantic metric
TOTALS = {
    "requests": "requests",
    "successful_requests": "successful_requests",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "total_tokens": "total_tokens",
    "total_cost_usd": "total_cost",
    "unpriced_requests": "unpriced_requests",
    "cost_per_request_usd": "cost_per_request",
    "success_rate": "success_rate",
}
GROUPED = {
    "total_cost_usd": "total_cost",
    "requests": "requests",
    "total_tokens": "total_tokens",
    "cost_per_request_usd": "cost_per_request",
    "success_rate": "success_rate",
    "avg_quality_score": "avg_quality_score",
    "pass_rate": "pass_rate",
    "unpriced_requests": "unpriced_requests",
}
# Latency of interactive traffic (successful requests of tiers other than batch and flex),
# from the request fact: percentiles do not add up over the daily grain.
INTERACTIVE_LATENCY = {
    "latency_p50_ms": "p50_latency_ms",
    "latency_p95_ms": "p95_latency_ms",
}
# batch and flex, apart from interactive traffic
DEFERRED_TIERS = ("batch", "flex")
OUTCOMES = {
    "error": "error_requests",
    "timeout": "timeout_requests",
    "rate_limited": "rate_limited_requests",
    "cancelled": "cancelled_requests",
}


def latest_usage_date(con):
    """The last day with usage in the warehouse (None when it is empty): the default end of
    a period, as the marts anchor on the data, never on the clock."""
    (latest,) = con.execute("select max(usage_date) from fct_daily_usage").fetchone()
    return latest


def period_end(con, end: date | None = None) -> date:
    """The last day of a reader's period: `end` when given, else the last usage day, else
    (an empty warehouse) today in UTC. The report, send-report, the API and the dashboard
    all end a default period here, so that one request gives one period everywhere."""
    return end or latest_usage_date(con) or datetime.now(UTC).date()


def period_end_of(duckdb_path: Path, end: date | None = None) -> date:
    """period_end on the warehouse at `duckdb_path` (opened only when `end` is None)."""
    if end is not None:
        return end
    with connect_readonly(duckdb_path) as con:
        return period_end(con)


def metric_rows(
    con,
    q: ReportQuery,
    metrics: dict[str, str],
    group_by: list[str] = (),
    order_by: str | None = None,
    window: ReportWindow | None = None,
    nonzero: str | None = None,
) -> list[dict]:
    """Rows of semantic metrics over the period and filters of `q` (`nonzero`: only the
    groups where that metric is above zero)."""
    where, params = q.where(window=window)
    sql = semantic_layer_of(con).select(metrics, group_by, where, order_by, nonzero)
    return fetch_rows(con, sql, params)


def summary(con, q: ReportQuery) -> dict:
    """The period's totals and their change against the period before."""
    (current,) = metric_rows(con, q, TOTALS)
    (previous,) = metric_rows(con, q, TOTALS, window=q.window.previous())
    for row in (current, previous):
        for column in ("requests", "successful_requests", "input_tokens", "output_tokens",
                       "total_tokens", "total_cost_usd", "unpriced_requests"):  # fmt: skip
            row[column] = row[column] or 0  # no usage in the period: zero, not unknown
    current["previous_requests"] = previous["requests"]
    current["previous_total_cost_usd"] = previous["total_cost_usd"]
    current["cost_change_pct"] = (
        float((current["total_cost_usd"] - previous["total_cost_usd"]) / previous["total_cost_usd"])
        * 100
        if previous["total_cost_usd"]
        else None
    )
    current["requests_change_pct"] = (
        (current["requests"] - previous["requests"]) / previous["requests"] * 100
        if previous["requests"]
        else None
    )
    return current


def _grouped(
    con,
    q: ReportQuery,
    dimensions: list[str],
    extra: dict | None = None,
    latency: dict | None = None,
) -> list[dict]:
    """The usage metrics per group, with the interactive latency percentiles of each group
    (INTERACTIVE_LATENCY and `latency`: metrics of the request fact, joined on the group)."""
    dims = ", ".join(dimensions)
    rows = metric_rows(
        con,
        q,
        {**GROUPED, **(extra or {})},
        dimensions,
        order_by=f"total_cost_usd desc nulls last, requests desc, {dims}",
    )
    return _with_metrics(con, q, rows, dimensions, {**INTERACTIVE_LATENCY, **(latency or {})})


def _with_metrics(con, q: ReportQuery, rows: list[dict], dimensions: list[str], metrics: dict):
    """`rows` (one per group of `dimensions`) with `metrics` of another semantic model
    grouped the same way; a group without a value gets None."""
    extra = {tuple(r[d] for d in dimensions): r for r in metric_rows(con, q, metrics, dimensions)}
    for row in rows:
        found = extra.get(tuple(row[d] for d in dimensions), {})
        row.update({column: found.get(column) for column in metrics})
    return rows


def by_client(con, q):
    return _grouped(con, q, ["client"], {"active_users": "active_users"})


def by_team(con, q):
    return _grouped(con, q, ["team"], {"active_users": "active_users"})


def by_user(con, q):
    return _grouped(con, q, ["user_id", "team"])


def by_workflow(con, q):
    return _grouped(con, q, ["workflow", "task_type"])


def by_feature(con, q):
    """Cost, volume, tokens and reliability per product feature (the events' optional
    `feature`; '(unattributed)' when they carry none). The request fact's latency has no
    feature dimension in the semantic layer, so none is shown here."""
    metrics = {
        **GROUPED,
        "failed_requests": "failed_requests",
        "error_rate": "error_rate",
    }
    return metric_rows(
        con,
        q,
        metrics,
        ["feature"],
        order_by="total_cost_usd desc nulls last, requests desc, feature",
    )


def by_model(con, q):
    return _grouped(con, q, ["provider", "model"], latency={"ttft_p50_ms": "p50_ttft_ms"})


def by_day(con, q):
    metrics = {
        "total_cost_usd": "total_cost",
        "requests": "requests",
        "total_tokens": "total_tokens",
        "success_rate": "success_rate",
        "active_teams": "active_teams",
    }
    return metric_rows(con, q, metrics, ["usage_date"], order_by="usage_date")


def errors(con, q):
    """Failed requests by outcome and model (error distribution)."""
    rows = metric_rows(con, q, {"requests": "requests", **OUTCOMES}, ["provider", "model"])
    out = [
        {
            "status": status,
            "provider": row["provider"],
            "model": row["model"],
            "failed_requests": row[status],
            "failure_rate": row[status] / row["requests"] if row["requests"] else None,
        }
        for row in rows
        for status in OUTCOMES
        if row[status]
    ]
    return sorted(
        out, key=lambda r: (-r["failed_requests"], r["status"], r["provider"], r["model"])
    )


def unpriced_by_model(con, q):
    """Unpriced requests per model under any filter (the counts of the semantic layer; the
    reasons are in rpt_unpriced_usage, which has no team or user)."""
    return metric_rows(
        con,
        q,
        {"requests": "unpriced_requests"},
        ["provider", "model"],
        order_by="requests desc, provider, model",
        nonzero="unpriced_requests",
    )


def daily_cost_by_model(con, q):
    return metric_rows(con, q, {"total_cost_usd": "total_cost"}, ["usage_date", "model"],
                       order_by="usage_date, model")  # fmt: skip


def tokens_by_day(con, q):
    metrics = {
        name: name
        for name in (
            "uncached_input_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "output_tokens",
        )  # fmt: skip
    }
    return metric_rows(con, q, metrics, ["usage_date"], order_by="usage_date")


def latency_by_day(con, q):
    """Per day: interactive latency p50 and p95 and time to first token p50, and the p95
    latency of batch and of flex requests apart (minutes to hours: never averaged in)."""
    metrics = {**INTERACTIVE_LATENCY, "ttft_p50_ms": "p50_ttft_ms"}
    rows = metric_rows(con, q, metrics, ["usage_date"], order_by="usage_date")
    tiers = metric_rows(con, q, {"p95": "p95_latency_by_tier_ms"}, ["usage_date", "service_tier"])
    by_day = {
        (r["usage_date"], r["service_tier"]): r["p95"]
        for r in tiers
        if r["service_tier"] in DEFERRED_TIERS
    }
    days = {r["usage_date"]: r for r in rows}
    for day, _tier in by_day:  # a day with deferred traffic only
        days.setdefault(day, {"usage_date": day, **dict.fromkeys(metrics)})
    for day, row in days.items():
        for tier in DEFERRED_TIERS:
            row[f"{tier}_latency_p95_ms"] = by_day.get((day, tier))
    return [days[day] for day in sorted(days)]


def latency_by_tier(con, q):
    """Per service tier, p50 and p95 latency of successful requests over the period:
    interactive tiers (standard, priority) beside batch and flex, never mixed."""
    metrics = {
        "latency_p50_ms": "p50_latency_by_tier_ms",
        "latency_p95_ms": "p95_latency_by_tier_ms",
    }
    return metric_rows(con, q, metrics, ["service_tier"], order_by="service_tier")


def outcome_distribution(con, q):
    (row,) = metric_rows(con, q, OUTCOMES)
    return [{"status": k, "requests": v} for k, v in row.items() if v]


def cost_tree(con, q):
    return metric_rows(
        con,
        q,
        {"total_cost_usd": "total_cost"},
        ["team", "workflow", "model"],
        order_by="team, workflow, model",
        nonzero="total_cost",
    )


def team_daily_usage(con, q):
    """One team's usage per day (the API's team usage)."""
    metrics = {
        "total_cost_usd": "total_cost",
        "requests": "requests",
        "successful_requests": "successful_requests",
        "total_tokens": "total_tokens",
        "unpriced_requests": "unpriced_requests",
    }
    return metric_rows(con, q, metrics, ["usage_date"], order_by="usage_date")
