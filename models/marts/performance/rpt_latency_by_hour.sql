{{ config(**incremental_by_day('usage_date')) }}

-- Latency by hour of day (reporting time zone) per model and day: the time-of-day heat map
-- of seed 003. Same population as rpt_latency_percentiles (successful interactive
-- requests); reads the request fact, incremental by day the same way.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

measured as (
    select
        usage_date,
        {{ to_reporting_hour('occurred_at') }} as hour_of_day,
        provider,
        model,
        latency_ms,
        ttft_ms
    from requests
    where is_success and service_tier != 'batch' and latency_ms is not null
),

aggregated as (
    select
        usage_date,
        hour_of_day,
        provider,
        model,
        count(*) as requests,
        {{ percentile_cont('latency_ms', 0.5) }} as latency_p50_ms,
        {{ percentile_cont('latency_ms', 0.95) }} as latency_p95_ms,
        {{ percentile_cont('ttft_ms', 0.5) }} as ttft_p50_ms,
        sum(latency_ms) as latency_ms_sum
    from measured
    group by usage_date, hour_of_day, provider, model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, hour_of_day, provider, model)) as string)
            as latency_by_hour_key,
        cast(usage_date as date) as usage_date,
        cast(hour_of_day as integer) as hour_of_day,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(requests as bigint) as requests,
        cast(latency_p50_ms as double) as latency_p50_ms,
        cast(latency_p95_ms as double) as latency_p95_ms,
        cast(ttft_p50_ms as double) as ttft_p50_ms,
        cast(latency_ms_sum as bigint) as latency_ms_sum
    from aggregated
)

select * from final
