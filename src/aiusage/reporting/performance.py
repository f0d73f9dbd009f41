"""Report and dashboard sections over the performance marts: latency percentiles per model,
latency by hour of day, token distribution per model. Percentiles are over every team's
requests and do not add up over days: each section reads one grain of its mart, and a
filtered report (a team token of the API) leaves them out, so a team never reads figures
made of other teams' requests."""

from __future__ import annotations

from aiusage.reporting.period import ReportQuery
from aiusage.warehouse import fetch_rows, relation_exists


def latency_percentiles(con, q):
    """Latency and TTFT percentiles per model on the last day of the period with traffic
    (percentiles do not add up over days, so the report shows one day).

    The mart is per model over every team's requests: with a --team/--client/--user filter
    the section is left out, so a team's report (and a team token of the API) never shows
    figures made of other teams' requests."""
    if q.filters or not relation_exists(con, "rpt_latency_percentiles"):
        return []
    return fetch_rows(
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


def latency_by_hour(con, q: ReportQuery) -> list[dict]:
    """Per day of the period and hour of day (reporting time zone), the p50 and p95 latency
    and p50 time to first token of successful interactive requests over every model, as
    the mart computes them (one row per cell: percentiles do not add up): the hours of the
    day where answers are slow (the dashboard's heat map)."""
    if q.filters or not relation_exists(con, "rpt_latency_by_hour"):
        return []
    return fetch_rows(
        con,
        """
        select usage_date, hour_of_day, requests, latency_p50_ms, latency_p95_ms, ttft_p50_ms
        from rpt_latency_by_hour
        where usage_date between ? and ?
        order by usage_date, hour_of_day
        """,
        [q.window.start, q.window.end],
    )


def token_distribution(con, q: ReportQuery) -> list[dict]:
    """Per model and task, the total tokens of a request at p50, p90 and p99 on the last
    day of the period with traffic, as the mart computes them (the outlier requests)."""
    if q.filters or not relation_exists(con, "rpt_token_distribution"):
        return []
    return fetch_rows(
        con,
        """
        select usage_date, provider, model, task_type, requests, total_tokens_p50,
               total_tokens_p90, total_tokens_p99, total_tokens_max
        from rpt_token_distribution
        where usage_date = (
            select max(usage_date) from rpt_token_distribution where usage_date between ? and ?
        )
        order by total_tokens_p99 desc nulls last, provider, model, task_type
        """,
        [q.window.start, q.window.end],
    )
