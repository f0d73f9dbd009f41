-- Usage per day, user and client (seed 001's "usage by user", seed 002's top spending
-- users): the top spenders of any window are the users with the largest
-- sum(total_cost_usd) over it. team is the user's team on that day (the team with the most
-- requests when a user worked for several; ties broken by name).

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

user_team as (
    select
        usage_date,
        user_id,
        team,
        sum(requests) as group_requests
    from daily
    group by usage_date, user_id, team
    qualify row_number() over (
        partition by usage_date, user_id order by group_requests desc, team
    ) = 1
),

aggregated as (
    select
        usage_date,
        user_id,
        client,
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd,
        sum(scored_requests) as scored_requests,
        sum(quality_score_sum) as quality_score_sum
    from daily
    group by usage_date, user_id, client
),

final as (
    select
        cast(md5(concat_ws('|', aggregated.usage_date, aggregated.user_id, client)) as string)
            as usage_by_user_key,
        cast(aggregated.usage_date as date) as usage_date,
        cast(aggregated.user_id as string) as user_id,
        cast(user_team.team as string) as team,
        cast(client as string) as client,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(total_tokens as bigint) as total_tokens,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd,
        cast(scored_requests as bigint) as scored_requests,
        cast(quality_score_sum as decimal(38, 6)) as quality_score_sum,
        cast(
            case when scored_requests > 0 then quality_score_sum / scored_requests end
            as double
        ) as avg_quality_score
    from aggregated
    inner join user_team
        on
            aggregated.usage_date = user_team.usage_date
            and aggregated.user_id = user_team.user_id
)

select * from final
