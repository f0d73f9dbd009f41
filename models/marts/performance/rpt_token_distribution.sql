{{ config(**incremental_by_day('usage_date')) }}

-- Per-request token distribution per provider, model, task type and day: p50 / p90 / p99
-- and max of input, output and total tokens (seed 003's token histogram, to find outliers).
-- All requests count (a failed request's tokens are billed). Percentiles need the request
-- fact; incremental by day like rpt_latency_percentiles.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        coalesce(task_type, '(unattributed)') as task_type,
        count(*) as requests,
        {{ percentile_cont('input_tokens', 0.5) }} as input_tokens_p50,
        {{ percentile_cont('input_tokens', 0.9) }} as input_tokens_p90,
        {{ percentile_cont('input_tokens', 0.99) }} as input_tokens_p99,
        max(input_tokens) as input_tokens_max,
        {{ percentile_cont('output_tokens', 0.5) }} as output_tokens_p50,
        {{ percentile_cont('output_tokens', 0.9) }} as output_tokens_p90,
        {{ percentile_cont('output_tokens', 0.99) }} as output_tokens_p99,
        max(output_tokens) as output_tokens_max,
        {{ percentile_cont('total_tokens', 0.5) }} as total_tokens_p50,
        {{ percentile_cont('total_tokens', 0.9) }} as total_tokens_p90,
        {{ percentile_cont('total_tokens', 0.99) }} as total_tokens_p99,
        max(total_tokens) as total_tokens_max
    from requests
    group by usage_date, provider, model, coalesce(task_type, '(unattributed)')
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model, task_type)) as string)
            as token_distribution_key,
        cast(usage_date as date) as usage_date,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(task_type as string) as task_type,
        cast(requests as bigint) as requests,
        cast(input_tokens_p50 as double) as input_tokens_p50,
        cast(input_tokens_p90 as double) as input_tokens_p90,
        cast(input_tokens_p99 as double) as input_tokens_p99,
        cast(input_tokens_max as bigint) as input_tokens_max,
        cast(output_tokens_p50 as double) as output_tokens_p50,
        cast(output_tokens_p90 as double) as output_tokens_p90,
        cast(output_tokens_p99 as double) as output_tokens_p99,
        cast(output_tokens_max as bigint) as output_tokens_max,
        cast(total_tokens_p50 as double) as total_tokens_p50,
        cast(total_tokens_p90 as double) as total_tokens_p90,
        cast(total_tokens_p99 as double) as total_tokens_p99,
        cast(total_tokens_max as bigint) as total_tokens_max
    from aggregated
)

select * from final
