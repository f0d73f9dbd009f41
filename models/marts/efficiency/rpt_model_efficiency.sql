-- Model efficiency per model and task type over a trailing window anchored on the latest
-- usage_date (var analysis_window_days): cost, average / median cost per call, cost per
-- successful call, quality, quality and tokens per dollar, cache hit rate, latency.
-- Rows with task_type = '(all)' are the model over every task type. Additive measures come
-- from the daily mart; only the median reads fct_llm_requests, bounded by the window.

{%- set measures = [
    'requests', 'successful_requests', 'unpriced_requests', 'total_cost_usd', 'input_tokens',
    'cache_read_tokens', 'total_tokens', 'scored_requests', 'quality_score_sum',
    'quality_judged_requests', 'passed_quality_requests', 'latency_requests',
    'latency_ms_sum',
] %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

requests as (
    select * from {{ ref('fct_llm_requests') }}
),

anchor as (
    select max(usage_date) as window_end_date from daily
),

daily_windowed as (
    select daily.*
    from daily
    cross join anchor
    where daily.usage_date > anchor.window_end_date - {{ var('analysis_window_days') }}
),

period as (
    select
        min(usage_date) as window_start_date,
        max(usage_date) as window_end_date,
        {{ days_between('min(usage_date)', 'max(usage_date)') }} + 1 as period_days
    from daily_windowed
),

requests_windowed as (
    select
        {{ attributed('requests.task_type') }} as task_type,
        requests.provider,
        requests.model,
        requests.total_cost_usd
    from requests
    cross join anchor
    where requests.usage_date > anchor.window_end_date - {{ var('analysis_window_days') }}
),

medians as (
    select
        coalesce(task_type, '(all)') as task_type,
        provider,
        model,
        median(total_cost_usd) as median_cost_per_request_usd
    from requests_windowed
    group by grouping sets ((task_type, provider, model), (provider, model))
),

aggregated as (
    select
        coalesce(task_type, '(all)') as task_type,
        provider,
        model,
        {{ sum_measures(measures) }}
    from daily_windowed
    group by grouping sets ((task_type, provider, model), (provider, model))
),

metrics as (
    select
        aggregated.*,
        medians.median_cost_per_request_usd,
        case
            when requests > unpriced_requests
                then total_cost_usd / (requests - unpriced_requests)
        end as avg_cost_per_request_usd,
        case
            when unpriced_requests = 0 and successful_requests > 0
                then total_cost_usd / successful_requests
        end as cost_per_successful_request_usd,
        case
            when scored_requests > 0
                then cast(quality_score_sum as double) / scored_requests
        end as avg_quality_score
    from aggregated
    left join medians
        on
            aggregated.task_type = medians.task_type
            and aggregated.provider = medians.provider
            and aggregated.model = medians.model
),

final as (
    select
        cast(md5(concat_ws('|', metrics.task_type, provider, model)) as string)
            as model_efficiency_key,
        cast(period.window_start_date as date) as window_start_date,
        cast(period.window_end_date as date) as window_end_date,
        cast(period.period_days as integer) as period_days,
        cast(metrics.task_type as string) as task_type,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(cast(successful_requests as double) / requests as double) as success_rate,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd,
        cast(avg_cost_per_request_usd as decimal(38, 12)) as avg_cost_per_request_usd,
        cast(median_cost_per_request_usd as decimal(38, 12)) as median_cost_per_request_usd,
        cast(cost_per_successful_request_usd as decimal(38, 12))
            as cost_per_successful_request_usd,
        cast(scored_requests as bigint) as scored_requests,
        cast(avg_quality_score as double) as avg_quality_score,
        cast(
            case
                when quality_judged_requests > 0
                    then cast(passed_quality_requests as double) / quality_judged_requests
            end as double
        ) as pass_rate,
        cast(
            case
                when cost_per_successful_request_usd > 0
                    then avg_quality_score / cost_per_successful_request_usd
            end as double
        ) as quality_per_dollar,
        cast(total_tokens as bigint) as total_tokens,
        cast(
            case
                when unpriced_requests = 0 and total_cost_usd > 0
                    then total_tokens / total_cost_usd
            end as double
        ) as tokens_per_dollar,
        cast(
            case
                when input_tokens > 0 then cast(cache_read_tokens as double) / input_tokens
            end as double
        ) as cache_hit_rate,
        cast(
            case
                when latency_requests > 0 then cast(latency_ms_sum as double) / latency_requests
            end as double
        ) as avg_latency_ms
    from metrics
    cross join period
)

select * from final
