{{ config(materialized=rollup_materialization()) }}

-- Gross margin per user, client and calendar month (seed 002's "gross margin per user").
-- Revenue is per client (seed revenue); each client's monthly revenue is allocated to the
-- users who served it that month in proportion to their share of its requests (requests
-- without a user keep their share under user_id '(unattributed)', so allocations add up to
-- the client's revenue). Margin = allocated revenue - the user's cost for that client.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

client_months as (
    select * from {{ ref('rpt_gross_margin_by_client') }}
),

usage_by_user as (
    select
        cast(date_trunc('month', usage_date) as date) as month_start_date,
        client,
        user_id,
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(total_cost_usd) as total_cost_usd
    from daily
    group by 1, 2, 3
),

allocated as (
    select
        usage_by_user.*,
        client_months.is_complete_month,
        client_months.has_revenue,
        cast(usage_by_user.requests as double) / client_months.requests as request_share,
        client_months.revenue_usd * usage_by_user.requests / client_months.requests
            as allocated_revenue_usd
    from usage_by_user
    inner join client_months
        on
            usage_by_user.month_start_date = client_months.month_start_date
            and usage_by_user.client = client_months.client
),

final as (
    select
        cast(md5(concat_ws('|', month_start_date, client, user_id)) as string)
            as gross_margin_by_user_key,
        cast(month_start_date as date) as month_start_date,
        cast(client as string) as client,
        cast(user_id as string) as user_id,
        cast(is_complete_month as boolean) as is_complete_month,
        cast(has_revenue as boolean) as has_revenue,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(request_share as double) as request_share,
        cast(allocated_revenue_usd as decimal(38, 12)) as allocated_revenue_usd,
        cast(coalesce(total_cost_usd, 0) as decimal(38, 12)) as total_cost_usd,
        cast(allocated_revenue_usd - coalesce(total_cost_usd, 0) as decimal(38, 12))
            as gross_margin_usd
    from allocated
)

select * from final
