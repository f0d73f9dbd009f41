{{ config(materialized=view_materialization(), meta={'publish_as_view': true}) }}

-- One row per session (session_id) with a usage day in the trailing var
-- analysis_window_days ending on the data's last usage day: its requests, cost, span, and
-- whether it ran away.
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
--
-- A view: the sessions (int_sessions_windowed, a row per session, recomputed only where a
-- refresh changed something) joined to their baselines (int_session_baselines_measured, a
-- few rows).
-- The baselines move with every new day, so as a table every row would be rewritten on
-- every refresh (1M rows at 10M events, in dbt and again in publish). Publish keeps it a
-- view in the snapshot too, beside those two tables (meta publish_as_view). A table on
-- Spark (macro view_materialization), where publish does not run.

with

sessions as (
    select * from {{ ref('int_sessions_windowed') }}
),

baselines as (
    select * from {{ ref('int_session_baselines_measured') }}
),

judged as (
    select
        sessions.*,
        baselines.workflow_sessions,
        baselines.workflow_p50_requests,
        baselines.workflow_p95_requests,
        baselines.workflow_p50_cost_per_minute_usd,
        baselines.workflow_p95_cost_per_minute_usd,
        greatest(
            sessions.requests / nullif(baselines.workflow_p95_requests, 0),
            sessions.cost_per_minute_usd
            / nullif(baselines.workflow_p95_cost_per_minute_usd, 0)
        ) as runaway_ratio
    from sessions
    inner join baselines
        on
            sessions.workflow = baselines.workflow
            and sessions.session_kind = baselines.session_kind
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
