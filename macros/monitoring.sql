{#-
    Helpers of the monitoring marts (budgets, performance, anomalies, alerts).
    Engine-specific SQL goes through adapter.dispatch: default__ is standard SQL, other
    engines override (duckdb__ where DuckDB has a faster or simpler form).
-#}

{#- The as-of day of the monitoring marts: var as_of_date when set, otherwise the last
    usage_date in `daily_relation` (a relation or an import CTE name). Never the clock,
    so the same data always gives the same marts. -#}
{% macro monitoring_as_of_date(daily_relation) -%}
    {%- if var('as_of_date', none) -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select max(usage_date) from {{ daily_relation }})
    {%- endif -%}
{%- endmacro %}

{#- Continuous percentile (linear interpolation) of `column` at fraction `fraction`. -#}
{% macro percentile_cont(column, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'aiusage')(column, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(column, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}

{% macro duckdb__percentile_cont(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{#- One row per calendar day from start_date to end_date (both inclusive, SQL date
    expressions), column calendar_date. -#}
{% macro calendar_days(start_date, end_date) -%}
    {{ return(adapter.dispatch('calendar_days', 'aiusage')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__calendar_days(start_date, end_date) -%}
    select cast(d as date) as calendar_date
    from (select explode(sequence({{ start_date }}, {{ end_date }}, interval 1 day)) as d)
{%- endmacro %}

{% macro duckdb__calendar_days(start_date, end_date) -%}
    select cast(d as date) as calendar_date
    from (
        select unnest(generate_series(
            cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day
        )) as d
    )
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

{#- Day of week, 1 = Monday .. 7 = Sunday (ISO). -#}
{% macro iso_day_of_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expression) -%}
    cast(extract(isodow from {{ date_expression }}) as integer)
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expression) -%}
    cast(extract(dayofweek_iso from {{ date_expression }}) as integer)
{%- endmacro %}

{#-
    Incremental models that must read the request fact (percentiles, error types):
    a predicate on `column` that keeps exactly the usage days touched by the landing days
    fct_llm_requests just re-read (its look-back window), as fct_daily_usage does. Full
    builds get `true`. The days are inlined as literals so the scan is bounded.
-#}
{% macro touched_usage_days_predicate(column='usage_date') -%}
    {%- if not is_incremental() -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set touched_days = [] -%}
    {%- if execute -%}
        {%- set days_query -%}
            select distinct cast(usage_date as string)
            from {{ ref('fct_llm_requests') }}
            where landing_date >= {{ landing_cutoff_date(ref('fct_llm_requests')) }}
            order by 1
        {%- endset -%}
        {%- set touched_days = run_query(days_query).columns[0].values() -%}
    {%- endif -%}
    {%- if touched_days | length == 0 -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for day in touched_days -%}{%- do literals.append("date '" ~ day ~ "'") -%}{%- endfor -%}
    {{ return(column ~ ' in (' ~ literals | join(', ') ~ ')') }}
{%- endmacro %}

{#- Budget status of a utilization ratio (spend / limit). -#}
{% macro budget_status(utilization) -%}
    case
        when {{ utilization }} >= 1 then 'over'
        when {{ utilization }} >= {{ var('budget_critical_utilization') }} then 'critical'
        when {{ utilization }} >= {{ var('budget_warning_utilization') }} then 'warning'
        else 'ok'
    end
{%- endmacro %}
