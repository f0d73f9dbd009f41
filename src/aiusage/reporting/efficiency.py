"""Report sections over the efficiency marts: what each model costs per success and per
point of quality (rpt_model_efficiency), and what each active user costs
(rpt_cost_per_active_user). Both marts compute their trailing windows at the end of the
data: the report shows the model efficiency windows that end on or before the end of its
period, and the cost per active user of its own period (the semantic layer) beside the
mart's windows that end with it. What a completed task costs and earns per workflow
(cost_per_outcome) is summed for the report's period from fct_task_costs, the tasks
rpt_cost_per_outcome sums over its window."""

from __future__ import annotations

from aiusage.reporting.period import ReportQuery
from aiusage.reporting.queries import team_workflows_clause
from aiusage.reporting.usage import metric_rows
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


CAU = {
    "active_users": "active_users",
    "total_cost_usd": "total_cost",
    "cost_per_active_user_usd": "cost_per_active_user",
}


def cost_per_active_user(con, q: ReportQuery) -> list[dict]:
    """Cost per active user (seed 002's CAU) over the report's own period, from the semantic
    layer (any period, every filter): the company's row (without a --team filter) and each
    team's; then the trailing windows of rpt_cost_per_active_user (7, 30, 90 days) that end
    on the period's last day, for the company and the teams (left out with a --client or
    --user filter: the mart has neither). A row's is_window_complete is false when the data
    starts after its window does."""
    (first_day,) = con.execute("select min(usage_date) from fct_daily_usage").fetchone()
    period = {
        "window_days": q.window.days,
        "window_start_date": q.window.start,
        "window_end_date": q.window.end,
        "is_window_complete": first_day is not None and first_day <= q.window.start,
    }
    rows = [] if "team" in q.filters else [{"team": "(all teams)", **metric_rows(con, q, CAU)[0]}]
    rows += metric_rows(con, q, CAU, ["team"], order_by="total_cost_usd desc nulls last, team")
    rows = [{**row, **period} for row in rows if row["active_users"] or row["total_cost_usd"]]
    if q.filters.keys() - {"team"} or not relation_exists(con, "rpt_cost_per_active_user"):
        return rows
    team = q.filters.get("team")
    return rows + fetch_rows(
        con,
        f"""
        select team, window_days, window_start_date, window_end_date, active_users,
               total_cost_usd, cost_per_active_user_usd, is_window_complete
        from rpt_cost_per_active_user
        where window_end_date = ? and window_days != ? {"and team = ?" if team else ""}
        order by team = '(all teams)' desc, window_days, total_cost_usd desc, team
        """,
        [q.window.end, q.window.days, *([team] if team else [])],
    )


def cost_per_outcome(con, q: ReportQuery) -> list[dict]:
    """Per workflow, the tasks first attempted in the report's period (fct_task_costs, the
    tasks rpt_cost_per_outcome sums over its trailing window), but per workflow (a task
    tried on two models counts once) and for any period: completed tasks, every attempt
    (failures and retries, those of failed tasks and of tasks without an outcome yet),
    attempts and cost per completed task, the business value of the completed tasks (their
    outcomes' value_usd) and roi = value / cost. A ratio is null when it has nothing to
    divide by, and the cost ones when an attempt is unpriced (the cost would be
    understated). A --team filter keeps the team's workflows; a --client or --user filter
    leaves the section out (a task's outcome has no client or user)."""
    scope = team_workflows_clause(q)
    if scope is None or not relation_exists(con, "fct_task_costs"):
        return []
    clause, params = scope
    return fetch_rows(
        con,
        f"""
        with tasks as (
            select
                workflow,
                task_id,
                sum(attempts) as attempts,
                sum(unpriced_attempts) as unpriced_attempts,
                sum(cost_usd) as cost_usd,
                bool_or(is_completed) as is_completed,
                max(completed_value_usd) as value_usd
            from fct_task_costs
            where first_attempt_date between ? and ? {clause}
            group by workflow, task_id
        ),

        per_workflow as (
            select
                workflow,
                count(*) as tasks,
                count(*) filter (where is_completed) as completed_tasks,
                sum(attempts) as attempts,
                sum(unpriced_attempts) as unpriced_attempts,
                coalesce(sum(cost_usd), 0) as cost_usd,
                count(value_usd) as valued_completed_tasks,
                sum(value_usd) as completed_value_usd
            from tasks
            group by workflow
        )

        select
            workflow,
            tasks,
            completed_tasks,
            attempts,
            unpriced_attempts,
            cost_usd,
            attempts / nullif(completed_tasks, 0) as attempts_per_completed_task,
            case when unpriced_attempts = 0 and completed_tasks > 0
                then cast(cost_usd / completed_tasks as decimal(38, 12))
            end as cost_per_completed_task_usd,
            valued_completed_tasks,
            completed_value_usd,
            case when unpriced_attempts = 0 and cost_usd > 0
                then cast(completed_value_usd / cost_usd as decimal(38, 12))
            end as roi
        from per_workflow
        order by cost_usd desc, workflow
        """,
        [q.window.start, q.window.end, *params],
    )
