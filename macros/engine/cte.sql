{#- The keyword that makes a CTE read by several parts of a query inlined into each of
    them instead of computed once: `not materialized` on DuckDB, nothing on Spark (its
    planner inlines CTEs). DuckDB materialises a CTE read more than once, every column of
    every row it yields, before any reader's filter or projection applies: a window of the
    request fact read three times (rpt_savings_opportunities: 3.0M requests at 10M events,
    0.25-0.29 s of the model alone) costs less as three scans, each of its own rows and
    columns (0.11 s; docs/performance.md, forty-first round). Every CTE such a CTE reads
    needs it too, or DuckDB materialises that one instead (the window's `requests`, the whole
    fact). Use: `name as {{ inlined_cte() }} (...)`. -#}
{% macro inlined_cte() -%}
    {{ return(adapter.dispatch('inlined_cte', 'aiusage')()) }}
{%- endmacro %}

{% macro default__inlined_cte() -%}
    {{ return('not materialized') }}
{%- endmacro %}

{% macro spark__inlined_cte() -%}
    {{ return('') }}
{%- endmacro %}
