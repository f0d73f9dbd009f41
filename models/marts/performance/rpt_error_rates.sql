{{ config(**incremental_by_day('usage_date')) }}

-- Failed requests per provider, model, error type and day, with each type's share of the
-- model's requests that day (seed 003's error distribution). The error type is not in the
-- daily grain, so this reads the request fact; incremental by day. Totals and the success
-- rate per model and day are in rpt_success_rates (read from fct_daily_usage).

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

model_days as (
    select
        usage_date,
        provider,
        model,
        count(*) as model_requests
    from requests
    group by usage_date, provider, model
),

failures as (
    select
        usage_date,
        provider,
        model,
        status,
        coalesce(error_type, '(unknown)') as error_type,
        count(*) as failed_requests
    from requests
    where not is_success
    group by usage_date, provider, model, status, coalesce(error_type, '(unknown)')
),

final as (
    select
        cast(md5(concat_ws(
            '|', failures.usage_date, failures.provider, failures.model, failures.status,
            failures.error_type
        )) as string) as error_rate_key,
        cast(failures.usage_date as date) as usage_date,
        cast(failures.provider as string) as provider,
        cast(failures.model as string) as model,
        cast(failures.status as string) as status,
        cast(failures.error_type as string) as error_type,
        cast(failures.failed_requests as bigint) as failed_requests,
        cast(model_days.model_requests as bigint) as model_requests,
        cast(failures.failed_requests / model_days.model_requests as double) as error_rate
    from failures
    inner join model_days
        on
            failures.usage_date = model_days.usage_date
            and failures.provider = model_days.provider
            and failures.model = model_days.model
)

select * from final
