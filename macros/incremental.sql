{#-
    Landing-date cutoff for incremental refreshes, computed when the model compiles and
    inlined as a literal so DuckDB prunes landed files by their dt= folder before reading
    them (a subquery cutoff would not be pushed down to the file scan). The look-back
    window (var lookback_days) re-reads recent days for late and re-delivered files.
-#}
{% macro landing_cutoff_date(relation, column='landing_date') -%}
    {%- if not execute -%}{{ return("date '1900-01-01'") }}{%- endif -%}
    {%- set result = run_query(
        "select cast(max(" ~ column ~ ") as varchar) from " ~ relation
    ) -%}
    {%- set max_date = result.columns[0].values()[0] -%}
    {%- if max_date is none -%}
        {{ return("date '1900-01-01'") }}
    {%- endif -%}
    {{ return("(date '" ~ max_date ~ "' - " ~ var('lookback_days') ~ ")") }}
{%- endmacro %}
