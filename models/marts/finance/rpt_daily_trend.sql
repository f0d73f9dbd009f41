{{ config(materialized=rollup_materialization()) }}

-- One row per usage day from the first to the latest day in the data (days without
-- traffic included, as zeros): cost, requests, tokens, active teams and users, success
-- rate, and the previous calendar day's figures with the change (seed 000's daily_trend,
-- seed 002's "today vs yesterday": the row with is_latest_day, anchored on the data).

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

bounds as (
    select
        min(usage_date) as first_date,
        max(usage_date) as last_date
    from daily
),

calendar as (
    select calendar_date as usage_date
    from (
        {{ calendar_days('(select first_date from bounds)', '(select last_date from bounds)') }}
    ) as days
),

aggregated as (
    select
        usage_date,
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd,
        {{ count_attributed('team') }} as active_teams,
        {{ count_attributed('user_id') }} as active_users
    from daily
    group by usage_date
),

filled as (
    select
        calendar.usage_date,
        coalesce(aggregated.requests, 0) as requests,
        coalesce(aggregated.successful_requests, 0) as successful_requests,
        coalesce(aggregated.unpriced_requests, 0) as unpriced_requests,
        coalesce(aggregated.total_tokens, 0) as total_tokens,
        coalesce(aggregated.total_cost_usd, 0) as total_cost_usd,
        coalesce(aggregated.active_teams, 0) as active_teams,
        coalesce(aggregated.active_users, 0) as active_users
    from calendar
    left join aggregated on calendar.usage_date = aggregated.usage_date
),

with_previous as (
    select
        today.*,
        yesterday.total_cost_usd as previous_day_cost_usd,
        yesterday.requests as previous_day_requests,
        yesterday.active_users as previous_day_active_users
    from filled as today
    left join filled as yesterday
        on yesterday.usage_date = today.usage_date - 1
),

final as (
    select
        cast(usage_date as date) as usage_date,
        cast(usage_date = (select bounds.last_date from bounds) as boolean) as is_latest_day,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(
            case when requests > 0 then cast(successful_requests as double) / requests end
            as double
        ) as success_rate,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(total_tokens as bigint) as total_tokens,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd,
        cast(active_teams as bigint) as active_teams,
        cast(active_users as bigint) as active_users,
        cast(previous_day_cost_usd as decimal(38, 12)) as previous_day_cost_usd,
        cast(previous_day_requests as bigint) as previous_day_requests,
        cast(previous_day_active_users as bigint) as previous_day_active_users,
        cast(total_cost_usd - previous_day_cost_usd as decimal(38, 12)) as cost_change_usd,
        cast(
            case
                when previous_day_cost_usd > 0
                    then (total_cost_usd - previous_day_cost_usd) / previous_day_cost_usd
            end as double
        ) as cost_change_ratio,
        cast(requests - previous_day_requests as bigint) as requests_change
    from with_previous
)

select * from final
