-- Requests that could not be priced (cost null, never 0), one row per usage_date x
-- provider x model x unpriced_reason, with their tokens and when they were first and last
-- seen that day, and the bill of those that carry one (their cost of record: what the price
-- list fails to explain). Reads only the unpriced rows of fct_llm_requests.

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
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(total_tokens) as bigint) as total_tokens,
        cast(sum(billed_cost_usd) as decimal(38, 12)) as billed_cost_usd,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from requests
    group by all
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model, unpriced_reason)) as string)
            as unpriced_usage_key,
        *
    from aggregated
)

select * from final
