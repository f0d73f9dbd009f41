-- Usage per day and client (seed 001's "usage by client"): requests, cost, tokens, active
-- users, quality and success. Sum over usage_date for any window; active_users is per day
-- (distinct users over a longer window: rpt_usage_by_user).

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        usage_date,
        client,
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd,
        sum(scored_requests) as scored_requests,
        sum(quality_score_sum) as quality_score_sum,
        count(distinct user_id) filter (where user_id != '(unattributed)') as active_users,
        count(distinct workflow) filter (where workflow != '(unattributed)')
            as active_workflows
    from daily
    group by usage_date, client
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, client)) as string) as usage_by_client_key,
        cast(usage_date as date) as usage_date,
        cast(client as string) as client,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(cast(successful_requests as double) / requests as double) as success_rate,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(total_tokens as bigint) as total_tokens,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd,
        cast(scored_requests as bigint) as scored_requests,
        cast(quality_score_sum as decimal(38, 6)) as quality_score_sum,
        cast(
            case when scored_requests > 0 then quality_score_sum / scored_requests end
            as double
        ) as avg_quality_score,
        cast(active_users as bigint) as active_users,
        cast(active_workflows as bigint) as active_workflows
    from aggregated
)

select * from final
