{{ config(meta={"dagster": {"ref": {"name": "rpt_usage_by_prompt_version"}}}) }}

-- rpt_usage_by_prompt_version is incremental on its own (it reads the request fact by
-- touched usage day): it must stay an exact re-aggregation of the daily mart.
with

by_prompt_version as (
    select
        usage_date,
        sum(requests) as requests,
        sum(total_tokens) as total_tokens,
        coalesce(sum(total_cost_usd), 0) as total_cost_usd
    from {{ ref('rpt_usage_by_prompt_version') }}
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
    coalesce(by_prompt_version.usage_date, daily.usage_date) as usage_date,
    by_prompt_version.requests as prompt_version_requests,
    daily.requests as daily_requests
from by_prompt_version
full outer join daily on by_prompt_version.usage_date = daily.usage_date
where
    by_prompt_version.usage_date is null
    or daily.usage_date is null
    or by_prompt_version.requests != daily.requests
    or by_prompt_version.total_tokens != daily.total_tokens
    or by_prompt_version.total_cost_usd != daily.total_cost_usd
