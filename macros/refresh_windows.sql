{#- What an incremental refresh recomputes: the landing days of the rows loaded since each
    model's last run (or a backfill), and the usage days those landing days touched. -#}

{#-
    What a refresh re-reads downstream of staging. Every staging row carries loaded_at, when
    the run that read its file started (macro landing_load_stamp); every incremental model
    downstream of staging records, in the same transaction as its rows, how far it has read
    (a row of the run log aiusage_landing_rewrites: the latest loaded_at of the staging
    tables when it ran, and the first landing day it rewrote; its watermark is its latest
    row, view aiusage_landing_watermarks). A refresh of such a model re-reads the landing
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

{#- The incremental models' watermarks: each model's latest row of the run log (a view
    over aiusage_landing_rewrites, created by on-run-start). -#}
{% macro landing_watermarks_relation() -%}
    {{ return(api.Relation.create(
        database=target.database, schema=target.schema, identifier='aiusage_landing_watermarks'
    )) }}
{%- endmacro %}

{#- Whether the watermarks existed when the run started, from dbt's relation cache (no
    query: the windowed tests and the staging models ask it on every run). Watermarks that
    on-run-start creates in this run are empty, and so are none: the macros that read them
    fall back to every row either way, as in a compile alone (sqlfluff's, without hooks). -#}
{% macro landing_watermarks_exist() -%}
    {%- set watermarks = landing_watermarks_relation() -%}
    {{ return(adapter.get_relation(
        database=watermarks.database, schema=watermarks.schema,
        identifier=watermarks.identifier
    ) is not none) }}
{%- endmacro %}

{% macro create_landing_watermarks() -%}
    {{ return(adapter.dispatch('create_landing_watermarks', 'aiusage')()) }}
{%- endmacro %}

{#- The log of the incremental models' runs (created by on-run-start): one row per run of
    an incremental model downstream of staging, numbered in order (seq), with the first
    landing day it rewrote (null: every day) and dbt's invocation id. Publish reads it to
    fingerprint only the landing days rewritten since the last snapshot
    (aiusage.snapshot). -#}
{% macro landing_rewrites_relation(suffix='') -%}
    {{ return(api.Relation.create(
        database=target.database, schema=target.schema,
        identifier='aiusage_landing_rewrites' ~ suffix
    )) }}
{%- endmacro %}

{#- The run log and the watermark view over it. A warehouse from before the log kept the
    watermarks in a table: its rows become the log's first rows (for the models the log has
    none of; invocation id 'watermark table'), and the view replaces the table. -#}
{% macro default__create_landing_watermarks() -%}
    {%- set watermarks = landing_watermarks_relation() -%}
    {%- set rewrites = landing_rewrites_relation() -%}
    {%- set existing = adapter.get_relation(
        database=watermarks.database, schema=watermarks.schema,
        identifier=watermarks.identifier
    ) if execute else none -%}
    create sequence if not exists {{ landing_rewrites_relation('_seq') }};
    create table if not exists {{ rewrites }} (
        seq bigint primary key default nextval('{{ landing_rewrites_relation('_seq') }}'),
        model_name varchar not null,
        loaded_through timestamp,
        cutoff_date date,
        inputs_fingerprint varchar,
        invocation_id varchar not null
    );
    {%- if existing is not none and existing.is_table %}
    insert into {{ rewrites }}
        (model_name, loaded_through, cutoff_date, inputs_fingerprint, invocation_id)
    select model_name, loaded_through, cutoff_date, inputs_fingerprint, 'watermark table'
    from {{ watermarks }}
    where model_name not in (select logged.model_name from {{ rewrites }} as logged)
    order by model_name;
    drop table {{ watermarks }};
    {%- endif %}
    {%- if existing is none or existing.is_table %}
    create view {{ watermarks }} as
    select model_name, loaded_through, cutoff_date, inputs_fingerprint
    from {{ rewrites }}
    qualify row_number() over (partition by model_name order by seq desc) = 1
    {%- endif %}
{%- endmacro %}

{% macro spark__create_landing_watermarks() -%}
{%- endmacro %}

{#- The staging tables (every model under models/staging that exists; none in a dbt unit
    test, which has no graph), from dbt's relation cache: no query. -#}
{% macro landing_staging_relations() -%}
    {%- set relations = [] -%}
    {%- for node in (graph.get('nodes') or {}).values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('fqn.1', 'equalto', 'staging')
        | sort(attribute='unique_id') -%}
        {%- set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias
        ) -%}
        {%- if relation is not none -%}{%- do relations.append(relation) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(relations) }}
{%- endmacro %}

{#- SQL: the landing_date and loaded_at of every staging row (none: no row). -#}
{% macro landing_rows_sql() -%}
    {%- set parts = [] -%}
    {%- for relation in landing_staging_relations() -%}
        {%- do parts.append("select landing_date, loaded_at from " ~ relation) -%}
    {%- endfor -%}
    {%- if parts | length == 0 -%}
        {{ return("select cast(null as date) as landing_date, cast(null as timestamp) as loaded_at"
            ~ " where false") }}
    {%- endif -%}
    {{ return(parts | join(' union all ')) }}
{%- endmacro %}

{#- What the models compute their rows from besides the landed rows: dbt's checksums of
    the code of every model and the content of every seed, as one md5 (Jinja filters: no
    loop in Jinja over the graph). A change anywhere makes every incremental model re-read
    the look-back window once, as every refresh did before the watermarks. -#}
{% macro landing_inputs_fingerprint() -%}
    {%- set nodes = (graph.get('nodes') or {}).values()
        | selectattr('resource_type', 'in', ['model', 'seed'])
        | sort(attribute='unique_id') -%}
    {{ return(local_md5(nodes | map(attribute='checksum.checksum') | join(','))) }}
{%- endmacro %}

{#- Model `name`'s refresh window, from its watermark and the staging rows: a dict of
    cutoff_date (ISO date; none: every day; see landing_cutoff_date) and loaded_through
    (the latest loaded_at of the staging rows, as text; none when there is none). The
    watermark is read first and inlined as a literal, so the scan of the rows loaded since
    it skips the older row groups by their zone maps (a subquery there is no scan filter:
    every staging row was read, 22 ms at 10M events, for each of ~64 calls a new day
    makes); the latest row and landing day of all the rows are read only when nothing was
    loaded since or the inputs changed (docs/performance.md, thirty-ninth round). -#}
{% macro landing_refresh_window(name, fingerprint) -%}
    {%- set rows = landing_rows_sql() -%}
    {%- set watermark = landing_watermark(name) -%}
    {%- set loaded_since = watermark['loaded_through'] if watermark else none -%}
    {%- set first_day, latest = '9999-12-31', none -%}
    {%- if loaded_since is not none -%}
        {%- set loaded = run_query(
            "select cast(min(stored.landing_date) as string),"
            ~ " cast(max(stored.loaded_at) as string) from (" ~ rows ~ ") as stored"
            ~ " where stored.loaded_at > " ~ typed_literal(loaded_since, 'timestamp')
        ).rows[0] -%}
        {%- set first_day, latest = loaded[0] or '9999-12-31', loaded[1] -%}
    {%- endif -%}
    {%- set inputs_changed = watermark is none
        or watermark['inputs_fingerprint'] != fingerprint -%}
    {%- if latest is not none and not inputs_changed -%}
        {#- rows loaded since: all older rows are at or before the watermark -#}
        {{ return({'cutoff_date': first_day, 'loaded_through': latest}) }}
    {%- endif -%}
    {%- set whole = run_query(
        "select cast(least(" ~ typed_literal(first_day, 'date') ~ ", coalesce("
        ~ "max(stored.landing_date) - " ~ var('lookback_days') ~ ", date '9999-12-31'))"
        ~ " as string), cast(max(stored.loaded_at) as string) from (" ~ rows ~ ") as stored"
    ).rows[0] -%}
    {{ return({
        'cutoff_date': none if loaded_since is none
            else (whole[0] if inputs_changed else first_day),
        'loaded_through': whole[1],
    }) }}
{%- endmacro %}

{#- Model `name`'s watermark (its latest row of the run log): a dict of loaded_through and
    cutoff_date (as text) and inputs_fingerprint, or none when it has not run. The one
    reader of a watermark row (landing_refresh_window, inputs_changed_since_last_run,
    logged_cutoff). -#}
{% macro landing_watermark(name) -%}
    {%- set rows = run_query(
        "select cast(loaded_through as string), cast(cutoff_date as string),"
        ~ " inputs_fingerprint from " ~ landing_watermarks_relation()
        ~ " where model_name = '" ~ name ~ "'"
    ).rows -%}
    {%- if rows | length == 0 -%}{{ return(none) }}{%- endif -%}
    {{ return({
        'loaded_through': rows[0][0], 'cutoff_date': rows[0][1], 'inputs_fingerprint': rows[0][2],
    }) }}
{%- endmacro %}

{#- `value` (text or none) as a SQL literal of `type`. -#}
{% macro typed_literal(value, type) -%}
    {{ return("cast(null as " ~ type ~ ")" if value is none else type ~ " '" ~ value ~ "'") }}
{%- endmacro %}

{#- loaded_at of the rows a staging model writes in this run: when the run started, or just
    after the latest watermark if the clock is behind it (every model reads the rows loaded
    after its watermark, so a stamp must exceed them all). A literal, found when the model
    runs: a scalar subquery in the parse's select made DuckDB hold every landed file's text
    in memory (9 GB in a 10M-event build). The run's start alone in a dbt unit test (no
    graph). -#}
{% macro landing_load_stamp() -%}
    {{ return(adapter.dispatch('landing_load_stamp', 'aiusage')()) }}
{%- endmacro %}

{% macro default__landing_load_stamp() -%}
    {%- set started = "timestamp '" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'" -%}
    {%- if not execute or not graph.get('nodes') -%}{{ return(started) }}{%- endif -%}
    {%- set watermarks = landing_watermarks_relation() -%}
    {%- if not landing_watermarks_exist() -%}{{ return(started) }}{%- endif -%}
    {%- set query -%}
        select cast(max(loaded_through) + interval 1 microsecond as string)
        from {{ watermarks }}
        where loaded_through > {{ started }}
    {%- endset -%}
    {%- set ahead = run_query(query).columns[0].values()[0] -%}
    {{ return("timestamp '" ~ ahead ~ "'" if ahead else started) }}
{%- endmacro %}

{% macro spark__landing_load_stamp() -%}
    {{ return("timestamp '" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'") }}
{%- endmacro %}

{#-
    Landing-date cutoff of an incremental refresh of the model `model_name` (default: the
    name of `relation`, the model's `this`; Spark reads `relation`'s latest landing day),
    computed when the model runs and inlined as a literal (a subquery cutoff would not be
    pushed down to scans): the first landing day of the staging rows loaded since the
    model's last run (date '9999-12-31' when there is none: nothing to re-read), no later
    than var lookback_days before the latest landing day when the model's inputs changed,
    every day (date '1900-01-01') when the model has no watermark yet. A backfill (var
    backfill_start, YYYY-MM-DD, set by `aiusage build --start-date` or the Dagster
    launchpad) moves the cutoff back to that day; the days after it are re-read as well,
    so that the latest delivery of a request keeps winning the deduplication.
-#}
{% macro landing_cutoff_date(relation, column='landing_date', model_name=none) -%}
    {%- if not execute -%}{{ return("date '1900-01-01'") }}{%- endif -%}
    {%- set cutoff = adapter.dispatch('landing_cutoff_date', 'aiusage')(
        relation, column, model_name or relation.identifier
    ) -%}
    {{ return(with_backfill(cutoff)) }}
{%- endmacro %}

{#- `cutoff` (a SQL date; null counts as every day) moved back to var backfill_start when a
    backfill asks for it. -#}
{% macro with_backfill(cutoff) -%}
    {%- set backfill_start = var('backfill_start', none) -%}
    {%- if not backfill_start -%}{{ return(cutoff) }}{%- endif -%}
    {{ return(
        "least(date '" ~ modules.datetime.date.fromisoformat(backfill_start | string).isoformat()
        ~ "', coalesce(" ~ cutoff ~ ", date '1900-01-01'))"
    ) }}
{%- endmacro %}

{% macro default__landing_cutoff_date(relation, column, model_name) -%}
    {%- set cutoff = landing_refresh_window(
        model_name, landing_inputs_fingerprint()
    )['cutoff_date'] -%}
    {{ return(typed_literal(cutoff or '1900-01-01', 'date')) }}
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
    have all run), the first landing day it rewrote (null: every day; the tests of its
    refreshed days read it, macro get_where_subquery; an older day to which a withdrawn
    record's older delivery came back counts, macro withdrawal_rewritten_from) and the
    fingerprint of its inputs.
    The run's row in the log aiusage_landing_rewrites (its values from macro
    landing_refresh_window, read in the model's transaction and inlined), which is the
    model's watermark from then on. Nothing for other models. -#}
{% macro record_landing_watermark() -%}
    {{ return(adapter.dispatch('record_landing_watermark', 'aiusage')()) }}
{%- endmacro %}

{% macro default__record_landing_watermark() -%}
    {%- if not execute or model.resource_type != 'model' or model.fqn[1] == 'staging'
        or config.get('materialized') != 'incremental' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set fingerprint = landing_inputs_fingerprint() -%}
    {%- set window = landing_refresh_window(this.identifier, fingerprint) -%}
    insert into {{ landing_rewrites_relation() }}
        (model_name, loaded_through, cutoff_date, inputs_fingerprint, invocation_id)
    select
        '{{ this.identifier }}',
        {{ typed_literal(window['loaded_through'], 'timestamp') }},
        {{ 'null' if flags.FULL_REFRESH else withdrawal_rewritten_from(
            with_backfill(typed_literal(window['cutoff_date'], 'date'))) }},
        '{{ fingerprint }}',
        '{{ invocation_id }}'
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
    {{ return(usage_days_in(column, touched_usage_day_list())) }}
{%- endmacro %}

{#- The usage days touched by this refresh (see touched_usage_days) as a list of ISO dates,
    or none for every day: a full build, and, with whole_on_input_change, a refresh after
    the code of a model or the content of a seed changed (macro
    inputs_changed_since_last_run), for a model that keeps figures of its own per day
    which such a change alters on every day (int_daily_cache_uses_judged prices its
    counterfactuals with the current price rows). -#}
{% macro touched_usage_day_list(whole_on_input_change=false) -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- if whole_on_input_change and inputs_changed_since_last_run() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(usage_days_loaded_since(
        ref('fct_llm_requests'),
        landing_cutoff_date(ref('fct_llm_requests'), model_name=this.identifier)
    )) }}
{%- endmacro %}

{#- The usage days (ISO dates, in order) of the rows of the request fact `fact` from the
    landing day `cutoff` (a SQL date) on: the days a refresh of that cutoff touched, with
    those of the requests a refresh withdrew from the fact on those landing days (macro
    withdrawn_usage_days_query: no row is left to name them). -#}
{% macro usage_days_loaded_since(fact, cutoff) -%}
    {%- set withdrawn = withdrawn_usage_days_query(fact, cutoff) -%}
    {%- set query -%}
        select distinct usage_day from (
            select cast(usage_date as string) as usage_day
            from {{ fact }}
            where landing_date >= {{ cutoff }}
            {%- if withdrawn %}
            union all
            {{ withdrawn }}
            {%- endif %}
        ) as touched
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- SQL: a predicate on `column` that holds on the usage days `days` (a list of ISO dates;
    none: every day, `true`) and on the `spread` days before and after each (the
    neighbours a model of cache uses reads across midnight); `false` for no day. -#}
{% macro usage_days_in(column, days, spread=0) -%}
    {%- if days is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for day in days -%}
        {%- for offset in range(-spread, spread + 1) -%}
            {%- set literal = "date '" ~ (
                modules.datetime.date.fromisoformat(day | string)
                + modules.datetime.timedelta(days=offset)
            ).isoformat() ~ "'" -%}
            {%- if literal not in literals -%}{%- do literals.append(literal) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if literals | length == 0 -%}
        {{ return('false') }}
    {%- endif -%}
    {{ return(column ~ ' in (' ~ literals | sort | join(', ') ~ ')') }}
{%- endmacro %}

{#- Whether the code of a model or the content of a seed changed since the calling model's
    last run (its watermark's inputs fingerprint against this run's, macro
    landing_inputs_fingerprint); true when it has no watermark. Spark keeps no watermark:
    always true there. -#}
{% macro inputs_changed_since_last_run() -%}
    {{ return(adapter.dispatch('inputs_changed_since_last_run', 'aiusage')()) }}
{%- endmacro %}

{% macro default__inputs_changed_since_last_run() -%}
    {%- if not landing_watermarks_exist() -%}{{ return(true) }}{%- endif -%}
    {%- set watermark = landing_watermark(this.identifier) -%}
    {{ return(watermark is none or watermark['inputs_fingerprint'] != landing_inputs_fingerprint()) }}
{%- endmacro %}

{% macro spark__inputs_changed_since_last_run() -%}
    {{ return(true) }}
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
{% macro latest_delivery_first(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {{ prefix }}landing_date desc, {{ prefix }}source_file desc, {{ prefix }}line_number desc
{%- endmacro %}
