{#-
    Landing-date cutoff for incremental refreshes, computed when the model compiles and
    inlined as a literal (a subquery cutoff would not be pushed down to scans; the landed
    files themselves are chosen by landing_window_files, below). The look-back
    window (var lookback_days) re-reads recent days for late and re-delivered files.
    A backfill (var backfill_start, YYYY-MM-DD, set by `aiusage build --start-date` or the
    Dagster launchpad) moves the cutoff back to that day; the days after it are re-read as
    well, so that the latest delivery of a request keeps winning the deduplication.
-#}
{% macro landing_cutoff_date(relation, column='landing_date') -%}
    {%- if not execute -%}{{ return("date '1900-01-01'") }}{%- endif -%}
    {%- set backfill_start = var('backfill_start', none) -%}
    {%- if backfill_start -%}
        {%- set backfill_start = modules.datetime.date.fromisoformat(backfill_start | string) -%}
    {%- endif -%}
    {%- set result = run_query(
        "select cast(max(" ~ column ~ ") as string) from " ~ relation
    ) -%}
    {%- set max_date = result.columns[0].values()[0] -%}
    {%- if max_date is none -%}
        {{ return("date '1900-01-01'") }}
    {%- endif -%}
    {%- set lookback = "(date '" ~ max_date ~ "' - " ~ var('lookback_days') ~ ")" -%}
    {%- if backfill_start -%}
        {{ return("least(date '" ~ backfill_start.isoformat() ~ "', " ~ lookback ~ ")") }}
    {%- endif -%}
    {{ return(lookback) }}
{%- endmacro %}

{#-
    The landed files of one landing source (`name`, e.g. 'events') that a refresh of an
    incremental model (`window_relation`, its `this`) must read: every file on a first or full
    build (window_relation none), else the files of the landing days from
    landing_cutoff_date(window_relation) on, listed when the model runs. DuckDB's read_text
    cannot prune files by a filter on their name: a filtered glob still reads every landed
    byte, so a refresh would grow with history. Returns a relation (read_text of a glob or
    of a file list). The relation comes from the source's relation_name in the graph, not
    from source(): lineage goes landing -> staging view -> model (the model declares
    `-- depends_on` the staging views, whose SQL it runs over these files).
    On Spark it is the registered landing view, filtered by landing_date downstream.
-#}
{% macro landing_window_files(name, window_relation=none) -%}
    {{ return(adapter.dispatch('landing_window_files', 'aiusage')(name, window_relation)) }}
{%- endmacro %}

{% macro landing_relation_name(name) -%}
    {%- if not execute -%}{{ return('landing_' ~ name) }}{%- endif -%}
    {%- set node = graph.sources.values()
        | selectattr('source_name', 'equalto', 'landing')
        | selectattr('name', 'equalto', name) | first -%}
    {{ return(node.relation_name) }}
{%- endmacro %}

{% macro default__landing_window_files(name, window_relation) -%}
    {%- set text = landing_relation_name(name) -%}
    {%- set match = modules.re.fullmatch("read_text\\('((?:[^']|'')*)'\\)", text) -%}
    {%- if not execute or window_relation is none or match is none -%}
        {{ return(text) }}
    {%- endif -%}
    {%- set files_sql -%}
        select file
        from glob('{{ match.group(1) }}')
        where {{ landing_date_from_path('file') }} >= {{ landing_cutoff_date(window_relation) }}
        order by file
    {%- endset -%}
    {%- set files = run_query(files_sql).columns[0].values() -%}
    {%- if files | length == 0 -%}
        {{ return("(select cast(null as string) as filename, cast(null as string) as content"
                  ~ " where false)") }}
    {%- endif -%}
    {%- set quoted = [] -%}
    {%- for f in files -%}{%- do quoted.append("'" ~ f | replace("'", "''") ~ "'") -%}{%- endfor -%}
    {{ return("read_text([" ~ quoted | join(', ') ~ "])") }}
{%- endmacro %}

{% macro spark__landing_window_files(name, window_relation) -%}
    {{ return(landing_relation_name(name)) }}
{%- endmacro %}
