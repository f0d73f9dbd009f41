{#-
    dbt wraps a test's relation in get_where_subquery to apply the test's `where` config;
    overriding it is dbt's documented way to give `where` custom logic (the where config
    cannot call ref() or run a query). Here the placeholder __landing_window__ in a where
    config stands for the landing days the tested relation's latest refresh rewrote
    (macro tested_landing_window), computed when the test runs.

    Used by the unique and primary_key tests of keys that a refresh can only break in the
    rows it rewrites: the staging keys (md5(file | line): a refresh replaces whole files;
    the views over staging are not tested again, fct_landed_rows holds their keys),
    fct_landed_rows (it replaces whole landing days), int_provider_usage_buckets_priced
    (fct_provider_usage keeps one delivery per bucket, which would hide a price join that
    repeated one) and fct_llm_requests (a merge by key: the rows it deletes are those of
    the keys it inserts). Testing those rows keeps the test's cost proportional to the
    refresh, not to the history (older days were tested by the refreshes that wrote them,
    null keys included); a full build tests every row.

    The placeholder __usage_window__ stands for the usage days the tested model's latest
    run replaced (macro tested_usage_window), for a model incremental by usage day that
    recomputes exactly the days touched_usage_days gives it (int_daily_sessions_summed): its
    key can only repeat within the days it replaced.

    The placeholder __recomputed_sessions__ stands for the sessions int_sessions_windowed's
    latest refresh recomputed (macro tested_recomputed_sessions): the rows it inserted are
    those sessions, and it deleted their stored rows first, so a repeated session_id is one
    of them.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__landing_window__' in where -%}
        {%- set where = where | replace('__landing_window__', tested_landing_window(relation)) -%}
    {%- endif -%}
    {%- if where and '__usage_window__' in where -%}
        {%- set where = where | replace('__usage_window__', tested_usage_window(relation)) -%}
    {%- endif -%}
    {%- if where and '__recomputed_sessions__' in where -%}
        {%- set where = where | replace(
            '__recomputed_sessions__', tested_recomputed_sessions(relation)
        ) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) as dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- Whether a windowed test reads only the rows the latest refresh rewrote: not in a
    compile alone, a full refresh, or before the run log exists (a first build). -#}
{% macro tests_read_refreshed_rows() -%}
    {{ return(execute and not flags.FULL_REFRESH and landing_watermarks_exist()) }}
{%- endmacro %}

{#- The landing-day cutoff the latest run of model `name` logged (macro
    record_landing_watermark), as an ISO date; none when it has no run logged or its run
    rewrote every day. -#}
{% macro logged_cutoff(name) -%}
    {%- set watermark = landing_watermark(name) -%}
    {{ return(watermark['cutoff_date'] if watermark else none) }}
{%- endmacro %}

