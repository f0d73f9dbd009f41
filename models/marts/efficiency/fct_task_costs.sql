-- One row per task and the workflow, provider and model it was attempted with: what its
-- attempts cost and how it ended. A task is every request sharing a task_id
-- (fct_llm_requests.task_id); its outcome comes from fct_task_outcomes (success =
-- completed). The one definition of a task's attempts, cost, first attempt and outcome:
-- rpt_cost_per_outcome sums these rows over its trailing window, the report's cost per
-- outcome section over its own period (aiusage.reporting.efficiency).
--   first_attempt_date   the task's first request, on any workflow or model: the day the
--                        task counts in (a window or period holds the tasks started in it)
--   attempts             the task's requests on this workflow and model, failures and
--                        retries included; unpriced_attempts those without a price
--   cost_usd             the cost of the priced ones (null when none is priced)
--   completed_value_usd  the outcome record's value_usd when the task completed (a failed
--                        task's value is not earned; null without one)
-- A task with no outcome record yet has has_no_outcome, never is_completed.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where task_id is not null
),

outcomes as (
    select * from {{ ref('fct_task_outcomes') }}
),

task_starts as (
    select
        task_id,
        min(usage_date) as first_attempt_date
    from requests
    group by task_id
),

attempts as (
    select
        requests.*,
        task_starts.first_attempt_date,
        coalesce(outcomes.is_success, false) as is_completed,
        coalesce(not outcomes.is_success, false) as is_failed,
        outcomes.task_id is null as has_no_outcome,
        case when outcomes.is_success then outcomes.value_usd end as completed_value_usd
    from requests
    inner join task_starts on requests.task_id = task_starts.task_id
    left join outcomes on requests.task_id = outcomes.task_id
),

per_task as (
    select
        task_id,
        {{ attributed('workflow') }} as workflow,
        provider,
        model,
        max(first_attempt_date) as first_attempt_date,
        bool_or(is_completed) as is_completed,
        bool_or(is_failed) as is_failed,
        bool_or(has_no_outcome) as has_no_outcome,
        max(completed_value_usd) as completed_value_usd,
        count(*) as attempts,
        count(*) filter (where not is_priced) as unpriced_attempts,
        sum(total_cost_usd) as cost_usd
    from attempts
    group by task_id, {{ attributed('workflow') }}, provider, model
),

final as (
    select
        {{- contract_columns({
            'task_cost_key': "md5(concat_ws('|', task_id, workflow, provider, model))",
        }) }}
    from per_task
)

select * from final
