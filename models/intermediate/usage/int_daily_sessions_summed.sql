{{ config(**incremental_by_day('usage_date')) }}

-- The requests of each session (session_id) summed per usage day: what rpt_session_costs
-- adds up over its trailing window, so that mart reads one row per session and day instead
-- of every request of its window on each refresh. A day's row keeps its first request
-- (earliest occurred_at, then request_key) and that request's attribution, so the window's
-- first request of a session is the earliest of its days' first requests.
-- Counts are integers and costs decimals: the sums of sums are exact.
-- Incremental: recomputes exactly the usage days of the requests fct_llm_requests re-read
-- since this model's last run (macro touched_usage_days), and replaces them.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where session_id is not null and {{ touched_usage_days() }}
),

summed as (
    select
        usage_date,
        session_id,
        min(occurred_at) as started_at,
        {{ value_at_min(struct_of({
            'request_key': 'request_key',
            'workflow': attributed('workflow'),
            'team': attributed('team'),
            'user_id': attributed('user_id'),
        }), ['occurred_at', 'request_key']) }} as first_request,
        max(occurred_at) as ended_at,
        count(*) as requests,
        count(*) filter (where not is_priced) as unpriced_requests,
        sum(total_cost_usd) as cost_usd,
        bool_or(service_tier = 'batch') as has_batch_requests
    from requests
    group by usage_date, session_id
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, session_id)) as string) as daily_sessions_summed_key,
        cast(usage_date as date) as usage_date,
        cast(session_id as string) as session_id,
        cast(started_at as timestamp) as started_at,
        cast({{ struct_field('first_request', 'request_key') }} as string) as first_request_key,
        cast({{ struct_field('first_request', 'workflow') }} as string) as workflow,
        cast({{ struct_field('first_request', 'team') }} as string) as team,
        cast({{ struct_field('first_request', 'user_id') }} as string) as user_id,
        cast(ended_at as timestamp) as ended_at,
        cast(requests as bigint) as requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(cost_usd as decimal(38, 12)) as cost_usd,
        cast(has_batch_requests as boolean) as has_batch_requests
    from summed
)

select * from final
