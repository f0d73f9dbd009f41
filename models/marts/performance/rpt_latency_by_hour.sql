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
    where is_success and service_tier not in ('batch', 'flex') and latency_ms is not null
),

aggregated as (
    select
        usage_date,
        hour_of_day,
        provider,
        model,
        count(*) as requests,
        {{ percentile_columns('latency_ms', [50, 95], 'latency_p{}_ms') }},
        {{ percentile_columns('ttft_ms', [50], 'ttft_p{}_ms') }},
        cast(sum(latency_ms) as bigint) as latency_ms_sum
    from measured
    group by usage_date, hour_of_day, provider, model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, hour_of_day, provider, model)) as string)
            as latency_by_hour_key,
        *
    from aggregated
)

select * from final
