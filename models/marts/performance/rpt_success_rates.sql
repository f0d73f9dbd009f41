-- Success and error rates per provider, model and day (seed 003's success-rate gauge and
-- error rate), read from fct_daily_usage. error_rate counts provider-side failures
-- (error, timeout, rate_limited); cancelled requests are the caller's choice and only
-- lower the success rate.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(error_requests) as error_requests,
        sum(timeout_requests) as timeout_requests,
        sum(rate_limited_requests) as rate_limited_requests,
        sum(cancelled_requests) as cancelled_requests
    from daily
    group by usage_date, provider, model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model)) as string) as success_rate_key,
        cast(usage_date as date) as usage_date,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(error_requests as bigint) as error_requests,
        cast(timeout_requests as bigint) as timeout_requests,
        cast(rate_limited_requests as bigint) as rate_limited_requests,
        cast(cancelled_requests as bigint) as cancelled_requests,
        cast(error_requests + timeout_requests + rate_limited_requests as bigint)
            as failed_requests,
        cast(successful_requests / requests as double) as success_rate,
        cast((error_requests + timeout_requests + rate_limited_requests) / requests as double)
            as error_rate
    from aggregated
)

select * from final
