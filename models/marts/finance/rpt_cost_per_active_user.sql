-- Cost per active user (CAU, seed 002) over trailing windows of 7, 30 and 90 days (var
-- cost_per_active_user_windows) ending on the latest usage_date in the data (never the
-- clock), for the whole company (team = '(all teams)') and per team.
-- An active user is a user_id with at least one request (any status) in the window;
-- requests without a user count in cost but not as users. CAU = total cost / active users.

{% set windows = var('cost_per_active_user_windows') %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

anchor as (
    select
        min(usage_date) as first_date,
        max(usage_date) as last_date
    from daily
),

windows as (
    {% for window_days in windows %}
        select cast({{ window_days }} as integer) as window_days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

windowed as (
    select
        windows.window_days,
        daily.*
    from daily
    cross join anchor
    cross join windows
    where daily.usage_date > anchor.last_date - windows.window_days
),

aggregated as (
    select
        window_days,
        case when grouping(team) = 1 then '(all teams)' else team end as team,
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(total_cost_usd) as total_cost_usd,
        {{ count_attributed('user_id') }} as active_users
    from windowed
    group by grouping sets ((window_days), (window_days, team))
),

final as (
    select
        cast(md5(concat_ws('|', aggregated.window_days, team)) as string)
            as cost_per_active_user_key,
        cast(aggregated.window_days as integer) as window_days,
        cast(anchor.last_date - aggregated.window_days + 1 as date) as window_start_date,
        cast(anchor.last_date as date) as window_end_date,
        cast(anchor.first_date <= anchor.last_date - aggregated.window_days + 1 as boolean)
            as is_window_complete,
        cast(team as string) as team,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(cast(successful_requests as double) / requests as double) as success_rate,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(coalesce(total_cost_usd, 0) as decimal(38, 12)) as total_cost_usd,
        cast(active_users as bigint) as active_users,
        cast(
            case when active_users > 0 then coalesce(total_cost_usd, 0) / active_users end
            as decimal(38, 12)
        ) as cost_per_active_user_usd
    from aggregated
    cross join anchor
)

select * from final
