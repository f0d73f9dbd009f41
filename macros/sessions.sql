{#-
    Pre-hook of int_sessions_windowed (incremental; nothing on a full build or on Spark,
    where it is a table): deletes the stored sessions whose row a refresh can change, which
    the model then recomputes with the new ones (every session of the window not stored).
    A session's row depends only on its days in the window (int_daily_sessions_summed, one
    row per session and usage day) and on the window's bounds. So the stored sessions
    deleted are those
      - that have a day in the window among the usage days this refresh touched (macro
        touched_usage_day_list: the days it recomputed in int_daily_sessions_summed), or
        whose stored days span one of them (a day that lost the session's last request);
      - that have a day in the window before the first stored usage day or after the last
        stored one (the window moved back, or a new day);
      - whose first day is no longer in the window or whose last day is after its end (the
        window moved on: they leave, or keep fewer days).
    Every stored session when the code of a model, a seed or a var changed since the last
    run (whole_on_input_change): everything is recomputed.
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
    delete from {{ this }}
    {%- if days is not none %}
        where
            usage_date < {{ window_start }}
            or last_usage_date >= {{ window_start }} + {{ var('analysis_window_days') }}
            or session_id in (
                select touched.session_id
                from {{ ref('int_daily_sessions_summed') }} as touched
                where
                    touched.usage_date >= {{ window_start }}
                    and (
                        {{ usage_days_in('touched.usage_date', days) }}
                        or touched.usage_date < (select min(stored.usage_date) from {{ this }} as stored)
                        or touched.usage_date
                        > (select max(stored.last_usage_date) from {{ this }} as stored)
                    )
            )
            {%- for day in days %}
                or (usage_date <= date '{{ day }}' and last_usage_date >= date '{{ day }}')
            {%- endfor %}
    {%- endif %}
{%- endmacro %}
