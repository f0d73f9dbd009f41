{#- What an incremental refresh recomputes: the landing days of its look-back window (or a
    backfill), and the usage days those landing days touched. -#}

{#-
    Landing-date cutoff for incremental refreshes, computed when the model runs and inlined
    as a literal (a subquery cutoff would not be pushed down to scans; the landed files
    themselves are chosen by landed_files_to_read, macros/engine/landing.sql): the latest
    landing_date in `relation` minus var lookback_days, so that late events and
    re-delivered files are re-read. A backfill (var backfill_start, YYYY-MM-DD, set by
    `aiusage build --start-date` or the Dagster launchpad) moves the cutoff back to that
    day; the days after it are re-read as well, so that the latest delivery of a request
    keeps winning the deduplication.
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

{#-
    The usage days touched by this refresh, as a predicate on `column` for the incremental
    models of usage days (fct_daily_usage and the reports that read the request fact):
    `true` on a full build; on a refresh, `column in (...)` the usage days of the requests
    that fct_llm_requests (re)loaded from the landing days of its look-back window, so the
    model recomputes exactly those days and replaces them (`false` when there are none).
    The days are computed when the model runs and inlined as literals, so the scan of the
    request fact is bounded. The calling model refs fct_llm_requests itself.
-#}
{% macro touched_usage_days(column='usage_date') -%}
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

{#- The rows of this refresh's landing window, as a predicate on `column` for an
    incremental model that re-reads its landing window: `true` on a full build, else
    `column >= landing_cutoff_date(this)`. -#}
{% macro in_landing_window(column='landing_date') -%}
    {%- if not is_incremental() -%}
        {{ return('true') }}
    {%- endif -%}
    {{ return(column ~ ' >= ' ~ landing_cutoff_date(this)) }}
{%- endmacro %}

{#- The deliveries of one record (request or usage bucket), latest first: the latest
    delivery wins (landing day, then file, then line), in the facts and the accounting. -#}
{% macro latest_delivery_first() -%}
    landing_date desc, source_file desc, line_number desc
{%- endmacro %}
