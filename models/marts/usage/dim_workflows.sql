-- One row per workflow seen in the usage (including '(unattributed)'), with its owning
-- team and main task type (those with the most requests; ties broken by name), how many
-- task types and models it used, and when it was first and last active.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

main_team as (
    {{ most_requested('daily', ['workflow'], 'team') }}
),

main_task_type as (
    {{ most_requested('daily', ['workflow'], 'task_type') }}
),

aggregated as (
    select
        workflow,
        min(usage_date) as first_usage_date,
        max(usage_date) as last_usage_date,
        count(distinct task_type) as task_types,
        count(distinct provider || '/' || model) as models
    from daily
    group by workflow
),

final as (
    select
        cast(aggregated.workflow as string) as workflow,
        cast(aggregated.workflow != '(unattributed)' as boolean) as is_attributed,
        cast(main_team.team as string) as team,
        cast(main_task_type.task_type as string) as main_task_type,
        cast(aggregated.task_types as bigint) as task_types,
        cast(aggregated.models as bigint) as models,
        cast(aggregated.first_usage_date as date) as first_usage_date,
        cast(aggregated.last_usage_date as date) as last_usage_date
    from aggregated
    inner join main_team on aggregated.workflow = main_team.workflow
    inner join main_task_type on aggregated.workflow = main_task_type.workflow
)

select * from final
