-- One row per user seen in the usage (including '(unattributed)'), with the user's team
-- and main client (those with the most requests over the user's history; ties broken by
-- name) and when the user was first and last active.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

main_team as (
    {{ most_requested('daily', ['user_id'], 'team') }}
),

main_client as (
    {{ most_requested('daily', ['user_id'], 'client') }}
),

aggregated as (
    select
        user_id,
        min(usage_date) as first_usage_date,
        max(usage_date) as last_usage_date,
        count(distinct team) as teams,
        count(distinct client) as clients
    from daily
    group by user_id
),

final as (
    select
        cast(aggregated.user_id as string) as user_id,
        cast(aggregated.user_id != '(unattributed)' as boolean) as is_attributed,
        cast(main_team.team as string) as team,
        cast(main_client.client as string) as main_client,
        cast(aggregated.teams as bigint) as teams,
        cast(aggregated.clients as bigint) as clients,
        cast(aggregated.first_usage_date as date) as first_usage_date,
        cast(aggregated.last_usage_date as date) as last_usage_date
    from aggregated
    inner join main_team on aggregated.user_id = main_team.user_id
    inner join main_client on aggregated.user_id = main_client.user_id
)

select * from final
