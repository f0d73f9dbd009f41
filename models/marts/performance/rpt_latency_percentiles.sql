{{ config(**incremental_by_day('usage_date')) }}

-- Latency, time to first token and throughput percentiles per model and day (seed 003's
-- "latency percentiles" and "model comparison"). Measured on successful interactive
-- requests: batch jobs (queued for minutes to hours) and failures (timeouts) would say
-- nothing about the model's speed; failures are in rpt_error_rates.
-- Percentiles cannot be summed, so this reads the request fact. Incremental by day:
-- recomputes exactly the usage days touched by the landing days fct_llm_requests re-read.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

measured as (
    select
        usage_date,
        provider,
        model,
        latency_ms,
        ttft_ms,
        output_tokens,
        case
            when latency_ms > 0 and output_tokens > 0
                then output_tokens * 1000.0 / latency_ms
        end as output_tokens_per_second
    from requests
    where is_success and service_tier != 'batch' and latency_ms is not null
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        count(*) as requests,
        count(ttft_ms) as ttft_requests,
        {{ percentile_cont('latency_ms', 0.5) }} as latency_p50_ms,
        {{ percentile_cont('latency_ms', 0.9) }} as latency_p90_ms,
        {{ percentile_cont('latency_ms', 0.95) }} as latency_p95_ms,
        {{ percentile_cont('latency_ms', 0.99) }} as latency_p99_ms,
        max(latency_ms) as latency_max_ms,
        {{ percentile_cont('ttft_ms', 0.5) }} as ttft_p50_ms,
        {{ percentile_cont('ttft_ms', 0.9) }} as ttft_p90_ms,
        {{ percentile_cont('ttft_ms', 0.95) }} as ttft_p95_ms,
        {{ percentile_cont('ttft_ms', 0.99) }} as ttft_p99_ms,
        {{ percentile_cont('output_tokens_per_second', 0.5) }} as output_tokens_per_second_p50,
        sum(output_tokens) * 1000.0 / nullif(sum(latency_ms), 0) as output_tokens_per_second
    from measured
    group by usage_date, provider, model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model)) as string)
            as latency_percentiles_key,
        cast(usage_date as date) as usage_date,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(requests as bigint) as requests,
        cast(ttft_requests as bigint) as ttft_requests,
        cast(latency_p50_ms as double) as latency_p50_ms,
        cast(latency_p90_ms as double) as latency_p90_ms,
        cast(latency_p95_ms as double) as latency_p95_ms,
        cast(latency_p99_ms as double) as latency_p99_ms,
        cast(latency_max_ms as bigint) as latency_max_ms,
        cast(ttft_p50_ms as double) as ttft_p50_ms,
        cast(ttft_p90_ms as double) as ttft_p90_ms,
        cast(ttft_p95_ms as double) as ttft_p95_ms,
        cast(ttft_p99_ms as double) as ttft_p99_ms,
        cast(output_tokens_per_second_p50 as double) as output_tokens_per_second_p50,
        cast(output_tokens_per_second as double) as output_tokens_per_second
    from aggregated
)

select * from final
