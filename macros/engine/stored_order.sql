{#- The ORDER BY that stores a table's rows grouped by `column`, for a table whose refreshes
    delete its oldest days (int_sessions_windowed: the sessions that leave its trailing
    window). DuckDB writes the rows of a `create table as` or an `insert ... select` in the
    query's ORDER BY, preserve_insertion_order off or not, and appends each refresh's rows
    after them, so a day's rows sit in one or two row groups. In the order a hash aggregate
    yields them, a day's rows sit in every row group: the delete thins them all, and the
    next checkpoints merge them again (DuckDB's vacuum), a rewrite of the whole table. At
    10M events publish's checkpoint wrote 19.9 MB of the snapshot's copy in 0.39-0.43 s
    against 0.7 MB in 0.01 s with the rows grouped by day (docs/performance.md,
    forty-third round). Nothing on Spark, which rewrites that table whole on every run.
    Use: after the model's final select. -#}
{% macro stored_in_order_of(column) -%}
    {{ return(adapter.dispatch('stored_in_order_of', 'aiusage')(column)) }}
{%- endmacro %}

{% macro default__stored_in_order_of(column) -%}
    {{ return('order by ' ~ column) }}
{%- endmacro %}

{% macro spark__stored_in_order_of(column) -%}
    {{ return('') }}
{%- endmacro %}
