{#-
    Engine-specific incremental strategies (default__ = DuckDB, spark__ = Spark).
    DuckDB replaces the refreshed keys (delete+insert on unique_key). Spark without Delta
    Lake has no delete: its incremental models are parquet tables partitioned by the day
    column that the refresh recomputes whole (partition_column), and insert_overwrite
    replaces exactly those partitions. A model whose refresh cannot be expressed as whole
    partitions (deduplication across landing days) is rebuilt as a table on Spark
    (incremental_materialization(false)).
-#}

{#- The config of a model that a refresh recomputes by whole days of `day_column`
    (landing_date or usage_date): incremental, the refreshed days replaced. A model calls
    config(**incremental_by_day('usage_date')). -#}
{#- A model by usage day also gets the post-hook of macro remove_usage_days_without_requests:
    the merge replaces the days its rows name, and a refreshed usage day left without any
    request (its requests withdrawn from the request fact) names none. -#}
{% macro incremental_by_day(day_column) -%}
    {%- set config = {
        'materialized': 'incremental',
        'incremental_strategy': incremental_strategy(),
        'partition_by': incremental_partition_by(day_column),
        'unique_key': day_column,
        'on_schema_change': 'fail',
    } -%}
    {%- if day_column == 'usage_date' -%}
        {%- do config.update({'post_hook': '{{ remove_usage_days_without_requests() }}'}) -%}
    {%- endif -%}
    {{ return(config) }}
{%- endmacro %}

{#- The config of a staging model that reads only the landed files it has not read
    (macro landed_files_to_read) and replaces the rows of those files: delete+insert by
    source_file on DuckDB, with a post-hook that records the files read (macro
    record_landed_files_read); on Spark (no delete) the landing days holding such a file
    are re-read whole and their partitions replaced. -#}
{% macro incremental_by_file() -%}
    {{ return(adapter.dispatch('incremental_by_file', 'aiusage')()) }}
{%- endmacro %}

{% macro default__incremental_by_file() -%}
    {%- set config = {
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'source_file',
        'on_schema_change': 'fail',
    } -%}
    {%- if target.name == 'duckdb' -%}
        {%- do config.update({'database': 'staging'}) -%}
    {%- endif -%}
    {%- do config.update({'post_hook': '{{ record_landed_files_read() }}'}) -%}
    {{ return(config) }}
{%- endmacro %}

{% macro spark__incremental_by_file() -%}
    {{ return(incremental_by_day('landing_date')) }}
{%- endmacro %}

{#- The config of a model refreshed by unique key over its landing window, whose refresh
    cannot be expressed as whole partitions (deduplication across landing days): merged by
    key on DuckDB, rebuilt as a table on Spark. -#}
{% macro incremental_by_key(unique_key) -%}
    {{ return({
        'materialized': incremental_materialization(by_partition=false),
        'incremental_strategy': incremental_strategy(),
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro incremental_materialization(by_partition=true) -%}
    {{ return(adapter.dispatch('incremental_materialization', 'aiusage')(by_partition)) }}
{%- endmacro %}

{% macro default__incremental_materialization(by_partition) -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_materialization(by_partition) -%}
    {{ return('incremental' if by_partition else 'table') }}
{%- endmacro %}

{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'aiusage')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro incremental_partition_by(partition_column) -%}
    {{ return(adapter.dispatch('incremental_partition_by', 'aiusage')(partition_column)) }}
{%- endmacro %}

{% macro default__incremental_partition_by(partition_column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__incremental_partition_by(partition_column) -%}
    {{ return([partition_column]) }}
{%- endmacro %}

{#- A mart kept as a view: a view on DuckDB, a table on Spark (the parity build reads every
    mart from its files). -#}
{% macro view_materialization() -%}
    {{ return(adapter.dispatch('view_materialization', 'aiusage')()) }}
{%- endmacro %}

{% macro default__view_materialization() -%}
    {{ return('view') }}
{%- endmacro %}

{% macro spark__view_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- A roll-up of fct_daily_usage that only BI tools and analysts read: a view on DuckDB (a
    sum over the daily mart costs nothing to keep current, and its snapshot copy is a
    table), a table on Spark (macro view_materialization). -#}
{% macro rollup_materialization() -%}
    {{ return(view_materialization()) }}
{%- endmacro %}
