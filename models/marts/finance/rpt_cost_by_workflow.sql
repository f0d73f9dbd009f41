-- Cost and outcome per day x workflow x task_type x model (seed 000's cost_by_workflow), at
-- a grain any date window can be summed from. Sums are kept next to each per-row average
-- so a BI tool can re-aggregate (e.g. sum(latency_ms_sum) / sum(latency_requests)).

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
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd,
        sum(latency_requests) as latency_requests,
        sum(latency_ms_sum) as latency_ms_sum,
        sum(scored_requests) as scored_requests,
        sum(quality_score_sum) as quality_score_sum,
        sum(quality_judged_requests) as quality_judged_requests,
        sum(passed_quality_requests) as passed_quality_requests
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
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(total_tokens as bigint) as total_tokens,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd,
        cast(
            case
                when requests > unpriced_requests
                    then total_cost_usd / (requests - unpriced_requests)
            end as decimal(38, 12)
        ) as avg_cost_per_request_usd,
        cast(latency_requests as bigint) as latency_requests,
        cast(latency_ms_sum as bigint) as latency_ms_sum,
        cast(
            case when latency_requests > 0 then latency_ms_sum / latency_requests end
            as double
        ) as avg_latency_ms,
        cast(scored_requests as bigint) as scored_requests,
        cast(quality_score_sum as decimal(38, 6)) as quality_score_sum,
        cast(
            case when scored_requests > 0 then quality_score_sum / scored_requests end
            as double
        ) as avg_quality_score,
        cast(quality_judged_requests as bigint) as quality_judged_requests,
        cast(passed_quality_requests as bigint) as passed_quality_requests,
        cast(
            case
                when quality_judged_requests > 0
                    then passed_quality_requests / quality_judged_requests
            end as double
        ) as pass_rate
    from aggregated
)

select * from final
