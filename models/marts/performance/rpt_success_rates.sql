{{ config(materialized=rollup_materialization()) }}

-- Success and error rates per provider, model and day (seed 003's success-rate gauge and
-- error rate), read from fct_daily_usage. error_rate counts provider-side failures
-- (error, timeout, rate_limited); cancelled requests are the caller's choice and only
-- lower the success rate.

{%- set measures = [
    'requests', 'successful_requests', 'error_requests', 'timeout_requests',
    'rate_limited_requests', 'cancelled_requests',
] %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        {{ sum_measures(measures) }}
    from daily
    group by usage_date, provider, model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model)) as string) as success_rate_key,
        cast(usage_date as date) as usage_date,
        cast(provider as string) as provider,
        cast(model as string) as model,
        {{ measure_columns(measures) }},
        cast(error_requests + timeout_requests + rate_limited_requests as bigint)
            as failed_requests,
        cast(successful_requests / requests as double) as success_rate,
        cast((error_requests + timeout_requests + rate_limited_requests) / requests as double)
            as error_rate
    from aggregated
)

select * from final
