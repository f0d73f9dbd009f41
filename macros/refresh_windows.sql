{#- What an incremental refresh recomputes: the landing days of the rows loaded since each
    model's last run (or a backfill), and the usage days those landing days touched. -#}

{#-
    What a refresh re-reads downstream of staging. Every staging row carries loaded_at, when
    the run that read its file started (macro landing_load_stamp); every incremental model
    downstream of staging records, in the same transaction as its rows, how far it has read
    (table aiusage_landing_watermarks: the latest loaded_at of the staging tables when it ran,
    and the first landing day it rewrote). A refresh of such a model re-reads the landing
    days from the earliest landing day of the rows loaded since its own last run: one day for
    a new day, the day of a re-delivered old file and every day after it (the latest delivery
    of a request must keep winning its deduplication, so the window is always a suffix of the
    landing days), nothing when nothing was loaded. When the model's code, or the code or
    content of a model or seed upstream of it, changed since its last run (a price seed, a
    model's logic: dbt's checksums, recorded with the watermark), the window reaches back
    at least var lookback_days before the latest landing day, as every refresh did before
    the watermarks. A run that fails records nothing, so the next one re-reads what it
    missed. Spark keeps the look-back window (var lookback_days before the latest landing
    day).
-#}

{#- The table of the incremental models' watermarks (created by on-run-start). -#}
{% macro landing_watermarks_relation() -%}
    {{ return(api.Relation.create(
        database=target.database, schema=target.schema, identifier='aiusage_landing_watermarks'
    )) }}
{%- endmacro %}

{% macro create_landing_watermarks() -%}
    {{ return(adapter.dispatch('create_landing_watermarks', 'aiusage')()) }}
{%- endmacro %}

{% macro default__create_landing_watermarks() -%}
    create table if not exists {{ landing_watermarks_relation() }} (
        model_name varchar primary key,
        loaded_through timestamp,
        cutoff_date date,
        inputs_fingerprint varchar
    )
{%- endmacro %}

{% macro spark__create_landing_watermarks() -%}
{%- endmacro %}

{#- The staging tables that carry loaded_at (every model under models/staging once built;
    none in a dbt unit test, which has no graph). -#}
{% macro landing_staging_relations() -%}
    {%- set names = [] -%}
    {%- for node in (graph.get('nodes') or {}).values() | sort(attribute='unique_id') -%}
        {%- if node.resource_type == 'model' and node.fqn[1] == 'staging' -%}
            {%- do names.append(node.alias) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set query -%}
        select table_name from information_schema.columns
        where
            table_schema = '{{ target.schema }}'
            and column_name = 'loaded_at'
            and table_name in ('{{ names | join("', '") }}')
        order by table_name
    {%- endset -%}
    {%- set relations = [] -%}
    {%- if names | length == 0 -%}{{ return(relations) }}{%- endif -%}
    {%- for name in run_query(query).columns[0].values() -%}
        {%- do relations.append(api.Relation.create(
            database=target.database, schema=target.schema, identifier=name
        )) -%}
    {%- endfor -%}
    {{ return(relations) }}
{%- endmacro %}

{#- The first and last landing days and the latest loaded_at of the staging rows that match
    `predicate` (strings, none when no row matches). -#}
{% macro landing_rows_loaded(predicate) -%}
    {%- set relations = landing_staging_relations() -%}
    {%- if relations | length == 0 -%}
        {{ return({'first_day': none, 'last_day': none, 'loaded_through': none}) }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for relation in relations -%}
        {%- do parts.append(
            "select min(landing_date) as first_day, max(landing_date) as last_day,"
            ~ " max(loaded_at) as loaded_through from " ~ relation ~ " where " ~ predicate
        ) -%}
    {%- endfor -%}
    {%- set query -%}
        select
            cast(min(first_day) as string),
            cast(max(last_day) as string),
            cast(max(loaded_through) as string)
        from ({{ parts | join(' union all ') }}) as loaded
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {{ return({'first_day': row[0], 'last_day': row[1], 'loaded_through': row[2]}) }}
{%- endmacro %}

{#- What the model `node` computes its rows from besides the landed rows: dbt's checksums
    of its own code and of every model and seed upstream of it, as one md5. -#}
{% macro landing_inputs_fingerprint(node) -%}
    {%- set nodes = graph.get('nodes') or {} -%}
    {%- set work = [node.unique_id] -%}
    {%- set checksums = [] -%}
    {%- set state = namespace(index=0) -%}
    {%- for _ in range(nodes | length + 1) -%}
        {%- if state.index < work | length -%}
            {%- set current = nodes.get(work[state.index]) -%}
            {%- set state.index = state.index + 1 -%}
            {%- if current and current.resource_type in ('model', 'seed') -%}
                {%- do checksums.append(current.unique_id ~ '=' ~ current.checksum.checksum) -%}
                {%- for parent in current.depends_on.nodes -%}
                    {%- if parent not in work -%}{%- do work.append(parent) -%}{%- endif -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(checksums | sort | join(','))) }}
{%- endmacro %}

{#- The watermark row of model `name`: {loaded_through, cutoff_date} as strings, or none. -#}
{% macro landing_watermark(name) -%}
    {%- set query -%}
        select cast(loaded_through as string), cast(cutoff_date as string), inputs_fingerprint
        from {{ landing_watermarks_relation() }}
        where model_name = '{{ name }}'
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 -%}{{ return(none) }}{%- endif -%}
    {{ return({
        'loaded_through': rows[0][0], 'cutoff_date': rows[0][1],
        'inputs_fingerprint': rows[0][2],
    }) }}
{%- endmacro %}

{#- loaded_at of the rows a staging model writes in this run: when the run started, or just
    after the latest stamp already stored if the clock is behind it (a stamp never goes
    back, so no model can have read past rows loaded now). -#}
{% macro landing_load_stamp() -%}
    {{ return(adapter.dispatch('landing_load_stamp', 'aiusage')()) }}
{%- endmacro %}

{% macro default__landing_load_stamp() -%}
    {%- set started = run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    {%- if execute -%}
        {%- set latest = landing_rows_loaded(
            "loaded_at > timestamp '" ~ started ~ "'"
        )['loaded_through'] -%}
        {%- if latest is not none -%}
            {{ return("(timestamp '" ~ latest ~ "' + interval 1 microsecond)") }}
        {%- endif -%}
    {%- endif -%}
    {{ return("timestamp '" ~ started ~ "'") }}
{%- endmacro %}

{% macro spark__landing_load_stamp() -%}
    {{ return("timestamp '" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'") }}
{%- endmacro %}

{#-
    Landing-date cutoff of an incremental refresh of the model `model_name` (default: the
    name of `relation`, the model's `this`; Spark reads `relation`'s latest landing day),
    computed when the model runs and inlined as a literal (a subquery cutoff would not be
    pushed down to scans): the first landing day of the staging rows loaded since the
    model's last run (date '9999-12-31' when there is none: nothing to re-read), every day
    (date '1900-01-01') when the model has no watermark yet. A backfill (var
    backfill_start, YYYY-MM-DD, set by `aiusage build --start-date` or the Dagster
    launchpad) moves the cutoff back to that day; the days after it are re-read as well,
    so that the latest delivery of a request keeps winning the deduplication.
-#}
{% macro landing_cutoff_date(relation, column='landing_date', model_name=none) -%}
    {%- if not execute -%}{{ return("date '1900-01-01'") }}{%- endif -%}
    {%- set cutoff = adapter.dispatch('landing_cutoff_date', 'aiusage')(
        relation, column, model_name or relation.identifier
    ) -%}
    {%- set backfill_start = var('backfill_start', none) -%}
    {%- if backfill_start -%}
        {%- set backfill_start = modules.datetime.date.fromisoformat(backfill_start | string) -%}
        {{ return("least(date '" ~ backfill_start.isoformat() ~ "', " ~ cutoff ~ ")") }}
    {%- endif -%}
    {{ return(cutoff) }}
{%- endmacro %}

{% macro default__landing_cutoff_date(relation, column, model_name) -%}
    {%- set watermark = landing_watermark(model_name) -%}
    {%- if watermark is none or watermark['loaded_through'] is none -%}
        {{ return("date '1900-01-01'") }}
    {%- endif -%}
    {%- set first_day = landing_rows_loaded(
        "loaded_at > timestamp '" ~ watermark['loaded_through'] ~ "'"
    )['first_day'] -%}
    {%- set cutoff = "date '" ~ (first_day or '9999-12-31') ~ "'" -%}
    {%- if watermark['inputs_fingerprint'] != landing_inputs_fingerprint(model) -%}
        {%- set last_day = landing_rows_loaded('true')['last_day'] -%}
        {%- if last_day -%}
            {%- set cutoff = "least(" ~ cutoff ~ ", date '" ~ last_day ~ "' - "
                ~ var('lookback_days') ~ ")" -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(cutoff) }}
{%- endmacro %}

{#- Spark: the latest landing day in `relation` minus var lookback_days. -#}
{% macro spark__landing_cutoff_date(relation, column, model_name) -%}
    {%- set result = run_query(
        "select cast(max(" ~ column ~ ") as string) from " ~ relation
    ) -%}
    {%- set max_date = result.columns[0].values()[0] -%}
    {%- if max_date is none -%}
        {{ return("date '1900-01-01'") }}
    {%- endif -%}
    {{ return("(date '" ~ max_date ~ "' - " ~ var('lookback_days') ~ ")") }}
{%- endmacro %}

{#- Post-hook of every incremental model downstream of staging (dbt_project.yml): records,
    in the model's transaction, the latest loaded_at of the staging tables (its ancestors
    have all run) and the first landing day it rewrote (null: every day), which the tests
    of its refreshed days read (macro get_where_subquery). Nothing for other models. -#}
{% macro record_landing_watermark() -%}
    {{ return(adapter.dispatch('record_landing_watermark', 'aiusage')()) }}
{%- endmacro %}

{% macro default__record_landing_watermark() -%}
    {%- if not execute or model.resource_type != 'model' or model.fqn[1] == 'staging'
        or config.get('materialized') != 'incremental' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set loaded = landing_rows_loaded('true') -%}
    {%- if flags.FULL_REFRESH -%}
        {%- set cutoff = 'null' -%}
    {%- else -%}
        {%- set cutoff = landing_cutoff_date(this) -%}
    {%- endif -%}
    insert or replace into {{ landing_watermarks_relation() }}
        (model_name, loaded_through, cutoff_date, inputs_fingerprint)
    values (
        '{{ this.identifier }}',
        {{ "timestamp '" ~ loaded['loaded_through'] ~ "'" if loaded['loaded_through'] else 'null' }},
        {{ 'null' if cutoff == "date '1900-01-01'" else cutoff }},
        '{{ landing_inputs_fingerprint(model) }}'
    )
{%- endmacro %}

{% macro spark__record_landing_watermark() -%}
{%- endmacro %}

{#-
    The usage days touched by this refresh, as a predicate on `column` for the incremental
    models of usage days (fct_daily_usage and the reports that read the request fact):
    `true` on a full build; on a refresh, `column in (...)` the usage days of the requests
    that fct_llm_requests (re)loaded from the landing days loaded since the calling model's
    last run (macro landing_cutoff_date), so the
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
            where landing_date >= {{ landing_cutoff_date(
                ref('fct_llm_requests'), model_name=this.identifier
            ) }}
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
