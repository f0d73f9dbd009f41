{{ config(**incremental_by_day('usage_date')) }}

-- One row per usage_date x client x team x user x workflow x feature x task_type x provider
-- x model x service_tier, additive measures only (sums and counts), so any roll-up is a sum.
-- Incremental: recomputes exactly the usage days of the requests fct_llm_requests re-read
-- since this model's last run (macro touched_usage_days), and replaces them; the
-- requests and their roll-up come from macro touched_request_days_rolled_up.
-- The measures are defined once (macros/measures.sql: request_measures, and their types
-- in daily_measure_types), for every report that re-aggregates them.

{%- set measures = [
    'requests', 'successful_requests', 'error_requests', 'timeout_requests',
    'rate_limited_requests', 'cancelled_requests', 'unpriced_requests', 'input_tokens',
    'uncached_input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens',
    'reasoning_tokens', 'total_tokens', 'input_cost_usd', 'cache_read_cost_usd',
    'cache_write_cost_usd', 'output_cost_usd', 'total_cost_usd', 'reported_cost_usd',
    'latency_requests', 'latency_ms_sum', 'ttft_requests', 'ttft_ms_sum', 'scored_requests',
    'quality_score_sum', 'quality_score_sq_sum', 'quality_judged_requests',
    'passed_quality_requests',
] %}

with

{{ touched_request_days_rolled_up(
    ['client', 'team', 'user_id', 'workflow', 'feature', 'task_type'],
    measures,
    columns=['provider', 'model', 'service_tier'],
) }},

final as (
    select
        cast(md5(concat_ws(
            '|', usage_date, client, team, user_id, workflow, feature, task_type, provider,
            model, service_tier
        )) as string) as daily_usage_key,
        cast(usage_date as date) as usage_date,
        cast(client as string) as client,
        cast(team as string) as team,
        cast(user_id as string) as user_id,
        cast(workflow as string) as workflow,
        cast(feature as string) as feature,
        cast(task_type as string) as task_type,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(service_tier as string) as service_tier,
        {{ measure_columns(measures) }}
    from aggregated
)

select * from final
