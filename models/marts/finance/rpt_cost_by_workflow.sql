{{ config(materialized=rollup_materialization()) }}

-- Cost and outcome per day x workflow x task_type x model (seed 000's cost_by_workflow), at
-- a grain any date window can be summed from. Sums are kept next to each per-row average
-- so a BI tool can re-aggregate (e.g. sum(latency_ms_sum) / sum(latency_requests)).

{%- set measures = [
    'requests', 'successful_requests', 'unpriced_requests', 'total_tokens', 'total_cost_usd',
    'latency_requests', 'latency_ms_sum', 'scored_requests', 'quality_score_sum',
    'quality_judged_requests', 'passed_quality_requests',
] %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        usage_date,
        workflow,
        task_type,
        provider,
        model,
        {{ sum_measures(measures) }}
    from daily
    group by usage_date, workflow, task_type, provider, model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, workflow, task_type, provider, model)) as string)
            as cost_by_workflow_key,
        cast(usage_date as date) as usage_date,
        cast(workflow as string) as workflow,
        cast(task_type as string) as task_type,
        cast(provider as string) as provider,
        cast(model as string) as model,
        {{ measure_columns(measures[:5]) }},
        cast(
            {{ ratio('total_cost_usd', '(requests - unpriced_requests)') }} as decimal(38, 12)
        ) as avg_cost_per_request_usd,
        {{ measure_columns(['latency_requests', 'latency_ms_sum']) }},
        cast({{ ratio('latency_ms_sum', 'latency_requests') }} as double) as avg_latency_ms,
        {{ measure_columns(['scored_requests', 'quality_score_sum']) }},
        cast({{ ratio('quality_score_sum', 'scored_requests') }} as double) as avg_quality_score,
        {{ measure_columns(['quality_judged_requests', 'passed_quality_requests']) }},
        cast({{ ratio('passed_quality_requests', 'quality_judged_requests') }} as double)
            as pass_rate
    from aggregated
)

select * from final
