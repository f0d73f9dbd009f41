-- One row per budget (seeds/budgets.csv) and calendar day, from the first usage day to the
-- as-of day: the scope's cost that day and month to date. Days without usage are rows
-- with zero cost, so run-rates and forecasts see them. The month is the calendar month of
-- usage_date, itself a day in the reporting time zone: the budget window resets on the
-- 1st of the month in that zone. A budget with a daily limit (daily_limit_usd, optional)
-- gets the day's spend against it: daily_utilization = cost_usd / daily_limit_usd, null
-- without a daily limit (rpt_alerts raises daily_budget_exceeded from it).

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

budgets as (
    select * from {{ ref('budgets') }}
),

calendar as (
    {{ calendar_days(
        '(select min(usage_date) as first_date from daily)',
        monitoring_as_of_date('daily')
    ) }}
),

spend as (
    select
        'team' as scope,
        team as scope_id,
        usage_date,
        sum(total_cost_usd) as cost_usd,
        sum(requests) as requests,
        sum(unpriced_requests) as unpriced_requests
    from daily
    group by team, usage_date

    union all

    select
        'client' as scope,
        client as scope_id,
        usage_date,
        sum(total_cost_usd) as cost_usd,
        sum(requests) as requests,
        sum(unpriced_requests) as unpriced_requests
    from daily
    group by client, usage_date

    union all

    select
        'user' as scope,
        user_id as scope_id,
        usage_date,
        sum(total_cost_usd) as cost_usd,
        sum(requests) as requests,
        sum(unpriced_requests) as unpriced_requests
    from daily
    group by user_id, usage_date
),

budget_days as (
    select
        budgets.scope,
        budgets.scope_id,
        budgets.monthly_limit_usd,
        budgets.daily_limit_usd,
        calendar.calendar_date as usage_date,
        cast({{ dbt.date_trunc('month', 'calendar.calendar_date') }} as date)
            as month_start_date,
        coalesce(spend.cost_usd, 0) as cost_usd,
        coalesce(spend.requests, 0) as requests,
        coalesce(spend.unpriced_requests, 0) as unpriced_requests
    from budgets
    cross join calendar
    left join spend
        on
            budgets.scope = spend.scope
            and budgets.scope_id = spend.scope_id
            and calendar.calendar_date = spend.usage_date
),

month_to_date as (
    select
        *,
        sum(cost_usd) over (
            partition by scope, scope_id, month_start_date
            order by usage_date
            rows between unbounded preceding and current row
        ) as month_to_date_cost_usd,
        sum(unpriced_requests) over (
            partition by scope, scope_id, month_start_date
            order by usage_date
            rows between unbounded preceding and current row
        ) as month_to_date_unpriced_requests
    from budget_days
),

final as (
    select
        cast(md5(concat_ws('|', scope, scope_id, usage_date)) as string) as budget_daily_key,
        cast(scope as string) as scope,
        cast(scope_id as string) as scope_id,
        cast(usage_date as date) as usage_date,
        cast(month_start_date as date) as month_start_date,
        cast(monthly_limit_usd as decimal(38, 12)) as monthly_limit_usd,
        cast(cost_usd as decimal(38, 12)) as cost_usd,
        cast(requests as bigint) as requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(month_to_date_cost_usd as decimal(38, 12)) as month_to_date_cost_usd,
        cast(month_to_date_unpriced_requests as bigint) as month_to_date_unpriced_requests,
        cast(daily_limit_usd as decimal(38, 12)) as daily_limit_usd,
        cast(cost_usd / daily_limit_usd as double) as daily_utilization
    from month_to_date
)

select * from final
