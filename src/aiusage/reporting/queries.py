"""The report's sections over the marts that define them (prompt versions, substitution,
budgets, anomalies, alerts, latency percentiles, unpriced usage, quarantine); the usage
figures of fct_daily_usage come through the semantic layer (aiusage.reporting.usage).

Each section is one parameterized SQL query over a mart (`Section.query`) plus the columns
it shows; the renderers (text, markdown, JSON, CSV, Slack) are generic over sections, so a
new mart becomes a report section in a few lines:

    def by_prompt_version(con, q):
        where, params = q.where()
        sql = f"select ... from rpt_usage_by_prompt_version where {where} ..."
        return fetch_rows(con, sql, params)

    SECTIONS.append(Section("by_prompt_version", "By prompt version", [...], by_prompt_version))

Filters (--client, --team, --user) go through `ReportQuery.where()`, which only ever emits
fixed column names and `?` placeholders: no value is ever spliced into SQL. A mart without
the filter's column is left out of a filtered report (a team never reads figures made of
other teams' requests).
"""

from __future__ import annotations

from datetime import timedelta

from aiusage.reporting.usage import unpriced_by_model
from aiusage.warehouse import fetch_rows, relation_exists


def unpriced_usage(con, q):
    """Unpriced usage of the period (rpt_unpriced_usage), with the reason; never costed as 0.

    The mart's grain has no client, team or user: with any filter the warning falls back
    to the unpriced request counts of the semantic layer (same requests, no reason)."""
    if q.filters or not relation_exists(con, "rpt_unpriced_usage"):
        return [
            {"provider": r["provider"], "model": r["model"], "reasons": None,
             "requests": r["requests"]}
            for r in unpriced_by_model(con, q)
        ]  # fmt: skip
    return fetch_rows(
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
    return fetch_rows(
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
    return fetch_rows(
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


def team_workflows_clause(q, column: str = "workflow") -> tuple[str, list] | None:
    """`and <column> in (the team's workflows)` for a --team filter (dim_workflows), with
    its parameters; ("", []) without filters; None when a --client or --user filter makes a
    mart of workflows inapplicable (its grain has no client or user)."""
    if q.filters.keys() - {"team"}:
        return None
    if "team" not in q.filters:
        return "", []
    clause = f"and {column} in (select workflow from dim_workflows where team = ?)"
    return clause, [q.filters["team"]]


def substitution(con, q):
    """Best cheaper candidate per (workflow, task, current model), largest savings first.

    The mart's window is its own (the trailing analysis window ending with the data); with
    --team it keeps the team's workflows (dim_workflows), with --client/--user it is skipped."""
    scope = team_workflows_clause(q)
    if scope is None or not relation_exists(con, "rpt_model_substitution"):
        return []
    team_clause, params = scope
    return fetch_rows(
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
    """Each budget as it stood at the end of the period (month to date, month-end forecast
    with its P10-P90 interval and backtest error, the day the budget runs out) and, for a
    budget with a daily limit, that limit and what that last day cost (both null without
    one)."""
    if not relation_exists(con, "rpt_budget_status"):
        return []
    scope, params = _scope_clause(q, "scope")
    return fetch_rows(
        con,
        f"""
        select scope, scope_id, as_of_date, monthly_limit_usd, spent_mtd_usd, utilization,
               forecast_month_end_usd, forecast_utilization, status, forecast_status,
               forecast_month_end_p10_usd, forecast_month_end_p90_usd, forecast_backtest_weeks,
               forecast_backtest_error, budget_run_out_date, daily_limit_usd,
               case when daily_limit_usd is not null then spent_day_usd end as spent_day_usd,
               daily_utilization, daily_status
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
    return fetch_rows(
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
    return fetch_rows(
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
