{{ config(materialized=rollup_materialization()) }}

-- Usage per day and client (seed 001's "usage by client"): requests, cost, tokens, active
-- users, quality and success. Sum over usage_date for any window; active_users is per day
-- (distinct users over a longer window: rpt_usage_by_user). A view (only BI tools read it):
-- its columns in the order of its contract.

{%- set measures = [
    'requests', 'successful_requests', 'unpriced_requests', 'total_tokens', 'total_cost_usd',
    'scored_requests', 'quality_score_sum',
] %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        usage_date,
        client,
        {{ sum_measures(measures) }},
        {{ count_attributed('user_id') }} as active_users,
        {{ count_attributed('workflow') }} as active_workflows
    from daily
    group by usage_date, client
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, client)) as string) as usage_by_client_key,
        cast(usage_date as date) as usage_date,
        cast(client as string) as client,
        {{ measure_columns(['requests', 'successful_requests']) }},
        cast(cast(successful_requests as double) / requests as double) as success_rate,
        {{ measure_columns(measures[2:]) }},
        cast({{ ratio('quality_score_sum', 'scored_requests') }} as double) as avg_quality_score,
        cast(active_users as bigint) as active_users,
        cast(active_workflows as bigint) as active_workflows
    from aggregated
)

select * from final
