-- One row per session (session_id) started in the trailing var analysis_window_days ending
-- on the data's last usage day: its requests, cost, span, and whether it ran away.
--
-- A session's workflow, team and user are those of its first request. Batch jobs and
-- interactive sessions are judged against their own kind (session_kind: batch when any
-- request used the batch tier) of the same workflow: a batch job of 40 calls in a second is
-- normal, a chat of 40 calls is not. Per workflow and kind, over the window's sessions:
-- p50 and p95 of requests per session and of cost per minute (cost / max(span, 1 minute)).
-- A session is runaway (robust: percentiles, not means, so one runaway barely moves its own
-- baseline) when
--     its workflow and kind have at least var runaway_min_sessions sessions
--     and requests >= var runaway_min_requests
--     and (requests > var runaway_factor x p95 requests
--          or cost per minute > var runaway_factor x p95 cost per minute).
-- runaway_ratio = the larger of the two ratios to the p95; rpt_alerts raises an alert for
-- a runaway session still running on the as-of day.

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
    where days.usage_date > anchor.window_end_date - {{ var('analysis_window_days') }}
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

rated as (
    select
        *,
        cast(cost_usd as double) / greatest(duration_minutes, 1) as cost_per_minute_usd
    from measured
),

baselines as (
    select
        workflow,
        session_kind,
        count(*) as workflow_sessions,
        {{ percentile_columns('requests', [50, 95], 'workflow_p{}_requests') }},
        {{ percentile_columns(
            'cost_per_minute_usd', [50, 95], 'workflow_p{}_cost_per_minute_usd'
        ) }}
    from rated
    group by workflow, session_kind
),

judged as (
    select
        rated.*,
        baselines.workflow_sessions,
        baselines.workflow_p50_requests,
        baselines.workflow_p95_requests,
        baselines.workflow_p50_cost_per_minute_usd,
        baselines.workflow_p95_cost_per_minute_usd,
        greatest(
            rated.requests / nullif(baselines.workflow_p95_requests, 0),
            rated.cost_per_minute_usd / nullif(baselines.workflow_p95_cost_per_minute_usd, 0)
        ) as runaway_ratio
    from rated
    inner join baselines
        on
            rated.workflow = baselines.workflow
            and rated.session_kind = baselines.session_kind
),

final as (
    select
        {{- contract_columns({
            'is_runaway': "workflow_sessions >= " ~ var('runaway_min_sessions')
                ~ " and requests >= " ~ var('runaway_min_requests')
                ~ " and coalesce(runaway_ratio > " ~ var('runaway_factor') ~ ", false)",
        }) }}
    from judged
)

select * from final
