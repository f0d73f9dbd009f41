-- Cost and usage per team and day (seed 000's cost_by_team, at a grain any date window
-- can be summed from). Reads the daily mart, never the request fact.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        usage_date,
        team,
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(total_tokens) as total_tokens,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(total_cost_usd) as total_cost_usd,
        sum(scored_requests) as scored_requests,
        sum(quality_score_sum) as quality_score_sum,
        count(distinct user_id) as active_users
    from daily
    group by usage_date, team
),

final as (
    select
        cast(md5(usage_date || '|' || team) as string) as cost_by_team_key,
        cast(usage_date as date) as usage_date,
        cast(team as string) as team,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(total_tokens as bigint) as total_tokens,
        cast(input_tokens as bigint) as input_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd,
        cast(scored_requests as bigint) as scored_requests,
        cast(quality_score_sum as decimal(38, 6)) as quality_score_sum,
        cast(
            case when scored_requests > 0 then quality_score_sum / scored_requests end
            as double
        ) as avg_quality_score,
        cast(active_users as bigint) as active_users
    from aggregated
)

select * from final
