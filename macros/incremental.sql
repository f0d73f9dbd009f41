{#-
    Landing-date cutoff for incremental refreshes, computed when the model compiles and
    inlined as a literal so DuckDB prunes landed files by their dt= folder before reading
    them (a subquery cutoff would not be pushed down to the file scan). The look-back
    window (var lookback_days) re-reads recent days for late and re-delivered files.
    A backfill (var backfill_start, YYYY-MM-DD, set by `aiusage build --start-date` or the
    Dagster launchpad) moves the cutoff back to that day; the days after it are re-read as
    well, so that the latest delivery of a request keeps winning the deduplication.
-#}
{% macro landing_cutoff_date(relation, column='landing_date') -%}
    {%- if not execute -%}{{ return("date '1900-01-01'") }}{%- endif -%}
    {%- set backfill_start = var('backfill_start', none) -%}
    {%- if backfill_start -%}
        {%- set backfill_start = modules.datetime.date.fromisoformat(backfill_start | string) -%}
    {%- endif -%}
    {%- set result = run_query(
        "select cast(max(" ~ column ~ ") as string) from " ~ relation
    ) -%}
    {%- set max_date = result.columns[0].values()[0] -%}
    {%- if max_date is none -%}
        {{ return("date '1900-01-01'") }}
    {%- endif -%}
    {%- set lookback = "(date '" ~ max_date ~ "' - " ~ var('lookback_days') ~ ")" -%}
    {%- if backfill_start -%}
        {{ return("least(date '" ~ backfill_start.isoformat() ~ "', " ~ lookback ~ ")") }}
    {%- endif -%}
    {{ return(lookback) }}
{%- endmacro %}
