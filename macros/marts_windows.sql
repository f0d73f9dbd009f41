{#-
    Helpers shared by the report marts.

    usage_days_touched(): the usage days whose requests fct_llm_requests (re)loaded in
    this refresh (its landing look-back window), as a list of 'YYYY-MM-DD' strings,
    computed at compile time; an incremental report model recomputes exactly these days.

    in_usage_days(days): a SQL predicate `usage_date in (...)` for that list.
-#}
{% macro usage_days_touched() -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set days_query -%}
        select distinct cast(usage_date as string)
        from {{ ref('fct_llm_requests') }}
        where landing_date >= {{ landing_cutoff_date(ref('fct_llm_requests')) }}
        order by 1
    {%- endset -%}
    {{ return(run_query(days_query).columns[0].values()) }}
{%- endmacro %}

{% macro in_usage_days(days, column='usage_date') -%}
    {{ column }} in (
        {%- for day in days %}date '{{ day }}'{{ ", " if not loop.last }}{% endfor -%}
        {%- if days | length == 0 %}null{% endif -%}
    )
{%- endmacro %}
