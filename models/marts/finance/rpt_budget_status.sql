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
--
-- Interval, from the forecast's own backtest: on each of the last forecast_backtest_weeks
-- weeks (the days 7, 14, ... before the as-of day, from the data's first day on), the
-- forecast the method made that day for the next 7 days (one of each weekday) is compared
-- with what those days cost: relative error = actual / forecast - 1. The P10 and P90 of
-- those errors (linear interpolation) scale the forecast of the remaining days:
-- forecast_month_end_p10_usd = spent + remaining x (1 + P10), never below what is spent;
-- P90 likewise. forecast_backtest_error is their mean absolute value. Fewer than
-- forecast_min_backtest_weeks backtests: no interval (null). The errors of 7-day forecasts
-- stand for the error of the month's remaining days, whatever their number.
-- Run-out: budget_run_out_date is the first day of the month whose month-to-date spend
-- reached the limit, or else the first remaining day whose cumulative forecast reaches
-- it; null when the forecast stays under the limit.
-- Daily limit (optional, seeds/budgets.csv): spent_day_usd is the cost of as_of_date
-- itself, daily_utilization = spent_day_usd / daily_limit_usd (null without a daily limit)
-- and daily_status its status, with the thresholds of the monthly one.

{% set forecast_window_days = var('forecast_trailing_days') | int %}
{% set backtest_weeks = var('forecast_backtest_weeks') | int %}

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

weekdays as (
    {%- for day in range(1, 8) %}
        select {{ day }} as day_of_week
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

-- what the method forecast, at the end of each day, for the 7 days after it
week_forecasts as (
    select
        window_expected.scope,
        window_expected.scope_id,
        window_expected.as_of_date as origin_date,
        sum(coalesce(
            weekday_expected.expected_cost_usd, window_expected.expected_cost_usd
        )) as forecast_week_usd
    from window_expected
    cross join weekdays
    left join weekday_expected
        on
            window_expected.scope = weekday_expected.scope
            and window_expected.scope_id = weekday_expected.scope_id
            and window_expected.as_of_date = weekday_expected.as_of_date
            and weekdays.day_of_week = weekday_expected.day_of_week
    group by window_expected.scope, window_expected.scope_id, window_expected.as_of_date
),

-- what those 7 days cost, once all 7 are known
week_actuals as (
    select
        origin.scope,
        origin.scope_id,
        origin.usage_date as origin_date,
        sum(later.cost_usd) as actual_week_usd
    from budget_days as origin
    inner join budget_days as later
        on
            origin.scope = later.scope
            and origin.scope_id = later.scope_id
            and origin.usage_date < later.usage_date
            and cast({{ dbt.dateadd('day', 7, 'origin.usage_date') }} as date)
            >= later.usage_date
    group by origin.scope, origin.scope_id, origin.usage_date
    having count(*) = 7
),

backtests as (
    select
        week_forecasts.scope,
        week_forecasts.scope_id,
        week_forecasts.origin_date,
        cast(week_actuals.actual_week_usd / week_forecasts.forecast_week_usd - 1 as double)
            as relative_error
    from week_forecasts
    inner join week_actuals
        on
            week_forecasts.scope = week_actuals.scope
            and week_forecasts.scope_id = week_actuals.scope_id
            and week_forecasts.origin_date = week_actuals.origin_date
    where week_forecasts.forecast_week_usd > 0
),

backtest_errors as (
    select
        budget_days.scope,
        budget_days.scope_id,
        budget_days.usage_date as as_of_date,
        count(*) as backtest_weeks,
        {{ percentile_cont('backtests.relative_error', 0.1) }} as error_p10,
        {{ percentile_cont('backtests.relative_error', 0.9) }} as error_p90,
        {{ ordered_avg('abs(backtests.relative_error)') }} as mean_absolute_error
    from budget_days
    inner join backtests
        on
            budget_days.scope = backtests.scope
            and budget_days.scope_id = backtests.scope_id
            and {{ days_between('backtests.origin_date', 'budget_days.usage_date') }} in (
                {%- for week in range(1, backtest_weeks + 1) %}
                    {{ 7 * week }}{{ ',' if not loop.last }}
                {%- endfor %}
            )
    group by budget_days.scope, budget_days.scope_id, budget_days.usage_date
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

remaining_expected as (
    select
        remaining_days.scope,
        remaining_days.scope_id,
        remaining_days.as_of_date,
        remaining_days.forecast_date,
        coalesce(
            weekday_expected.expected_cost_usd, window_expected.expected_cost_usd
        ) as expected_cost_usd
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
),

forecast_remaining as (
    select
        scope,
        scope_id,
        as_of_date,
        sum(expected_cost_usd) as forecast_remaining_usd
    from remaining_expected
    group by scope, scope_id, as_of_date
),

-- the first remaining day whose cumulative forecast reaches the limit
forecast_run_out as (
    select
        cumulative.scope,
        cumulative.scope_id,
        cumulative.as_of_date,
        min(cumulative.forecast_date) as run_out_date
    from (
        select
            *,
            sum(expected_cost_usd) over (
                partition by scope, scope_id, as_of_date
                order by forecast_date
                rows between unbounded preceding and current row
            ) as cumulative_usd
        from remaining_expected
    ) as cumulative
    inner join budget_days
        on
            cumulative.scope = budget_days.scope
            and cumulative.scope_id = budget_days.scope_id
            and cumulative.as_of_date = budget_days.usage_date
    where
        budget_days.month_to_date_cost_usd + cumulative.cumulative_usd
        >= budget_days.monthly_limit_usd
    group by cumulative.scope, cumulative.scope_id, cumulative.as_of_date
),

-- the first day of the month whose month-to-date spend reached the limit
spent_run_out as (
    select
        current_day.scope,
        current_day.scope_id,
        current_day.usage_date as as_of_date,
        min(earlier.usage_date) as run_out_date
    from budget_days as current_day
    inner join budget_days as earlier
        on
            current_day.scope = earlier.scope
            and current_day.scope_id = earlier.scope_id
            and current_day.month_start_date = earlier.month_start_date
            and current_day.usage_date >= earlier.usage_date
    where earlier.month_to_date_cost_usd >= earlier.monthly_limit_usd
    group by current_day.scope, current_day.scope_id, current_day.usage_date
),

measured as (
    select
        budget_days.scope,
        budget_days.scope_id,
        budget_days.usage_date as as_of_date,
        budget_days.month_start_date,
        cast({{ dbt.last_day('budget_days.usage_date', 'month') }} as date) as month_end_date,
        budget_days.monthly_limit_usd,
        budget_days.daily_limit_usd,
        budget_days.cost_usd as spent_day_usd,
        budget_days.daily_utilization,
        cast(budget_days.month_to_date_cost_usd as decimal(38, 12)) as spent_mtd_usd,
        budget_days.month_to_date_unpriced_requests as unpriced_requests_mtd,
        cast(coalesce(forecast_remaining.forecast_remaining_usd, 0) as decimal(38, 12))
            as forecast_remaining_usd,
        coalesce(backtest_errors.backtest_weeks, 0) as backtest_weeks,
        backtest_errors.error_p10,
        backtest_errors.error_p90,
        backtest_errors.mean_absolute_error,
        coalesce(spent_run_out.run_out_date, forecast_run_out.run_out_date) as run_out_date,
        budget_days.usage_date = as_of.as_of_date as is_current
    from budget_days
    cross join as_of
    {%- set per_day_ctes = [
        'forecast_remaining', 'backtest_errors', 'spent_run_out', 'forecast_run_out',
    ] %}
    {%- for per_day in per_day_ctes %}
        left join {{ per_day }}
            on
                budget_days.scope = {{ per_day }}.scope
                and budget_days.scope_id = {{ per_day }}.scope_id
                and budget_days.usage_date = {{ per_day }}.as_of_date
    {%- endfor %}
),

ratios as (
    select
        *,
        {%- for percentile in ['p10', 'p90'] %}
            case
                when backtest_weeks >= {{ var('forecast_min_backtest_weeks') }}
                    then spent_mtd_usd + cast(
                        greatest(
                            cast(forecast_remaining_usd as double) * (1 + error_{{ percentile }}),
                            0
                        ) as decimal(38, 12)
                    )
            end as forecast_month_end_{{ percentile }}_usd,
        {%- endfor %}
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
        cast(unpriced_requests_mtd as bigint) as unpriced_requests_mtd,
        cast(forecast_month_end_p10_usd as decimal(38, 12)) as forecast_month_end_p10_usd,
        cast(forecast_month_end_p90_usd as decimal(38, 12)) as forecast_month_end_p90_usd,
        cast(backtest_weeks as integer) as forecast_backtest_weeks,
        cast(mean_absolute_error as double) as forecast_backtest_error,
        cast(run_out_date as date) as budget_run_out_date,
        cast(daily_limit_usd as decimal(38, 12)) as daily_limit_usd,
        cast(spent_day_usd as decimal(38, 12)) as spent_day_usd,
        cast(daily_utilization as double) as daily_utilization,
        cast(
            case when daily_limit_usd is not null then {{ budget_status('daily_utilization') }} end
            as string
        ) as daily_status
    from ratios
)

select * from final
