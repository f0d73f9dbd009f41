-- Budget status per budget and day: month-to-date spend against the monthly limit and a
-- month-end forecast, as they stood at the end of that day (as_of_date). is_current marks
-- the rows of the mart's as-of day (var as_of_date, else the last usage day).
--
-- Forecast = spent month to date + the expected cost of every remaining day of the month.
-- The expected cost of a day is the mean cost of the same weekday over the trailing
-- forecast_trailing_days days (the as-of day included, days before the data starts
-- excluded), so weekends forecast as weekends: a run-rate with the weekday shape, not a
-- flat average. A weekday with no observation in the window takes the window's mean.
-- Status: over at >= 100% of the limit, critical at >= budget_critical_utilization,
-- warning at >= budget_warning_utilization, else ok; for actual and forecast alike.

{% set forecast_window_days = var('forecast_trailing_days') | int %}

with

budget_days as (
    select * from {{ ref('fct_budget_daily') }}
),

as_of as (
    select max(usage_date) as as_of_date from budget_days
),

calendar as (
    {{ calendar_days(
        '(select min(usage_date) as first_date from budget_days)',
        dbt.last_day('(select max(usage_date) as last_date from budget_days)', 'month')
    ) }}
),

trailing_history as (
    select
        current_day.scope,
        current_day.scope_id,
        current_day.usage_date as as_of_date,
        history.usage_date as history_date,
        history.cost_usd
    from budget_days as current_day
    inner join budget_days as history
        on
            current_day.scope = history.scope
            and current_day.scope_id = history.scope_id
            and current_day.usage_date >= history.usage_date
            and cast(
                {{ dbt.dateadd('day', -forecast_window_days, 'current_day.usage_date') }} as date
            ) < history.usage_date
),

weekday_expected as (
    select
        scope,
        scope_id,
        as_of_date,
        {{ iso_day_of_week('history_date') }} as day_of_week,
        cast(sum(cost_usd) / count(*) as decimal(38, 12)) as expected_cost_usd
    from trailing_history
    group by scope, scope_id, as_of_date, {{ iso_day_of_week('history_date') }}
),

window_expected as (
    select
        scope,
        scope_id,
        as_of_date,
        cast(sum(cost_usd) / count(*) as decimal(38, 12)) as expected_cost_usd
    from trailing_history
    group by scope, scope_id, as_of_date
),

remaining_days as (
    select
        budget_days.scope,
        budget_days.scope_id,
        budget_days.usage_date as as_of_date,
        calendar.calendar_date as forecast_date
    from budget_days
    inner join calendar
        on
            budget_days.usage_date < calendar.calendar_date
            and cast({{ dbt.last_day('budget_days.usage_date', 'month') }} as date)
            >= calendar.calendar_date
),

forecast_remaining as (
    select
        remaining_days.scope,
        remaining_days.scope_id,
        remaining_days.as_of_date,
        sum(coalesce(
            weekday_expected.expected_cost_usd, window_expected.expected_cost_usd
        )) as forecast_remaining_usd
    from remaining_days
    left join weekday_expected
        on
            remaining_days.scope = weekday_expected.scope
            and remaining_days.scope_id = weekday_expected.scope_id
            and remaining_days.as_of_date = weekday_expected.as_of_date
            and {{ iso_day_of_week('remaining_days.forecast_date') }}
            = weekday_expected.day_of_week
    left join window_expected
        on
            remaining_days.scope = window_expected.scope
            and remaining_days.scope_id = window_expected.scope_id
            and remaining_days.as_of_date = window_expected.as_of_date
    group by remaining_days.scope, remaining_days.scope_id, remaining_days.as_of_date
),

measured as (
    select
        budget_days.scope,
        budget_days.scope_id,
        budget_days.usage_date as as_of_date,
        budget_days.month_start_date,
        cast({{ dbt.last_day('budget_days.usage_date', 'month') }} as date) as month_end_date,
        budget_days.monthly_limit_usd,
        cast(budget_days.month_to_date_cost_usd as decimal(38, 12)) as spent_mtd_usd,
        budget_days.month_to_date_unpriced_requests as unpriced_requests_mtd,
        cast(coalesce(forecast_remaining.forecast_remaining_usd, 0) as decimal(38, 12))
            as forecast_remaining_usd,
        budget_days.usage_date = as_of.as_of_date as is_current
    from budget_days
    cross join as_of
    left join forecast_remaining
        on
            budget_days.scope = forecast_remaining.scope
            and budget_days.scope_id = forecast_remaining.scope_id
            and budget_days.usage_date = forecast_remaining.as_of_date
),

ratios as (
    select
        *,
        spent_mtd_usd + forecast_remaining_usd as forecast_month_end_usd,
        cast(spent_mtd_usd / monthly_limit_usd as double) as utilization,
        cast((spent_mtd_usd + forecast_remaining_usd) / monthly_limit_usd as double)
            as forecast_utilization
    from measured
),

final as (
    select
        cast(md5(concat_ws('|', scope, scope_id, as_of_date)) as string) as budget_status_key,
        cast(scope as string) as scope,
        cast(scope_id as string) as scope_id,
        cast(as_of_date as date) as as_of_date,
        cast(is_current as boolean) as is_current,
        cast(month_start_date as date) as month_start_date,
        cast(month_end_date as date) as month_end_date,
        cast({{ days_between('month_start_date', 'as_of_date') }} + 1 as integer)
            as days_elapsed,
        cast({{ days_between('as_of_date', 'month_end_date') }} as integer) as days_remaining,
        cast(monthly_limit_usd as decimal(38, 12)) as monthly_limit_usd,
        cast(spent_mtd_usd as decimal(38, 12)) as spent_mtd_usd,
        cast(monthly_limit_usd - spent_mtd_usd as decimal(38, 12)) as remaining_usd,
        cast(utilization as double) as utilization,
        cast(forecast_remaining_usd as decimal(38, 12)) as forecast_remaining_usd,
        cast(forecast_month_end_usd as decimal(38, 12)) as forecast_month_end_usd,
        cast(forecast_utilization as double) as forecast_utilization,
        cast({{ budget_status('utilization') }} as string) as status,
        cast({{ budget_status('forecast_utilization') }} as string) as forecast_status,
        cast(unpriced_requests_mtd as bigint) as unpriced_requests_mtd
    from ratios
)

select * from final
