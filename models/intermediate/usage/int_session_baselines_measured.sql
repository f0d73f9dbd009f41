{{ config(materialized='table') }}

-- The baselines rpt_session_costs judges each session against: per workflow and session
-- kind (batch jobs and interactive sessions apart), over the sessions of the trailing
-- window (int_sessions_windowed), how many there are and the p50 and p95 of requests per
-- session and of cost per minute. A few rows (one per workflow and kind): rebuilt on every
-- refresh, where the sessions' rows are kept and only the changed ones recomputed.

with

sessions as (
    select * from {{ ref('int_sessions_windowed') }}
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
    from sessions
    group by workflow, session_kind
),

final as (
    select
        cast(md5(concat_ws('|', workflow, session_kind)) as string) as session_baseline_key,
        cast(workflow as string) as workflow,
        cast(session_kind as string) as session_kind,
        cast(workflow_sessions as bigint) as workflow_sessions,
        cast(workflow_p50_requests as double) as workflow_p50_requests,
        cast(workflow_p95_requests as double) as workflow_p95_requests,
        cast(workflow_p50_cost_per_minute_usd as double) as workflow_p50_cost_per_minute_usd,
        cast(workflow_p95_cost_per_minute_usd as double) as workflow_p95_cost_per_minute_usd
    from baselines
)

select * from final
