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
