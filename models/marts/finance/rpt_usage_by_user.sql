{{ config(materialized=rollup_materialization()) }}

-- Usage per day, user and client (seed 001's "usage by user", seed 002's top spending
-- users): the top spenders of any window are the users with the largest
-- sum(total_cost_usd) over it. team is the user's team on that day (the team with the most
-- requests when a user worked for several; ties broken by name).

{%- set measures = [
    'requests', 'successful_requests', 'unpriced_requests', 'total_tokens', 'total_cost_usd',
    'scored_requests', 'quality_score_sum',
] %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

user_team as (
    {{ most_requested('daily', ['usage_date', 'user_id'], 'team') }}
),

aggregated as (
    select
        usage_date,
        user_id,
        client,
        {{ sum_measures(measures) }}
    from daily
    group by usage_date, user_id, client
),

with_team as (
    select
        aggregated.*,
        user_team.team
    from aggregated
    inner join user_team
        on
            aggregated.usage_date = user_team.usage_date
            and aggregated.user_id = user_team.user_id
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, user_id, client)) as string) as usage_by_user_key,
        cast(usage_date as date) as usage_date,
        cast(user_id as string) as user_id,
        cast(team as string) as team,
        cast(client as string) as client,
        {{ measure_columns(measures) }},
        cast({{ ratio('quality_score_sum', 'scored_requests') }} as double) as avg_quality_score
    from with_team
)

select * from final
