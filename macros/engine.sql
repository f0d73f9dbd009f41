{#-
    Engine-specific SQL (issue 10: the same models on DuckDB and Spark). Every macro here
    dispatches through adapter.dispatch: `default__` (or `duckdb__`) is the DuckDB form the
    project was written in, `spark__` the Spark SQL form (local pyspark, a Spark cluster,
    Databricks). Models call the macro, never the engine's function. docs/spark.md shows
    how to add one.
-#}

{#- ---------------------------------------------------------------- landing files -- -#}

{#- on-run-start hook: on Spark, register each landed source as an external text table
    over <landing>/<source>/ (one row per file: wholetext) and a view with the columns
    DuckDB's read_text gives (filename, content, size, last_modified). Nothing on DuckDB:
    its sources read the files in place (meta.external_location). -#}
{% macro register_landing_sources() -%}
    {{ return(adapter.dispatch('register_landing_sources', 'aiusage')()) }}
{%- endmacro %}

{% macro default__register_landing_sources() -%}
{%- endmacro %}

{% macro spark__register_landing_sources() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set landing_dir = env_var('AIUSAGE_LANDING_DIR', 'data/landing') -%}
    {%- set schema = var('landing_schema', 'landing') -%}
    {%- set extensions = {
        'events': 'jsonl', 'openai_usage': 'json', 'anthropic_usage': 'json',
        'litellm_spend_logs': 'jsonl', 'langfuse_observations': 'jsonl',
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

{#- Landing day of a landed file, from its dt=YYYY-MM-DD folder. -#}
{% macro landing_date_from_path(path_expression) -%}
    cast(regexp_extract({{ path_expression }}, 'dt=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date)
{%- endmacro %}

{#- One row per line of each landed text file of the `source` CTE (read_text relation):
    source_file, landing_date (from the dt= folder), line_number (1-based), raw_line. -#}
{% macro landed_lines(relation='source') -%}
    {{ return(adapter.dispatch('landed_lines', 'aiusage')(relation)) }}
{%- endmacro %}

{#- Each file is split once (splitting in both unnests took 4x as long). -#}
{% macro default__landed_lines(relation) -%}
    select
        source_file,
        landing_date,
        unnest(file_lines) as raw_line,
        unnest(generate_series(1, len(file_lines))) as line_number
    from (
        select
            filename as source_file,
            {{ landing_date_from_path('filename') }} as landing_date,
            string_split(content, chr(10)) as file_lines
        from {{ relation }}
    ) as split_files
{%- endmacro %}

{% macro spark__landed_lines(relation) -%}
    select
        landed.filename as source_file,
        {{ landing_date_from_path('landed.filename') }} as landing_date,
        line.raw_line,
        cast(line.line_index + 1 as bigint) as line_number
    from {{ relation }} as landed
    lateral view posexplode(split(landed.content, '\n')) line as line_index, raw_line
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

{#- ------------------------------------------------------------------------ JSON -- -#}

{#- True when the text is a JSON object (a line that is not one is malformed_json). -#}
{% macro is_json_object(text) -%}
    {{ return(adapter.dispatch('is_json_object', 'aiusage')(text)) }}
{%- endmacro %}

{#- The regular expression stops at the first non-blank character; ltrim copied the line. JSON
    whitespace (space, tab, line feed, carriage return) may precede the brace. -#}
{% macro default__is_json_object(text) -%}
    (json_valid({{ text }}) and regexp_matches({{ text }}, '^[ \t\n\r]*\{'))
{%- endmacro %}

{% macro spark__is_json_object(text) -%}
    (json_object_keys({{ text }}) is not null)
{%- endmacro %}

{#- The text as a JSON value (DuckDB: the JSON type; Spark: the text itself). -#}
{% macro as_json(text) -%}
    {{ return(adapter.dispatch('as_json', 'aiusage')(text)) }}
{%- endmacro %}

{% macro default__as_json(text) -%}
    json({{ text }})
{%- endmacro %}

{% macro spark__as_json(text) -%}
    {{ text }}
{%- endmacro %}

{#- The JSON type (Spark keeps JSON as text). -#}
{% macro type_json() -%}
    {{ return(adapter.dispatch('type_json', 'aiusage')()) }}
{%- endmacro %}

{% macro default__type_json() -%}json{%- endmacro %}

{% macro spark__type_json() -%}string{%- endmacro %}

{#- The value at a JSONPath ('$.a.b') as text: strings unquoted, other values as JSON
    text; null when absent or JSON null. -#}
{% macro json_text(json_expression, path) -%}
    {{ return(adapter.dispatch('json_text', 'aiusage')(json_expression, path)) }}
{%- endmacro %}

{% macro default__json_text(json_expression, path) -%}
    ({{ json_expression }} ->> '{{ path }}')
{%- endmacro %}

{% macro spark__json_text(json_expression, path) -%}
    get_json_object({{ json_expression }}, '{{ path }}')
{%- endmacro %}

{#- The value at a JSONPath as JSON (objects stay objects). -#}
{% macro json_value(json_expression, path) -%}
    {{ return(adapter.dispatch('json_value', 'aiusage')(json_expression, path)) }}
{%- endmacro %}

{% macro default__json_value(json_expression, path) -%}
    ({{ json_expression }} -> '{{ path }}')
{%- endmacro %}

{% macro spark__json_value(json_expression, path) -%}
    get_json_object({{ json_expression }}, '{{ path }}')
{%- endmacro %}

{#- A canonical event line parsed into a struct of text fields (see events_contract.sql):
    j.<field> is the field's text (numbers and booleans as written), j.metadata its JSON. -#}
{% macro parse_event_record(text) -%}
    {{ return(adapter.dispatch('parse_event_record', 'aiusage')(text)) }}
{%- endmacro %}

{% macro default__parse_event_record(text) -%}
    json_transform({{ text }}, '{{ events_json_structure() }}')
{%- endmacro %}

{% macro spark__parse_event_record(text) -%}
    {%- set fields = [] -%}
    {%- for f in events_text_fields() -%}{%- do fields.append('`' ~ f ~ '` string') -%}{%- endfor -%}
    {%- do fields.append('`metadata` string') -%}
    from_json({{ text }}, '{{ fields | join(", ") }}')
{%- endmacro %}

{#- -------------------------------------------------------------- time and text -- -#}

{#- An ISO-8601 text (with or without offset) as a UTC timestamp; null when invalid. -#}
{% macro try_to_utc_timestamp(text) -%}
    {{ return(adapter.dispatch('try_to_utc_timestamp', 'aiusage')(text)) }}
{%- endmacro %}

{% macro default__try_to_utc_timestamp(text) -%}
    cast(try_cast({{ text }} as timestamptz) as timestamp)
{%- endmacro %}

{% macro spark__try_to_utc_timestamp(text) -%}
    try_cast({{ text }} as timestamp)
{%- endmacro %}

{#- Unix epoch seconds (integer) as a UTC timestamp. -#}
{% macro timestamp_from_epoch_seconds(seconds) -%}
    {{ return(adapter.dispatch('timestamp_from_epoch_seconds', 'aiusage')(seconds)) }}
{%- endmacro %}

{% macro default__timestamp_from_epoch_seconds(seconds) -%}
    cast(to_timestamp({{ seconds }}) as timestamp)
{%- endmacro %}

{% macro spark__timestamp_from_epoch_seconds(seconds) -%}
    timestamp_seconds({{ seconds }})
{%- endmacro %}

{#- Whole milliseconds from one timestamp to another. -#}
{% macro milliseconds_between(start_timestamp, end_timestamp) -%}
    {{ return(adapter.dispatch('milliseconds_between', 'aiusage')(
        start_timestamp, end_timestamp
    )) }}
{%- endmacro %}

{% macro default__milliseconds_between(start_timestamp, end_timestamp) -%}
    datediff('millisecond', {{ start_timestamp }}, {{ end_timestamp }})
{%- endmacro %}

{% macro spark__milliseconds_between(start_timestamp, end_timestamp) -%}
    timestampdiff(millisecond, {{ start_timestamp }}, {{ end_timestamp }})
{%- endmacro %}

{#- The latest acceptable event time: now (UTC) + var max_future_skew_hours. -#}
{% macro future_skew_limit() -%}
    {{ return(adapter.dispatch('future_skew_limit', 'aiusage')()) }}
{%- endmacro %}

{% macro default__future_skew_limit() -%}
    cast(now() as timestamp) + to_hours({{ var('max_future_skew_hours') }})
{%- endmacro %}

{% macro spark__future_skew_limit() -%}
    current_timestamp() + make_interval(0, 0, 0, 0, {{ var('max_future_skew_hours') }}, 0, 0)
{%- endmacro %}

{#- True when the text matches the regular expression (anywhere). -#}
{% macro regex_matches(text, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'aiusage')(text, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(text, pattern) -%}
    regexp_matches({{ text }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_matches(text, pattern) -%}
    ({{ text }} rlike '{{ pattern }}')
{%- endmacro %}

{#- The text standing for null in hashed field lists: `backslashes` backslashes and N,
    the same string on every engine (Spark string literals treat the backslash as an
    escape, DuckDB's do not). -#}
{% macro hash_null_marker(backslashes=1) -%}
    {{ return(adapter.dispatch('hash_null_marker', 'aiusage')(backslashes)) }}
{%- endmacro %}

{% macro default__hash_null_marker(backslashes) -%}
    '{{ '\\' * backslashes }}N'
{%- endmacro %}

{% macro spark__hash_null_marker(backslashes) -%}
    '{{ '\\' * (2 * backslashes) }}N'
{%- endmacro %}

{#- A DECIMAL(38, 12) as plain text with its 12 decimals (Spark prints 0 as 0E-12 and
    values below 1e-6 in scientific notation). -#}
{% macro decimal_as_text(decimal_expression) -%}
    {{ return(adapter.dispatch('decimal_as_text', 'aiusage')(decimal_expression)) }}
{%- endmacro %}

{% macro default__decimal_as_text(decimal_expression) -%}
    cast({{ decimal_expression }} as string)
{%- endmacro %}

{% macro spark__decimal_as_text(decimal_expression) -%}
    replace(format_number({{ decimal_expression }}, 12), ',', '')
{%- endmacro %}

{#- `select *` without some columns. -#}
{% macro star_except(columns) -%}
    {{ return(adapter.dispatch('star_except', 'aiusage')(columns)) }}
{%- endmacro %}

{% macro default__star_except(columns) -%}
    * exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns) -%}
    * except ({{ columns | join(', ') }})
{%- endmacro %}

{#- English month and weekday names of a date. -#}
{% macro month_name(date_expression) -%}
    {{ return(adapter.dispatch('month_name', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__month_name(date_expression) -%}
    strftime({{ date_expression }}, '%B')
{%- endmacro %}

{% macro spark__month_name(date_expression) -%}
    date_format({{ date_expression }}, 'MMMM')
{%- endmacro %}

{% macro day_name(date_expression) -%}
    {{ return(adapter.dispatch('day_name', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__day_name(date_expression) -%}
    strftime({{ date_expression }}, '%A')
{%- endmacro %}

{% macro spark__day_name(date_expression) -%}
    date_format({{ date_expression }}, 'EEEE')
{%- endmacro %}

{#- ISO-8601 year and week number of a date. -#}
{% macro iso_year(date_expression) -%}
    {{ return(adapter.dispatch('iso_year', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_year(date_expression) -%}
    cast(isoyear({{ date_expression }}) as integer)
{%- endmacro %}

{% macro spark__iso_year(date_expression) -%}
    cast(extract(yearofweek from {{ date_expression }}) as integer)
{%- endmacro %}

{% macro iso_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_week', 'aiusage')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_week(date_expression) -%}
    cast(week({{ date_expression }}) as integer)
{%- endmacro %}

{% macro spark__iso_week(date_expression) -%}
    cast(weekofyear({{ date_expression }}) as integer)
{%- endmacro %}

{#- Stops the query with `message` (a SQL text expression); used in a filter. -#}
{% macro raise_error_sql(message) -%}
    {{ return(adapter.dispatch('raise_error_sql', 'aiusage')(message)) }}
{%- endmacro %}

{% macro default__raise_error_sql(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro spark__raise_error_sql(message) -%}
    raise_error({{ message }})
{%- endmacro %}

{#- ------------------------------------------------------- incremental strategies -- -#}

{#-
    DuckDB replaces the refreshed keys (delete+insert on unique_key). Spark without Delta
    Lake has no delete: its incremental models are parquet tables partitioned by the day
    column that the refresh recomputes whole (partition_column), and insert_overwrite
    replaces exactly those partitions. A model whose refresh cannot be expressed as whole
    partitions (deduplication across landing days) is rebuilt as a table on Spark
    (incremental_materialization(false)).
-#}
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

{#- ------------------------------------------------------------ contract constraints -- -#}

{#- dbt-spark persists a contract's constraints (ALTER COLUMN ... SET NOT NULL) unless the
    model's file_format is set to something other than delta: an unset file_format counts
    as delta, and the plain parquet tables of the local `spark` target reject the ALTER.
    Constraints are persisted only on Delta tables (Databricks); elsewhere on Spark they are
    NOT_ENFORCED, and the parity test (make test-spark) checks the marts against DuckDB,
    which enforces them. Overrides the dbt-spark macro of the same name. -#}
{% macro spark__persist_constraints(relation, model) %}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced and config.get('file_format') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
    {%- endif -%}
{% endmacro %}
