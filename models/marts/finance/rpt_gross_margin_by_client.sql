{{ config(materialized=rollup_materialization()) }}

-- Gross margin per client and calendar month (seed 002's "gross margin"): the client's
-- monthly revenue (seed revenue) minus the AI cost of its requests that month. Months are
-- those with usage; a client without revenue rows (e.g. 'internal') has revenue 0 and
-- has_revenue = false. is_complete_month is false for a month the data covers only in part
-- (its margin is not comparable to a full month's).

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

revenue as (
    select * from {{ ref('revenue') }}
),

bounds as (
    select
        min(usage_date) as first_date,
        max(usage_date) as last_date
    from daily
),

usage_by_month as (
    select
        cast(date_trunc('month', usage_date) as date) as month_start_date,
        client,
        sum(requests) as requests,
        sum(successful_requests) as successful_requests,
        sum(unpriced_requests) as unpriced_requests,
        sum(total_cost_usd) as total_cost_usd,
        {{ count_attributed('user_id') }} as active_users
    from daily
    group by 1, 2
),

revenue_by_month as (
    select
        cast(date_trunc('month', month) as date) as month_start_date,
        client,
        sum(revenue_usd) as revenue_usd
    from revenue
    group by 1, 2
),

joined as (
    select
        usage_by_month.*,
        revenue_by_month.revenue_usd,
        revenue_by_month.client is not null as has_revenue,
        bounds.first_date <= usage_by_month.month_start_date
        and bounds.last_date >= last_day(usage_by_month.month_start_date)
            as is_complete_month
    from usage_by_month
    cross join bounds
    left join revenue_by_month
        on
            usage_by_month.month_start_date = revenue_by_month.month_start_date
            and usage_by_month.client = revenue_by_month.client
),

final as (
    select
        cast(md5(concat_ws('|', month_start_date, client)) as string)
            as gross_margin_by_client_key,
        cast(month_start_date as date) as month_start_date,
        cast(client as string) as client,
        cast(is_complete_month as boolean) as is_complete_month,
        cast(has_revenue as boolean) as has_revenue,
        cast(coalesce(revenue_usd, 0) as decimal(38, 12)) as revenue_usd,
        cast(coalesce(total_cost_usd, 0) as decimal(38, 12)) as total_cost_usd,
        cast(coalesce(revenue_usd, 0) - coalesce(total_cost_usd, 0) as decimal(38, 12))
            as gross_margin_usd,
        cast(
            case
                when revenue_usd > 0
                    then (revenue_usd - coalesce(total_cost_usd, 0)) / revenue_usd
            end as double
        ) as gross_margin_ratio,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(cast(successful_requests as double) / requests as double) as success_rate,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(active_users as bigint) as active_users
    from joined
)

select * from final