{#- The rows of `relation` that its latest refresh rewrote, as a predicate: every row
    (`true`) on a full refresh or a first build; for an incremental model downstream of
    staging, the landing days from the cutoff its last run recorded (macro
    record_landing_watermark); for a staging model or a view over staging, the landing days
    of the latest load (the staging rows stamped with the latest loaded_at: this run's, or
    the last run's when this one loaded nothing; every row after a first build). -#}
{% macro tested_landing_window(relation) -%}
    {{ return(adapter.dispatch('tested_landing_window', 'aiusage')(relation)) }}
{%- endmacro %}

{% macro default__tested_landing_window(relation) -%}
    {%- if not tests_read_refreshed_rows() -%}{{ return('true') }}{%- endif -%}
    {%- set windowed = (graph.get('nodes') or {}).values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('alias', 'equalto', relation.identifier)
        | selectattr('config.materialized', 'equalto', 'incremental')
        | rejectattr('fqn.1', 'equalto', 'staging')
        | list -%}
    {%- if windowed -%}
        {%- set first_day = logged_cutoff(relation.identifier) -%}
    {%- else -%}
        {#- the staging rows written twice, not a CTE read twice (materialised) -#}
        {%- set query -%}
            select cast(min(stored.landing_date) as string)
            from ({{ landing_rows_sql() }}) as stored
            where stored.loaded_at = (
                select max(latest.loaded_at) from ({{ landing_rows_sql() }}) as latest
            )
        {%- endset -%}
        {%- set first_day = run_query(query).rows[0][0] -%}
    {%- endif -%}
    {%- if first_day is none -%}{{ return('true') }}{%- endif -%}
    {{ return("landing_date >= date '" ~ first_day ~ "'") }}
{%- endmacro %}

{#- Spark: the look-back window before the relation's latest landing day. -#}
{% macro spark__tested_landing_window(relation) -%}
    {{ return('landing_date >= ' ~ landing_cutoff_date(relation)) }}
{%- endmacro %}

{#- The usage days that the latest run of `relation` replaced, as a predicate on usage_date,
    for a model incremental by usage day through macro touched_usage_days (not one that
    rewrites every day when its inputs change, whole_on_input_change): every row (`true`) on
    a full refresh, a first build, or when its run logged no cutoff (it rewrote every day);
    otherwise the usage days of the request fact's rows from the landing-day cutoff its run
    logged: the days touched_usage_day_list gave it (its ancestors do not change after it
    ran). `false` when it replaced none. The request fact is found in the graph, not by
    ref(): a test's refs are fixed when it is parsed. -#}
{% macro tested_usage_window(relation) -%}
    {{ return(adapter.dispatch('tested_usage_window', 'aiusage')(relation)) }}
{%- endmacro %}

{% macro default__tested_usage_window(relation) -%}
    {%- if not tests_read_refreshed_rows() -%}{{ return('true') }}{%- endif -%}
    {%- set cutoff = logged_cutoff(relation.identifier) -%}
    {%- if cutoff is none -%}{{ return('true') }}{%- endif -%}
    {%- set fact = (graph.get('nodes') or {}).values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', 'fct_llm_requests')
        | first -%}
    {%- set days = usage_days_loaded_since(
        api.Relation.create(database=fact.database, schema=fact.schema, identifier=fact.alias),
        "date '" ~ cutoff ~ "'"
    ) -%}
    {{ return(usage_days_in('usage_date', days)) }}
{%- endmacro %}

{#- Spark keeps no run log: every row. -#}
{% macro spark__tested_usage_window(relation) -%}
    {{ return('true') }}
{%- endmacro %}

{#- The sessions of `relation` (int_sessions_windowed) that its latest refresh recomputed,
    as a predicate on session_id: those its pre-hook logged (macro recomputed_sessions_log).
    Every row (`true`) on a full refresh, a first build, or when there is no log (the model
    was last built whole, which drops it). -#}
{% macro tested_recomputed_sessions(relation) -%}
    {{ return(adapter.dispatch('tested_recomputed_sessions', 'aiusage')(relation)) }}
{%- endmacro %}

{% macro default__tested_recomputed_sessions(relation) -%}
    {%- if not tests_read_refreshed_rows() -%}{{ return('true') }}{%- endif -%}
    {%- set log = recomputed_sessions_log(relation) -%}
    {#- the catalog, not dbt's relation cache: a build whole drops the log by its pre-hook's
        SQL, which the cache of that dbt invocation does not see -#}
    {%- set exists_query -%}
        select count(*) from duckdb_tables()
        where database_name = '{{ log.database }}' and schema_name = '{{ log.schema }}'
            and table_name = '{{ log.identifier }}'
    {%- endset -%}
    {%- if run_query(exists_query).rows[0][0] == 0 -%}{{ return('true') }}{%- endif -%}
    {{ return('session_id in (select logged.session_id from ' ~ log ~ ' as logged)') }}
{%- endmacro %}

{#- Spark: int_sessions_windowed is rebuilt whole on every run: every row. -#}
{% macro spark__tested_recomputed_sessions(relation) -%}
    {{ return('true') }}
{%- endmacro %}
