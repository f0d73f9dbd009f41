"""Report sections over the efficiency marts: what each model costs per success and per
point of quality (rpt_model_efficiency), and what each active user costs
(rpt_cost_per_active_user). Both marts compute their trailing windows at the end of the
data; the report shows the windows that end on or before the end of its period."""

from __future__ import annotations

from aiusage.reporting.period import ReportQuery
from aiusage.warehouse import fetch_rows, relation_exists


def model_efficiency(con, q: ReportQuery) -> list[dict]:
    """Cost, cost per success, quality per dollar, tokens per dollar and cache hit rate per
    task and model over the mart's window (every team's requests: left out of a filtered
    report)."""
    if q.filters or not relation_exists(con, "rpt_model_efficiency"):
        return []
    return fetch_rows(
        con,
        """
        select task_type, provider, model, requests, total_cost_usd,
               cost_per_successful_request_usd, avg_quality_score, quality_per_dollar,
               tokens_per_dollar, cache_hit_rate, success_rate, window_start_date,
               window_end_date
        from rpt_model_efficiency
        where window_end_date <= ?
        order by total_cost_usd desc nulls last, task_type, provider, model
        """,
        [q.window.end],
    )


def cost_per_active_user(con, q: ReportQuery) -> list[dict]:
    """Cost per active user over the trailing windows (7, 30, 90 days): the whole company and
    each team, or the team of a --team filter (a client or user filter leaves it out)."""
    if q.filters.keys() - {"team"} or not relation_exists(con, "rpt_cost_per_active_user"):
        return []
    team = q.filters.get("team")
    return fetch_rows(
        con,
        f"""
        select team, window_days, window_start_date, window_end_date, active_users,
               total_cost_usd, cost_per_active_user_usd, is_window_complete
        from rpt_cost_per_active_user
        where window_end_date <= ? {"and team = ?" if team else ""}
        order by team = '(all teams)' desc, window_days, total_cost_usd desc, team
        """,
        [q.window.end, *([team] if team else [])],
    )
