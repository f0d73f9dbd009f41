{{ config(meta={"dagster": {"ref": {"name": "fct_daily_usage"}}}) }}

-- The daily mart is an exact re-aggregation of the request fact: same requests, tokens
-- and cost per day.
with

requests as (
    select
        usage_date,
        count(*) as requests,
        sum(total_tokens) as total_tokens,
        coalesce(sum(total_cost_usd), 0) as total_cost_usd
    from {{ ref('fct_llm_requests') }}
    group by usage_date
),

daily as (
    select
        usage_date,
        sum(requests) as requests,
        sum(total_tokens) as total_tokens,
        coalesce(sum(total_cost_usd), 0) as total_cost_usd
    from {{ ref('fct_daily_usage') }}
    group by usage_date
)

select
    coalesce(requests.usage_date, daily.usage_date) as usage_date,
    requests.requests as fact_requests,
    daily.requests as daily_requests
from requests
full outer join daily on requests.usage_date = daily.usage_date
where
    requests.usage_date is null
    or daily.usage_date is null
    or requests.requests != daily.requests
    or requests.total_tokens != daily.total_tokens
    or requests.total_cost_usd != daily.total_cost_usd
