{#-
    Pre-hook of int_sessions_windowed (incremental; nothing on a full build or on Spark,
    where it is a table): finds the sessions whose row a refresh can change or add, keeps
    them in a temporary table (macro sessions_to_recompute, on the model's connection) and
    deletes their stored rows; the model then computes exactly those sessions' rows. A
    session's row depends only on its days in the window (int_daily_sessions_summed, one
    row per session and usage day) and on the window's bounds. So the sessions recomputed
    are
      - those with a day in the window among the usage days this refresh touched (macro
        touched_usage_day_list: the days it recomputed in int_daily_sessions_summed): the
        new sessions, and the stored ones with a new or changed day;
      - the stored sessions whose stored days span a touched day (a day that lost the
        session's last request);
      - those with a day in the window before the first stored usage day or after the last
        stored one (the window moved back, or a new day);
      - the stored sessions whose first day is no longer in the window or whose last day is
        after its end (the window moved on: they leave, or keep fewer days).
    Every session of the window when nothing is stored, or when the code of a model, a
    seed or a var changed since the last run (whole_on_input_change): everything is
    recomputed. Any other session of the window is stored and unchanged: the last run
    computed every session of its window, and a session's days change only on touched days.
    The set is bounded by the refresh's days, not by the window's 1M sessions at 10M events
    (docs/performance.md, fortieth round), where the model read every windowed day against
    every stored session before.
-#}
{% macro delete_window_sessions_to_recompute() -%}
    {%- if not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set days = touched_usage_day_list(whole_on_input_change=true) -%}
    {%- set window_start -%}
        (select max(usage_date) from {{ ref('fct_llm_requests') }})
        - {{ var('analysis_window_days') }} + 1
    {%- endset -%}
    create or replace temporary table {{ sessions_to_recompute() }} as
    select touched.session_id
    from {{ ref('int_daily_sessions_summed') }} as touched
    where
        touched.usage_date >= {{ window_start }}
    {%- if days is not none %}
        and (
            {{ usage_days_in('touched.usage_date', days) }}
            or not exists (select 1 from {{ this }})
            or touched.usage_date < (select min(stored.usage_date) from {{ this }} as stored)
            or touched.usage_date
            > (select max(stored.last_usage_date) from {{ this }} as stored)
        )
    union
    select session_id
    from {{ this }}
    where
        usage_date < {{ window_start }}
        or last_usage_date >= {{ window_start }} + {{ var('analysis_window_days') }}
        {%- for day in days %}
        or (usage_date <= date '{{ day }}' and last_usage_date >= date '{{ day }}')
        {%- endfor %}
    {%- endif %};
    delete from {{ this }}
    {%- if days is not none %}
    where session_id in (select recompute.session_id from {{ sessions_to_recompute() }} as recompute)
    {%- endif %}
{%- endmacro %}

{#- The temporary table of the sessions int_sessions_windowed recomputes in this run (macro
    delete_window_sessions_to_recompute, its pre-hook, fills it on the model's
    connection). -#}
{% macro sessions_to_recompute() -%}
    {{ return(adapter.quote(this.identifier ~ '__recompute')) }}
{%- endmacro %}
