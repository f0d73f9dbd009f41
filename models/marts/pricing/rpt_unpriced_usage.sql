-- Requests that could not be priced (cost null, never 0), one row per usage_date x
-- provider x model x unpriced_reason, with their tokens and when they were first and last
-- seen that day. Reads only the unpriced rows of fct_llm_requests.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where not is_priced
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        unpriced_reason,
        count(*) as requests,
        count(distinct model_reported) as reported_model_ids,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(total_tokens) as total_tokens,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from requests
    group by all
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model, unpriced_reason)) as string)
            as unpriced_usage_key,
        cast(usage_date as date) as usage_date,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(unpriced_reason as string) as unpriced_reason,
        cast(requests as bigint) as requests,
        cast(reported_model_ids as bigint) as reported_model_ids,
        cast(input_tokens as bigint) as input_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(total_tokens as bigint) as total_tokens,
        cast(first_seen_at as timestamp) as first_seen_at,
        cast(last_seen_at as timestamp) as last_seen_at
    from aggregated
)

select * from final
