{{ config(**incremental_by_day('usage_date')) }}

-- Latency by hour of day (reporting time zone) and day, over every model: the time-of-day
-- heat map of seed 003. Percentiles (p50, p95) of the same population as
-- rpt_latency_percentiles (successful interactive requests: no batch, no flex), never a
-- mean; percentiles do not add up, so the grain is the heat map's cell. Reads the request
-- fact, incremental by day the same way.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

measured as (
    select
        usage_date,
        {{ to_reporting_hour('occurred_at') }} as hour_of_day,
        latency_ms,
        ttft_ms
    from requests
    where is_success and service_tier not in ('batch', 'flex') and latency_ms is not null
),

aggregated as (
    select
        usage_date,
        hour_of_day,
        count(*) as requests,
        {{ percentile_columns('latency_ms', [50, 95], 'latency_p{}_ms') }},
        {{ percentile_columns('ttft_ms', [50], 'ttft_p{}_ms') }}
    from measured
    group by usage_date, hour_of_day
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, hour_of_day)) as string) as latency_by_hour_key,
        *
    from aggregated
)

select * from final
