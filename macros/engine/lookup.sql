{#- Engine-specific SQL, finding a few rows of a large table by key (default__ = DuckDB,
    spark__ = Spark; see landing.sql). -#}

{#- A filter on `relation` (aliased `alias` in the query, or unaliased) that keeps its rows
    whose `key_column` is among the values of column `keys_column` of the CTE `keys`: a refresh reading the
    deliveries of its batch's records among every landed row (fct_landed_rows).
    On DuckDB the rows are found by row id in a query of the key column alone, then read:
    a filter `key in (...)` on the query that reads the other columns makes DuckDB decode
    every one of them for every row of the table (10M landed rows: 0.76 s for four
    columns); the key-only scan is filtered by the keys' Bloom filter and decodes the other
    columns of the matched rows only (0.3 s). When `keys` is empty DuckDB
    skips the scan. On Spark (no row id) it is the plain filter. -#}
{% macro rows_with_keys(relation, key_column, keys, keys_column, alias=none) -%}
    {{ return(adapter.dispatch('rows_with_keys', 'aiusage')(
        relation, key_column, keys, keys_column, alias
    )) }}
{%- endmacro %}

{% macro default__rows_with_keys(relation, key_column, keys, keys_column, alias) -%}
    {{ alias ~ '.' if alias }}rowid in (
        select rowid from {{ relation }}
        where {{ key_column }} in (select {{ keys }}.{{ keys_column }} from {{ keys }})
    )
{%- endmacro %}

{% macro spark__rows_with_keys(relation, key_column, keys, keys_column, alias) -%}
    {{ alias ~ '.' if alias }}{{ key_column }} in (select {{ keys }}.{{ keys_column }} from {{ keys }})
{%- endmacro %}
