"""The data behind the dashboard: parameterized queries over the published marts."""

from __future__ import annotations

from aiusage.reporting.period import ReportQuery
from aiusage.reporting.queries import (
    budgets,
    by_model,
    latency_percentiles,
    substitution,
    summary,
)
from aiusage.warehouse import fetch_rows, to_jsonable


def daily_cost_by_model(con, q: ReportQuery) -> list[dict]:
    where, params = q.where()
    return fetch_rows(
        con,
        f"""
        select usage_date, model, sum(total_cost_usd) as total_cost_usd
        from fct_daily_usage
        where {where}
        group by usage_date, model
        order by usage_date, model
        """,
        params,
    )


def tokens_by_day(con, q: ReportQuery) -> list[dict]:
    where, params = q.where()
    return fetch_rows(
        con,
        f"""
        select
            usage_date,
            sum(uncached_input_tokens) as uncached_input_tokens,
            sum(cache_read_tokens) as cache_read_tokens,
            sum(cache_write_tokens) as cache_write_tokens,
            sum(output_tokens) as output_tokens
        from fct_daily_usage
        where {where}
        group by usage_date
        order by usage_date
        """,
        params,
    )


def latency_by_day(con, q: ReportQuery) -> list[dict]:
    where, params = q.where()
    return fetch_rows(
        con,
        f"""
        select
            usage_date,
            sum(latency_ms_sum) / nullif(sum(latency_requests), 0) as avg_latency_ms,
            sum(ttft_ms_sum) / nullif(sum(ttft_requests), 0) as avg_ttft_ms
        from fct_daily_usage
        where {where}
        group by usage_date
        order by usage_date
        """,
        params,
    )


def outcome_distribution(con, q: ReportQuery) -> list[dict]:
    where, params = q.where()
    (row,) = fetch_rows(
        con,
        f"""
        select
            coalesce(sum(error_requests), 0) as error,
            coalesce(sum(timeout_requests), 0) as timeout,
            coalesce(sum(rate_limited_requests), 0) as rate_limited,
            coalesce(sum(cancelled_requests), 0) as cancelled
        from fct_daily_usage
        where {where}
        """,
        params,
    )
    return [{"status": k, "requests": v} for k, v in row.items() if v]


def cost_tree(con, q: ReportQuery) -> list[dict]:
    where, params = q.where()
    return fetch_rows(
        con,
        f"""
        select team, workflow, model, sum(total_cost_usd) as total_cost_usd
        from fct_daily_usage
        where {where}
        group by team, workflow, model
        having sum(total_cost_usd) > 0
        order by team, workflow, model
        """,
        params,
    )


def dashboard_data(con, q: ReportQuery) -> dict:
    data = {
        "period": {"start": q.window.start, "end": q.window.end, "days": q.window.days},
        "filters": dict(q.filters),
        "summary": summary(con, q),
        "daily_cost_by_model": daily_cost_by_model(con, q),
        "tokens_by_day": tokens_by_day(con, q),
        "latency_by_day": latency_by_day(con, q),
        "outcomes": outcome_distribution(con, q),
        "models": by_model(con, q),
        "cost_tree": cost_tree(con, q),
        "budgets": budgets(con, q),
        "substitution": substitution(con, q),
        "latency_percentiles": latency_percentiles(con, q),
    }
    return to_jsonable(data)
