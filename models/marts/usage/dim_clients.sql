-- One row per client seen in the usage or in the revenue seed (including
-- '(unattributed)'), with whether revenue is recorded for it and when it was active.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

revenue as (
    select * from {{ ref('revenue') }}
),

usage_by_client as (
    select
        client,
        min(usage_date) as first_usage_date,
        max(usage_date) as last_usage_date,
        {{ count_attributed('user_id') }} as users,
        {{ count_attributed('workflow') }} as workflows
    from daily
    group by client
),

revenue_by_client as (
    select
        client,
        min(month) as first_revenue_month,
        max(month) as last_revenue_month
    from revenue
    group by client
),

final as (
    select
        cast(coalesce(usage_by_client.client, revenue_by_client.client) as string) as client,
        cast(
            coalesce(usage_by_client.client, revenue_by_client.client) != '(unattributed)'
            as boolean
        ) as is_attributed,
        cast(revenue_by_client.client is not null as boolean) as has_revenue,
        cast(revenue_by_client.first_revenue_month as date) as first_revenue_month,
        cast(revenue_by_client.last_revenue_month as date) as last_revenue_month,
        cast(usage_by_client.first_usage_date as date) as first_usage_date,
        cast(usage_by_client.last_usage_date as date) as last_usage_date,
        cast(coalesce(usage_by_client.users, 0) as bigint) as users,
        cast(coalesce(usage_by_client.workflows, 0) as bigint) as workflows
    from usage_by_client
    full outer join revenue_by_client on usage_by_client.client = revenue_by_client.client
)

select * from final
