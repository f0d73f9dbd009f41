{{ config(**incremental_by_day('usage_date')) }}

-- Latency, time to first token and throughput percentiles per model and day (seed 003's
-- "latency percentiles" and "model comparison"). Measured on successful interactive
-- requests: batch jobs (queued for minutes to hours), flex requests (slower by design) and
-- failures (timeouts) would say nothing about the model's interactive speed; failures are
-- in rpt_error_rates.
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
    where is_success and service_tier not in ('batch', 'flex') and latency_ms is not null
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        count(*) as requests,
        count(ttft_ms) as ttft_requests,
        {{ percentile_columns('latency_ms', [50, 90, 95, 99], 'latency_p{}_ms') }},
        max(latency_ms) as latency_max_ms,
        {{ percentile_columns('ttft_ms', [50, 90, 95, 99], 'ttft_p{}_ms') }},
        {{ percentile_columns(
            'output_tokens_per_second', [50], 'output_tokens_per_second_p{}'
        ) }},
        cast(sum(output_tokens) * 1000.0 / nullif(sum(latency_ms), 0) as double)
            as output_tokens_per_second
    from measured
    group by usage_date, provider, model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model)) as string)
            as latency_percentiles_key,
        *
    from aggregated
)

select * from final
