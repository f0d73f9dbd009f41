{{
    config(
        materialized=incremental_materialization(by_partition=false),
        incremental_strategy=incremental_strategy(),
        unique_key='session_id',
        on_schema_change='fail',
        pre_hook="{{ delete_window_sessions_to_recompute() }}",
    )
}}

-- One row per session with a usage day in the trailing var analysis_window_days ending on
-- the data's last usage day: its requests, cost and span over its days in the window, and
-- its kind. What rpt_session_costs judges against its workflow's baselines
-- (int_session_baselines_measured).
--
-- A session's workflow, team and user are those of its first request in the window (the
-- earliest first request of its days there). session_kind is batch when any of those
-- requests used the batch tier. usage_date is the session's first usage day in the window
-- (publish keeps the rows by it), last_usage_date its last.
--
-- Incremental: a session's row depends only on its own days in the window, so a refresh
-- recomputes only the sessions its new data or the window's move can change. The pre-hook
-- (macro delete_window_sessions_to_recompute) finds them (a day the refresh touched, a
-- day before the window's new start or after its end, a day in the window outside the
-- stored sessions' days, and the new sessions), keeps their ids and the usage days their
-- rows are computed from in temporary tables (macro sessions_to_recompute) and deletes
-- their stored rows; this model computes those sessions from those days. A changed model,
-- seed or var recomputes every session.
--
-- Stored in usage_date order (macro stored_in_order_of): a refresh deletes the sessions of
-- the days that leave the window, which then sit in one or two row groups of the table
-- and of the snapshot's copy, not in every one.

with

anchor as (
    select max(usage_date) as window_end_date from {{ ref('fct_llm_requests') }}
),

-- the sessions' days in the window (int_daily_sessions_summed: one row per session and
-- usage day, its requests summed)
windowed as (
    select days.*
    from {{ ref('int_daily_sessions_summed') }} as days
    cross join anchor
    where
        days.usage_date > anchor.window_end_date - {{ var('analysis_window_days') }}
    {%- if is_incremental() %}
        -- the sessions the pre-hook found changed or new (every other one is stored and
        -- unchanged), on the days their rows are computed from
        and days.usage_date in (
            select recompute_days.usage_date
            from {{ sessions_to_recompute('days') }} as recompute_days
        )
        and days.session_id in (
            select recompute.session_id from {{ sessions_to_recompute() }} as recompute
        )
    {%- endif %}
),

-- The sessions with more than one day in the window (those that ran across midnight):
-- only they need an aggregate. Every other session is its one day's row, which already
-- holds its first request, its totals and its span (1.02M windowed sessions on the 10M
-- bench, none across days: the aggregate was 0.2 s of the model's 0.6 s alone).
multi_day as (
    select session_id
    from windowed
    group by session_id
    having count(*) > 1
),

-- One aggregate per session of several days: its first request's attribution (the
-- earliest first request of its days) and its totals.
summed as (
    select
        session_id,
        {{ value_at_min(struct_of({
            'workflow': 'workflow', 'team': 'team', 'user_id': 'user_id',
        }), ['started_at', 'first_request_key']) }} as first_request,
        min(usage_date) as usage_date,
        max(usage_date) as last_usage_date,
        cast(sum(requests) as bigint) as requests,
        cast(sum(unpriced_requests) as bigint) as unpriced_requests,
        coalesce(sum(cost_usd), 0) as cost_usd,
        min(started_at) as started_at,
        max(ended_at) as ended_at,
        case when bool_or(has_batch_requests) then 'batch' else 'interactive' end
            as session_kind
    from windowed
    where session_id in (select multi_day.session_id from multi_day)
    group by session_id
),

-- (session_id is never null here: int_daily_sessions_summed keeps requests with a session)
sessions as (
    select
        session_id,
        usage_date,
        usage_date as last_usage_date,
        workflow,
        team,
        user_id,
        requests,
        unpriced_requests,
        coalesce(cost_usd, 0) as cost_usd,
        started_at,
        ended_at,
        case when has_batch_requests then 'batch' else 'interactive' end as session_kind
    from windowed
    where session_id not in (select multi_day.session_id from multi_day)
    union all
    select
        session_id,
        usage_date,
        last_usage_date,
        {{ struct_field('first_request', 'workflow') }} as workflow,
        {{ struct_field('first_request', 'team') }} as team,
        {{ struct_field('first_request', 'user_id') }} as user_id,
        requests,
        unpriced_requests,
        cost_usd,
        started_at,
        ended_at,
        session_kind
    from summed
),

measured as (
    select
        *,
        cast({{ milliseconds_between('started_at', 'ended_at') }} as double)
        / 60000.0 as duration_minutes
    from sessions
),

final as (
    select
        cast(session_id as string) as session_id,
        cast(usage_date as date) as usage_date,
        cast(last_usage_date as date) as last_usage_date,
        cast(workflow as string) as workflow,
        cast(team as string) as team,
        cast(user_id as string) as user_id,
        cast(session_kind as string) as session_kind,
        cast(requests as bigint) as requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(cost_usd as decimal(38, 12)) as cost_usd,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        cast(duration_minutes as double) as duration_minutes,
        cast(cast(cost_usd as double) / greatest(duration_minutes, 1) as double)
            as cost_per_minute_usd
    from measured
)

select * from final
{{ stored_in_order_of('usage_date') }}
