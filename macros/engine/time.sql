{#- Engine-specific SQL, time and calendar (default__ = DuckDB, spark__ = Spark; see
    landing.sql). -#}

{#- An ISO-8601 text (with or without offset) as a UTC timestamp; null when invalid. -#}
{% macro try_to_utc_timestamp(text) -%}
    {{ return(adapter.dispatch('try_to_utc_timestamp', 'aiusage')(text)) }}
{%- endmacro %}

{% macro default__try_to_utc_timestamp(text) -%}
    cast(try_cast({{ text }} as timestamptz) as timestamp)
{%- endmacro %}

{% macro spark__try_to_utc_timestamp(text) -%}
    try_cast({{ text }} as timestamp)
{%- endmacro %}

{#- Unix epoch seconds (integer) as a UTC timestamp. -#}
{% macro timestamp_from_epoch_seconds(seconds) -%}
    {{ return(adapter.dispatch('timestamp_from_epoch_seconds', 'aiusage')(seconds)) }}
{%- endmacro %}

{% macro default__timestamp_from_epoch_seconds(seconds) -%}
    cast(to_timestamp({{ seconds }}) as timestamp)
{%- endmacro %}

{% macro spark__timestamp_from_epoch_seconds(seconds) -%}
    timestamp_seconds({{ seconds }})
{%- endmacro %}

{#- Whole milliseconds from one timestamp to another. -#}
{% macro milliseconds_between(start_timestamp, end_timestamp) -%}
    {{ return(adapter.dispatch('milliseconds_between', 'aiusage')(
        start_timestamp, end_timestamp
    )) }}
{%- endmacro %}

{% macro default__milliseconds_between(start_timestamp, end_timestamp) -%}
    datediff('millisecond', {{ start_timestamp }}, {{ end_timestamp }})
{%- endmacro %}

{% macro spark__milliseconds_between(start_timestamp, end_timestamp) -%}
    timestampdiff(millisecond, {{ start_timestamp }}, {{ end_timestamp }})
{%- endmacro %}

{#- The latest acceptable event time: now (UTC) + var max_future_skew_hours. -#}
{% macro future_skew_limit() -%}
    {{ return(adapter.dispatch('future_skew_limit', 'aiusage')()) }}
{%- endmacro %}

{% macro default__future_skew_limit() -%}
    cast(now() as timestamp) + to_hours({{ var('max_future_skew_hours') }})
{%- endmacro %}

{% macro spark__future_skew_limit() -%}
    current_timestamp() + make_interval(0, 0, 0, 0, {{ var('max_future_skew_hours') }}, 0, 0)
{%- endmacro %}

{#- Calendar date of a UTC timestamp in the reporting time zone (var reporting_timezone). -#}
{% macro to_reporting_date(utc_timestamp_column) -%}
    {{ return(adapter.dispatch('to_reporting_date', 'aiusage')(utc_timestamp_column)) }}
{%- endmacro %}

{% macro default__to_reporting_date(utc_timestamp_column) -%}
    cast(
        timezone('{{ var("reporting_timezone") }}', timezone('UTC', {{ utc_timestamp_column }}))
        as date
    )
{%- endmacro %}

{% macro spark__to_reporting_date(utc_timestamp_column) -%}
    cast(from_utc_timestamp({{ utc_timestamp_column }}, '{{ var("reporting_timezone") }}') as date)
{%- endmacro %}

{#- Hour of day (0-23) of a UTC timestamp in the reporting time zone. -#}
{% macro to_reporting_hour(utc_timestamp_column) -%}
    {{ return(adapter.dispatch('to_reporting_hour', 'aiusage')(utc_timestamp_column)) }}
{%- endmacro %}

{% macro default__to_reporting_hour(utc_timestamp_column) -%}
    cast(extract(hour from
        timezone('{{ var("reporting_timezone") }}', timezone('UTC', {{ utc_timestamp_column }}))
    ) as integer)
{%- endmacro %}

{% macro spark__to_reporting_hour(utc_timestamp_column) -%}
    hour(from_utc_timestamp({{ utc_timestamp_column }}, '{{ var("reporting_timezone") }}'))
{%- endmacro %}

{#- One row per calendar day from start_date to end_date (both inclusive, SQL date
    expressions), column calendar_date. -#}
{% macro calendar_days(start_date, end_date) -%}
    {{ return(adapter.dispatch('calendar_days', 'aiusage')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__calendar_days(start_date, end_date) -%}
    select cast(d as date) as calendar_date
    from (
        select
            unnest(generate_series(
                cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day
            )) as d
    ) as days
{%- endmacro %}

{% macro spark__calendar_days(start_date, end_date) -%}
    select cast(d as date) as calendar_date
    from (
        select explode(sequence({{ start_date }}, {{ end_date }}, interval 1 day)) as d
    ) as days
{%- endmacro %}

{#- Whole days from one date to another (end - start). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'aiusage')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    datediff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- The time of day of a timestamp as HH:MM (24-hour). -#}
{% macro time_of_day(timestamp_expression) -%}
    {{ return(adapter.dispatch('time_of_day', 'aiusage')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__time_of_day(timestamp_expression) -%}
    strftime({{ timestamp_expression }}, '%H:%M')
{%- endmacro %}

{% macro spark__time_of_day(timestamp_expression) -%}
    date_format({{ timestamp_expression }}, 'HH:mm')
{%- endmacro %}

{#- English month and weekday names of a date. -#}
{% macro month_name(date_expression) -%}
    {{ return(adapter.dispatch('month_name', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__month_name(date_expression) -%}
    strftime({{ date_expression }}, '%B')
{%- endmacro %}

{% macro spark__month_name(date_expression) -%}
    date_format({{ date_expression }}, 'MMMM')
{%- endmacro %}

{% macro day_name(date_expression) -%}
    {{ return(adapter.dispatch('day_name', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__day_name(date_expression) -%}
    strftime({{ date_expression }}, '%A')
{%- endmacro %}

{% macro spark__day_name(date_expression) -%}
    date_format({{ date_expression }}, 'EEEE')
{%- endmacro %}

{#- ISO-8601 year, week number and day of week (1 = Monday .. 7 = Sunday) of a date. -#}
{% macro iso_year(date_expression) -%}
    {{ return(adapter.dispatch('iso_year', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_year(date_expression) -%}
    cast(isoyear({{ date_expression }}) as integer)
{%- endmacro %}

{% macro spark__iso_year(date_expression) -%}
    cast(extract(yearofweek from {{ date_expression }}) as integer)
{%- endmacro %}

{% macro iso_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_week', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_week(date_expression) -%}
    cast(week({{ date_expression }}) as integer)
{%- endmacro %}

{% macro spark__iso_week(date_expression) -%}
    cast(weekofyear({{ date_expression }}) as integer)
{%- endmacro %}

{% macro iso_day_of_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expression) -%}
    cast(extract(isodow from {{ date_expression }}) as integer)
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expression) -%}
    cast(extract(dayofweek_iso from {{ date_expression }}) as integer)
{%- endmacro %}
