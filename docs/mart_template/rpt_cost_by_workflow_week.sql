{{ config(materialized=rollup_materialization()) }}

-- Cost and volume per workflow and ISO week (Monday start), from the daily mart. Sum it
-- over weeks for a longer window; recompute averages from the sums.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

weekly as (
    select
        workflow,
        cast(date_trunc('week', usage_date) as date) as week_start_date,
        sum(requests) as requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(total_cost_usd) as total_cost_usd
    from daily
    group by workflow, cast(date_trunc('week', usage_date) as date)
),

final as (
    select
        cast(md5(concat_ws('|', workflow, week_start_date)) as string)
            as cost_by_workflow_week_key,
        cast(workflow as string) as workflow,
        cast(week_start_date as date) as week_start_date,
        cast(requests as bigint) as requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd
    from weekly
)

select * from final
