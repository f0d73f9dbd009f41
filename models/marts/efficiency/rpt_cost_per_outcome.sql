-- Cost per completed outcome per workflow x provider x model, over the tasks whose first
-- attempt falls in the trailing var insight_window_days (28) ending on the data's last
-- usage day. A task is every request sharing a task_id; its attempts, cost and outcome
-- are fct_task_costs' (success = completed). Every attempt counts,
-- failures and retries included, so a model that is cheap per request but needs many
-- attempts, or resolves few tasks, shows its real price:
--   cost_per_request_usd         cost_usd / attempts
--   cost_per_completed_task_usd  cost_usd / completed_tasks (null when none completed)
-- A task tried on two models counts once in each model's row, with its attempts on that
-- model; its outcome counts for both. A task with no outcome record yet is counted in
-- tasks and tasks_without_outcome, never as completed. Costs are those of priced
-- attempts; when an attempt is unpriced (unpriced_attempts > 0) the per-request and
-- per-task figures are null rather than understated.
-- Business value (document 003: roi = businessValue / totalAICost): the value_usd of the
-- completed tasks' outcome records (a failed task's value is not earned; a completed task
-- without one adds nothing), over the cost of every attempt of the row's tasks:
--   completed_value_usd  sum of value_usd of the completed tasks (null when none has one)
--   roi                  completed_value_usd / cost_usd (null when no value, no cost or
--                        an unpriced attempt: the cost would be understated)
-- A task tried on two models counts its value in each model's row, as its outcome.
-- is_dearer_per_completed_task: another model of the same workflow costs more per
-- request but less per completed task (the cheap model is the dear one).

with

-- the tasks and what their attempts cost (fct_task_costs: one row per task and model)
anchor as (
    select max(usage_date) as window_end_date from {{ ref('fct_llm_requests') }}
),

per_task as (
    select
        tasks.*,
        anchor.window_end_date
    from {{ ref('fct_task_costs') }} as tasks
    cross join anchor
    where tasks.first_attempt_date > anchor.window_end_date - {{ var('insight_window_days') }}
),

grouped as (
    select
        workflow,
        provider,
        model,
        max(window_end_date) as window_end_date,
        count(*) as tasks,
        count(*) filter (where is_completed) as completed_tasks,
        count(*) filter (where is_failed) as failed_tasks,
        count(*) filter (where has_no_outcome) as tasks_without_outcome,
        sum(attempts) as attempts,
        sum(unpriced_attempts) as unpriced_attempts,
        coalesce(sum(cost_usd), 0) as cost_usd,
        count(completed_value_usd) as valued_completed_tasks,
        sum(completed_value_usd) as completed_value_usd
    from per_task
    group by workflow, provider, model
),

ratios as (
    select
        *,
        case
            when unpriced_attempts = 0 then cast(cost_usd as decimal(38, 12)) / attempts
        end as cost_per_request_usd,
        case
            when unpriced_attempts = 0 and completed_tasks > 0
                then cast(cost_usd as decimal(38, 12)) / completed_tasks
        end as cost_per_completed_task_usd,
        case
            when unpriced_attempts = 0 and cost_usd > 0
                then cast(completed_value_usd as decimal(38, 12)) / cost_usd
        end as roi
    from grouped
),

dearer_per_completed_task as (
    select distinct
        cheap.workflow,
        cheap.provider,
        cheap.model
    from ratios as cheap
    inner join ratios as other
        on
            cheap.workflow = other.workflow
            and cheap.cost_per_request_usd < other.cost_per_request_usd
            and cheap.cost_per_completed_task_usd > other.cost_per_completed_task_usd
),

flagged as (
    select
        ratios.*,
        dearer_per_completed_task.model is not null as is_dearer_per_completed_task
    from ratios
    left join dearer_per_completed_task
        on
            ratios.workflow = dearer_per_completed_task.workflow
            and ratios.provider = dearer_per_completed_task.provider
            and ratios.model = dearer_per_completed_task.model
),

final as (
    select
        {{- contract_columns({
            'cost_per_outcome_key': "md5(concat_ws('|', workflow, provider, model))",
            'window_start_date':
                dbt.dateadd('day', 1 - var('insight_window_days'), 'window_end_date'),
            'attempts_per_task': 'round(attempts / tasks, 6)',
            'completion_rate': 'round(completed_tasks / tasks, 6)',
        }) }}
    from flagged
)

select * from final
