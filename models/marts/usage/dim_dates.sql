-- The calendar: one row per day from the first day of the month of the earliest usage to
-- the last day of the month of the latest usage, with the attributes BI tools filter and
-- group by. Also MetricFlow's time spine (models/semantic). Derived from the data only,
-- so the same input gives the same calendar.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

bounds as (
    select
        cast(date_trunc('month', min(usage_date)) as date) as first_date,
        last_day(max(usage_date)) as last_date
    from daily
),

usage_days as (
    select distinct usage_date from daily
),

spine as (
    select calendar_date as date_day
    from (
        {{ calendar_days('(select first_date from bounds)', '(select last_date from bounds)') }}
    ) as calendar
),

final as (
    select
        cast(spine.date_day as date) as date_day,
        cast(year(spine.date_day) as integer) as year_number,
        cast(quarter(spine.date_day) as integer) as quarter_number,
        cast(month(spine.date_day) as integer) as month_number,
        cast({{ month_name('spine.date_day') }} as string) as month_name,
        cast(date_trunc('month', spine.date_day) as date) as month_start_date,
        cast(day(last_day(spine.date_day)) as integer) as days_in_month,
        {{ iso_year('spine.date_day') }} as iso_year_number,
        {{ iso_week('spine.date_day') }} as iso_week_number,
        cast(date_trunc('week', spine.date_day) as date) as week_start_date,
        {{ iso_day_of_week('spine.date_day') }} as iso_day_of_week,
        cast({{ day_name('spine.date_day') }} as string) as day_name,
        cast({{ iso_day_of_week('spine.date_day') }} >= 6 as boolean) as is_weekend,
        cast(usage_days.usage_date is not null as boolean) as has_usage
    from spine
    left join usage_days on spine.date_day = usage_days.usage_date
)

select * from final
