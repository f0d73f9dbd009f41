-- Provider usage reports against per-request data, per usage_date x provider x model:
-- requests and tokens by both, and the gap (provider - per-request). Only the days and
-- providers a usage report covers are shown. Daily totals elsewhere use per-request data
-- (fct_daily_usage); provider reports never add to them.

with

provider_usage as (
    select * from {{ ref('fct_provider_usage') }}
),

daily_usage as (
    select * from {{ ref('fct_daily_usage') }}
),

reported as (
    select
        usage_date,
        provider,
        model,
        sum(requests) as provider_requests,
        count(*) filter (where requests is null) as buckets_without_requests,
        sum(input_tokens) as provider_input_tokens,
        sum(cache_read_tokens) as provider_cache_read_tokens,
        sum(cache_write_tokens) as provider_cache_write_tokens,
        sum(output_tokens) as provider_output_tokens,
        sum(total_tokens) as provider_total_tokens,
        sum(total_cost_usd) as provider_cost_usd
    from provider_usage
    group by usage_date, provider, model
),

covered_days as (
    select distinct
        usage_date,
        provider
    from reported
),

observed as (
    select
        daily_usage.usage_date,
        daily_usage.provider,
        daily_usage.model,
        sum(daily_usage.requests) as request_requests,
        sum(daily_usage.input_tokens) as request_input_tokens,
        sum(daily_usage.cache_read_tokens) as request_cache_read_tokens,
        sum(daily_usage.cache_write_tokens) as request_cache_write_tokens,
        sum(daily_usage.output_tokens) as request_output_tokens,
        sum(daily_usage.total_tokens) as request_total_tokens,
        sum(daily_usage.total_cost_usd) as request_cost_usd
    from daily_usage
    inner join covered_days
        on
            daily_usage.usage_date = covered_days.usage_date
            and daily_usage.provider = covered_days.provider
    group by daily_usage.usage_date, daily_usage.provider, daily_usage.model
),

joined as (
    select
        coalesce(reported.usage_date, observed.usage_date) as usage_date,
        coalesce(reported.provider, observed.provider) as provider,
        coalesce(reported.model, observed.model) as model,
        case when reported.buckets_without_requests = 0 then reported.provider_requests end
            as provider_requests,
        coalesce(observed.request_requests, 0) as request_requests,
        coalesce(reported.provider_input_tokens, 0) as provider_input_tokens,
        coalesce(observed.request_input_tokens, 0) as request_input_tokens,
        coalesce(reported.provider_cache_read_tokens, 0) as provider_cache_read_tokens,
        coalesce(observed.request_cache_read_tokens, 0) as request_cache_read_tokens,
        coalesce(reported.provider_cache_write_tokens, 0) as provider_cache_write_tokens,
        coalesce(observed.request_cache_write_tokens, 0) as request_cache_write_tokens,
        coalesce(reported.provider_output_tokens, 0) as provider_output_tokens,
        coalesce(observed.request_output_tokens, 0) as request_output_tokens,
        coalesce(reported.provider_total_tokens, 0) as provider_total_tokens,
        coalesce(observed.request_total_tokens, 0) as request_total_tokens,
        reported.provider_cost_usd,
        observed.request_cost_usd
    from reported
    full outer join observed
        on
            reported.usage_date = observed.usage_date
            and reported.provider = observed.provider
            and reported.model = observed.model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model)) as string)
            as reconciliation_key,
        cast(usage_date as date) as usage_date,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(provider_requests as bigint) as provider_requests,
        cast(request_requests as bigint) as request_requests,
        cast(provider_requests - request_requests as bigint) as requests_gap,
        cast(provider_input_tokens as bigint) as provider_input_tokens,
        cast(request_input_tokens as bigint) as request_input_tokens,
        cast(provider_input_tokens - request_input_tokens as bigint) as input_tokens_gap,
        cast(provider_cache_read_tokens as bigint) as provider_cache_read_tokens,
        cast(request_cache_read_tokens as bigint) as request_cache_read_tokens,
        cast(provider_cache_read_tokens - request_cache_read_tokens as bigint)
            as cache_read_tokens_gap,
        cast(provider_cache_write_tokens as bigint) as provider_cache_write_tokens,
        cast(request_cache_write_tokens as bigint) as request_cache_write_tokens,
        cast(provider_cache_write_tokens - request_cache_write_tokens as bigint)
            as cache_write_tokens_gap,
        cast(provider_output_tokens as bigint) as provider_output_tokens,
        cast(request_output_tokens as bigint) as request_output_tokens,
        cast(provider_output_tokens - request_output_tokens as bigint) as output_tokens_gap,
        cast(provider_total_tokens as bigint) as provider_total_tokens,
        cast(request_total_tokens as bigint) as request_total_tokens,
        cast(provider_total_tokens - request_total_tokens as bigint) as total_tokens_gap,
        cast(provider_cost_usd as decimal(38, 12)) as provider_cost_usd,
        cast(request_cost_usd as decimal(38, 12)) as request_cost_usd,
        cast(provider_cost_usd - request_cost_usd as decimal(38, 12)) as cost_gap_usd
    from joined
)

select * from final
