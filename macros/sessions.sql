{#-
    Pre-hook of int_sessions_windowed (incremental; on a full build, and on Spark where it
    is a table, it only drops the log below): finds the sessions whose row a refresh can
    change or add, keeps them in a temporary table (macro sessions_to_recompute, on the
    model's connection) with
    the usage days their rows are computed from (sessions_to_recompute('days')), and
    deletes their stored rows; the model then computes exactly those sessions' rows from
    those days. A session's row depends only on its days in the window
    (int_daily_sessions_summed, one row per session and usage day) and on the window's
    bounds. So the sessions recomputed are
      - those with a day in the window among the usage days this refresh touched (macro
        touched_usage_day_list: the days it recomputed in int_daily_sessions_summed): the
        new sessions, and the stored ones with a new or changed day;
      - the stored sessions whose stored days span a touched day (a day that lost the
        session's last request);
      - those with a day in the window before the first stored usage day or after the last
        stored one (the window moved back, or a new day);
      - the stored sessions whose first day is no longer in the window or whose last day is
        after its end (the window moved on: they leave, or keep fewer days).
    Their days: the days of the first and third kinds found above, and every day in the
    window of a recomputed session's stored range (usage_date to last_usage_date). No other
    day can hold one of their rows: the last run computed every session of its window, and
    a session's days change only on touched days or outside the stored range.
    Every session and day of the window when nothing is stored, or when the code of a
    model, a seed or a var changed since the last run (whole_on_input_change): everything
    is recomputed. Any other session of the window is stored and unchanged.
    The sessions recomputed are also kept in the table `<model>__recomputed` (macro
    recomputed_sessions_log; replaced by each incremental run, dropped by a build whole),
    which the model's key test reads (__recomputed_sessions__, tested_recomputed_sessions).
    The window's bounds and the stored range are read first and inlined as literals, so
    the scans of int_daily_sessions_summed keep to the touched days (zone maps) and the
    model reads only the recomputed sessions' days: bounded by the refresh, not by the
    window's 1M sessions at 10M events (docs/performance.md, fortieth and forty-first
    rounds).
-#}
{% macro delete_window_sessions_to_recompute() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- if not is_incremental() -%}
        {#- built whole: no earlier run's log may stand for this build's rows -#}
        {{ return('drop table if exists ' ~ recomputed_sessions_log(this)) }}
    {%- endif -%}
    {%- set days = touched_usage_day_list(whole_on_input_change=true) -%}
    {%- set bounds_query -%}
        select
            cast(requested.window_start_date as string),
            cast(requested.window_end_date as string),
            cast(stored.first_usage_date as string),
            cast(stored.last_usage_date as string)
        from (
            select
                max(usage_date) - {{ var('analysis_window_days') }} + 1 as window_start_date,
                max(usage_date) as window_end_date
            from {{ ref('fct_llm_requests') }}
        ) as requested
        cross join (
            select
                min(usage_date) as first_usage_date,
                max(last_usage_date) as last_usage_date
            from {{ this }}
        ) as stored
    {%- endset -%}
    {%- set bounds = run_query(bounds_query).rows[0] -%}
    {%- set window_start = typed_literal(bounds[0], 'date') -%}
    {%- set window_end = typed_literal(bounds[1], 'date') -%}
    {%- set whole = days is none or bounds[0] is none or bounds[2] is none -%}
    {#- the sessions, each with the touched day that brought it in (null: a stored session
        the window's move or a touched day inside its range brought in) #}
    create or replace temporary table {{ sessions_to_recompute() }} as
    select touched.session_id, touched.usage_date
    from {{ ref('int_daily_sessions_summed') }} as touched
    where
        touched.usage_date >= {{ window_start }}
        {%- if not whole %}
        and (
            {{ usage_days_in('touched.usage_date', days) }}
            or touched.usage_date < {{ typed_literal(bounds[2], 'date') }}
            or touched.usage_date > {{ typed_literal(bounds[3], 'date') }}
        )
    union
    select stored.session_id, cast(null as date)
    from {{ this }} as stored
    where
        stored.usage_date < {{ window_start }}
        or stored.last_usage_date > {{ window_end }}
        {%- for day in days %}
        or (stored.usage_date <= date '{{ day }}' and stored.last_usage_date >= date '{{ day }}')
        {%- endfor %}
        {%- endif %};
    create or replace temporary table {{ sessions_to_recompute('days') }} as
    select distinct recompute.usage_date
    from {{ sessions_to_recompute() }} as recompute
    where recompute.usage_date is not null
    {%- if not whole %}
    union
    select cast(unnest(generate_series(
        greatest(stored.usage_date, {{ window_start }}),
        least(stored.last_usage_date, {{ window_end }}),
        interval 1 day
    )) as date)
    from {{ this }} as stored
    where stored.session_id in (
        select recompute.session_id from {{ sessions_to_recompute() }} as recompute
    )
    {%- endif %};
    create or replace table {{ recomputed_sessions_log(this) }} as
    select distinct recompute.session_id from {{ sessions_to_recompute() }} as recompute;
    delete from {{ this }}
    {%- if not whole %}
    where session_id in (select recompute.session_id from {{ sessions_to_recompute() }} as recompute)
    {%- endif %}
{%- endmacro %}

{#- The temporary tables of int_sessions_windowed's recomputation in this run (macro
    delete_window_sessions_to_recompute, its pre-hook, fills them on the model's
    connection): the sessions (session_id, with the touched day that brought each in, or
    null), or with `part='days'` the usage days their rows are computed from. -#}
{% macro sessions_to_recompute(part='sessions') -%}
    {{ return(adapter.quote(
        this.identifier ~ ('__recompute' if part == 'sessions' else '__recompute_' ~ part)
    )) }}
{%- endmacro %}

{#- The table beside int_sessions_windowed that keeps the sessions its latest incremental run
    recomputed (session_id), written by its pre-hook (delete_window_sessions_to_recompute);
    none after a build whole. -#}
{% macro recomputed_sessions_log(relation) -%}
    {{ return(side_table(relation, 'recomputed')) }}
{%- endmacro %}
