{#-
    Engine-specific SQL, landing files (issue 10: the same models on DuckDB and Spark).
    Convention of every file under macros/engine/: a macro dispatches through
    adapter.dispatch; `default__` is the DuckDB form the project is written in, `spark__`
    the Spark SQL form (local pyspark, a Spark cluster, Databricks). Models call the macro,
    never the engine's function. docs/spark.md shows how to add one.
-#}

{#- on-run-start hook: on Spark, register each landing folder as an external text table
    over <landing>/<folder>/ (one row per file: wholetext) and a view with the columns
    DuckDB's read_text gives (filename, content, size, last_modified), named
    <landing_schema>.<folder>: the relations of the staging sources. On DuckDB, whose sources
    read the files in place (meta.external_location): see default__register_landing_sources. -#}
{% macro register_landing_sources() -%}
    {{ return(adapter.dispatch('register_landing_sources', 'aiusage')()) }}
{%- endmacro %}

{#- DuckDB: nothing to register (its sources read the files in place). The staging
    tables live in the attached database `staging` (macro default__incremental_by_file);
    a warehouse built before they moved there still holds its own stg_ tables, which no
    model reads any more: they are dropped from the warehouse's file (once; the first
    refresh after the upgrade parses every landed file again, into `staging`). -#}
{% macro default__register_landing_sources() -%}
    {%- if execute and target.name == 'duckdb' -%}
        {%- set orphans -%}
            select table_name from duckdb_tables()
            where
                database_name = current_database()
                and schema_name = '{{ target.schema }}'
                and starts_with(table_name, 'stg_')
        {%- endset -%}
        {%- for row in run_query(orphans).rows -%}
            {%- do run_query(
                'drop table if exists "' ~ target.schema ~ '"."' ~ row[0] ~ '"'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro spark__register_landing_sources() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set landing_dir = env_var('AIUSAGE_LANDING_DIR', 'data/landing') -%}
    {%- set schema = var('landing_schema', 'landing') -%}
    {%- set extensions = {
        'events': 'jsonl', 'openai_usage': 'json', 'anthropic_usage': 'json',
        'litellm_spend_logs': 'jsonl', 'langfuse_observations': 'jsonl', 'outcomes': 'jsonl',
        'openrouter': 'jsonl',
    } -%}
    {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- for name, extension in extensions.items() -%}
        {%- do run_query('drop view if exists ' ~ schema ~ '.' ~ name) -%}
        {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ name ~ '__files') -%}
        {%- set create_files -%}
            create table {{ schema }}.{{ name }}__files
            using text
            options (
                path '{{ landing_dir }}/{{ name }}',
                wholetext 'true',
                recursiveFileLookup 'true',
                pathGlobFilter '*.{{ extension }}'
            )
        {%- endset -%}
        {%- do run_query(create_files) -%}
        {%- set create_view -%}
            create view {{ schema }}.{{ name }} as
            select
                regexp_replace(_metadata.file_path, '^file:', '') as filename,
                value as content,
                _metadata.file_size as size,
                _metadata.file_modification_time as last_modified
            from {{ schema }}.{{ name }}__files
        {%- endset -%}
        {%- do run_query(create_view) -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{#-
    The landed files of a source that this run of an incremental staging model reads: every
    file on a first or full build; on a refresh, only the files it has not read before, as
    they are now: a file is read again when its size or modification time differ from the
    stamp stored on its rows (macro landed_file_columns), and a backfill (var
    backfill_start) re-reads the files of the landing days from that day on. An unchanged
    file is never parsed twice, whatever the look-back window. `source_relation` is the
    model's source() relation.
    DuckDB: the relation is read_text('<glob>') (dbt-duckdb's external_location). The files
    and their stamps are listed when the model runs (read_text does not read a file whose
    content is not selected), compared with the stored stamps, and the files to read (on a
    first or full build, every file of the glob) are passed to read_text by name (macro
    read_landed_files); the model replaces the rows of those files (incremental_by_file:
    delete+insert by source_file).
    Spark: the registered landing view, restricted to the landing days holding a new or
    changed file; those days' partitions are replaced (insert_overwrite by landing_date).
-#}
{% macro landed_files_to_read(source_relation) -%}
    {{ return(adapter.dispatch('landed_files_to_read', 'aiusage')(source_relation)) }}
{%- endmacro %}

{#- The files of `on_disk` (filename, size, last_modified) that the staging model `this`
    has not read as they are now (see landed_files_to_read). -#}
{% macro unread_landed_files_sql(on_disk) -%}
    {%- set backfill_start = var('backfill_start', none) -%}
    with

    on_disk as (
        select filename, size, last_modified from {{ on_disk }}
    ),

    read_before as (
        {{ landed_files_read() }}
    )

    select on_disk.filename
    from on_disk
    left join read_before on on_disk.filename = read_before.source_file
    where
        read_before.source_file is null
        or read_before.file_size <> on_disk.size
        or read_before.file_modified_at <> {{ landed_file_modified_at('on_disk.last_modified') }}
        {%- if backfill_start %}
        or {{ landing_date_from_path('on_disk.filename') }}
            >= date '{{ modules.datetime.date.fromisoformat(backfill_start | string) }}'
        {%- endif %}
    order by on_disk.filename
{%- endmacro %}

{#- The files the staging model `this` has read, with the stamps its rows carry: columns
    source_file, file_size, file_modified_at. DuckDB: its record of them, one row per file
    (macro record_landed_files_read), when it has one; else (Spark, or a staging table
    written before the record existed) the stamps grouped from every stored row, which at
    10M events read 10M rows for a few hundred files (docs/performance.md, fiftieth
    round). -#}
{% macro landed_files_read() -%}
    {{ return(adapter.dispatch('landed_files_read', 'aiusage')()) }}
{%- endmacro %}

{% macro default__landed_files_read() -%}
    {%- set record = landed_files_read_relation() -%}
    {%- if execute and load_relation(record) is not none -%}
        select source_file, file_size, file_modified_at from {{ record }}
    {%- else -%}
        {{ landed_files_read_from_rows() }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__landed_files_read() -%}
    {{ landed_files_read_from_rows() }}
{%- endmacro %}

{#- A row per file of the staging model's rows that match `where`: its stamp and the
    latest loaded_at. -#}
{% macro landed_files_read_from_rows(where='true') -%}
    select
        source_file,
        max(file_size) as file_size,
        max(file_modified_at) as file_modified_at,
        max(loaded_at) as loaded_at
    from {{ this }}
    where {{ where }}
    group by source_file
{%- endmacro %}

{#- DuckDB: the table beside a staging model that records the files it has read (one row
    per file: source_file, file_size, file_modified_at, loaded_at). -#}
{% macro landed_files_read_relation() -%}
    {{ return(this.incorporate(path={'identifier': this.identifier ~ '__files_read'})) }}
{%- endmacro %}

{#- Post-hook of a staging model incremental by file (macro default__incremental_by_file):
    brings the record of the files it has read (landed_files_read_relation) to its rows, in
    the model's transaction. A refresh records the files of the rows it loaded (loaded_at
    after the record's latest: their row groups alone are read, by the zone maps of a
    column that grows with each run); a first or full build, or a table without a record,
    records every file from its rows. A file whose re-read left no row keeps its older
    stamp, so it is read again, as a file without rows always was: the record can only
    make a refresh read a file again, never skip one whose rows it does not hold. -#}
{% macro record_landed_files_read() -%}
    {%- set record = landed_files_read_relation() -%}
    {%- set since = none -%}
    {%- if is_incremental() and load_relation(record) is not none -%}
        {%- set since = run_query(
            "select cast(max(loaded_at) as string) from " ~ record
        ).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if since is none -%}
    create or replace table {{ record }} as {{ landed_files_read_from_rows() }}
    {%- else -%}
    {%- set loaded = "loaded_at > timestamp '" ~ since ~ "'" -%}
    delete from {{ record }}
    where source_file in (select source_file from {{ this }} where {{ loaded }});
    insert into {{ record }} {{ landed_files_read_from_rows(loaded) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__landed_files_to_read(source_relation) -%}
    {%- set text = source_relation | string -%}
    {%- set match = modules.re.fullmatch("read_text\\('((?:[^']|'')*)'\\)", text) -%}
    {%- if not execute or match is none -%}
        {{ return(text) }}
    {%- endif -%}
    {%- if is_incremental() -%}
        {%- set files = run_query(unread_landed_files_sql(text)).columns[0].values() -%}
    {%- else -%}
        {%- set listing = "select file from glob('" ~ match.group(1) ~ "') order by file" -%}
        {%- set files = run_query(listing).columns[0].values() -%}
        {%- if files | length == 0 -%}
            {{ return(text) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(read_landed_files(files)) }}
{%- endmacro %}

{#- DuckDB: a relation (filename, content, size, last_modified) over the landed `files`.
    One read_text call splits its files into lines on one thread (its few rows, one per
    file, are one chunk, and everything downstream of the split runs in that chunk's
    pipeline); the files are dealt into one read_text per dbt thread, united with union
    all, whose branches DuckDB runs in parallel (preserve_insertion_order = false, in
    profiles.yml): the full 10M-event staging parse took half the time on 2 threads. -#}
{% macro read_landed_files(files) -%}
    {%- if files | length == 0 -%}
        {{ return(
            "(select cast(null as string) as filename, cast(null as string) as content,"
            ~ " cast(null as bigint) as size, cast(null as timestamptz) as last_modified"
            ~ " where false)"
        ) }}
    {%- endif -%}
    {%- set count = [[target.threads | int, 1] | max, files | length] | min -%}
    {%- set reads = [] -%}
    {%- for index in range(count) -%}
        {%- set quoted = [] -%}
        {%- for f in files[index::count] -%}
            {%- do quoted.append("'" ~ f | replace("'", "''") ~ "'") -%}
        {%- endfor -%}
        {%- do reads.append("select * from read_text([" ~ quoted | join(', ') ~ "])") -%}
    {%- endfor -%}
    {{ return("(" ~ reads | join(' union all ') ~ ") as landed_files") }}
{%- endmacro %}

{% macro spark__landed_files_to_read(source_relation) -%}
    {%- if not execute or not is_incremental() -%}{{ return(source_relation | string) }}{%- endif -%}
    {%- set files = run_query(unread_landed_files_sql(source_relation)).columns[0].values() -%}
    {%- set days = [] -%}
    {%- for f in files -%}
        {%- set day = modules.re.search('dt=([0-9]{4}-[0-9]{2}-[0-9]{2})', f) -%}
        {%- if day and ("date '" ~ day.group(1) ~ "'") not in days -%}
            {%- do days.append("date '" ~ day.group(1) ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(
        "(select * from " ~ source_relation ~ " where "
        ~ (landing_date_from_path('filename') ~ " in (" ~ days | join(', ') ~ ")"
           if days else "false")
        ~ ") as files_to_read"
    ) }}
{%- endmacro %}

{#- The stamp columns of a landed file (relation columns filename, content, size,
    last_modified): file_size, file_modified_at, file_content_hash, and loaded_at, when this
    run read it (macro landing_load_stamp). -#}
{% macro landed_file_stamp() -%}
    cast(size as bigint) as file_size,
    {{ landed_file_modified_at('last_modified') }} as file_modified_at,
    md5(content) as file_content_hash,
    {{ landing_load_stamp() }} as loaded_at
{%- endmacro %}

{#- A file's modification time as stored (a timestamp in UTC). -#}
{% macro landed_file_modified_at(expression) -%}
    {{ return(adapter.dispatch('landed_file_modified_at', 'aiusage')(expression)) }}
{%- endmacro %}

{% macro default__landed_file_modified_at(expression) -%}
    cast(timezone('UTC', {{ expression }}) as timestamp)
{%- endmacro %}

{% macro spark__landed_file_modified_at(expression) -%}
    cast({{ expression }} as timestamp)
{%- endmacro %}

{#- Landing day of a landed file, from its dt=YYYY-MM-DD folder. -#}
{% macro landing_date_from_path(path_expression) -%}
    cast(regexp_extract({{ path_expression }}, 'dt=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date)
{%- endmacro %}

{#- One row per line with content (is_content_line) of each landed text file of `relation`
    (a read_text relation or CTE): source_file, landing_date (from the dt= folder),
    line_number (1-based; blank lines keep their number) and raw_line (the line without a
    trailing carriage return). -#}
{% macro landed_lines(relation='source') -%}
    {{ return(adapter.dispatch('landed_lines', 'aiusage')(relation)) }}
{%- endmacro %}

{#- Each file is split once (splitting in both unnests took 4x as long). -#}
{% macro default__landed_lines(relation) -%}
    select
        source_file,
        landing_date,
        line_number,
        {{ strip_carriage_return('raw_line') }} as raw_line,
        {{ landed_file_columns() }}
    from (
        select
            source_file,
            landing_date,
            {{ landed_file_columns() }},
            unnest(file_lines) as raw_line,
            unnest(generate_series(1, len(file_lines))) as line_number
        from (
            select
                filename as source_file,
                {{ landing_date_from_path('filename') }} as landing_date,
                {{ landed_file_stamp() }},
                string_split(content, chr(10)) as file_lines
            from {{ relation }}
        ) as split_files
    ) as split_lines
    where {{ is_content_line('raw_line') }}
{%- endmacro %}

{% macro spark__landed_lines(relation) -%}
    select
        source_file,
        landing_date,
        line_number,
        {{ strip_carriage_return('raw_line') }} as raw_line,
        {{ landed_file_columns() }}
    from (
        select
            landed.filename as source_file,
            {{ landing_date_from_path('landed.filename') }} as landing_date,
            {{ landed_file_stamp() }},
            line.raw_line,
            cast(line.line_index + 1 as bigint) as line_number
        from {{ relation }} as landed
        lateral view posexplode(split(landed.content, '\n')) line as line_index, raw_line
    ) as split_lines
    where {{ is_content_line('raw_line') }}
{%- endmacro %}

{#- landed_lines of `relation`, each line parsed as a JSON object: column j, null when the
    line is not one (-> malformed_json). -#}
{% macro landed_json_lines(relation='source') -%}
    select
        *,
        {{ json_object_or_null('raw_line') }} as j
    from (
        {{ landed_lines(relation) }}
    ) as lines
{%- endmacro %}

{#- The line without a trailing carriage return (CRLF files). -#}
{% macro strip_carriage_return(text) -%}
    {{ return(adapter.dispatch('strip_carriage_return', 'aiusage')(text)) }}
{%- endmacro %}

{#- DuckDB's rtrim with a character list walks the whole line (~1.8 s per million 700-byte
    lines); testing the last character first keeps the common line-feed-only file free. -#}
{% macro default__strip_carriage_return(text) -%}
    case when ends_with({{ text }}, chr(13)) then rtrim({{ text }}, chr(13)) else {{ text }} end
{%- endmacro %}

{% macro spark__strip_carriage_return(text) -%}
    regexp_replace({{ text }}, '\r$', '')
{%- endmacro %}

{#- True for a line with content: not only spaces, tabs and carriage returns (a blank line
    of a CRLF file is blank, not malformed). `aiusage ingest` counts rows with the same
    rule. -#}
{% macro is_content_line(text) -%}
    {{ return(adapter.dispatch('is_content_line', 'aiusage')(text)) }}
{%- endmacro %}

{#- A regular expression that stops at the first non-blank character: DuckDB's trim with a
    character list walks the whole line (~2 s per million 700-byte lines). -#}
{% macro default__is_content_line(text) -%}
    regexp_matches({{ text }}, '[^ \t\r]')
{%- endmacro %}

{% macro spark__is_content_line(text) -%}
    trim(both concat(' ', chr(9), chr(13)) from {{ text }}) <> ''
{%- endmacro %}
