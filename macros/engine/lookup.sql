{#- Engine-specific SQL, finding a few rows of a large table by key (default__ = DuckDB,
    spark__ = Spark; see landing.sql). -#}

{#- The first 15 hexadecimal digits of an md5 record key (fct_landed_rows.record_key) as a
    BIGINT (60 bits): the narrow key of fct_landed_rows' record-day index. Two keys may share
    a prefix (about 1 in 10^18 for a pair); a lookup by prefix only narrows the landing days
    to read, and the rows read there are matched by their whole key. A key that is not
    hexadecimal fails the cast: every record key is an md5. -#}
{% macro record_key_prefix(key) -%}
    {{ return(adapter.dispatch('record_key_prefix', 'aiusage')(key)) }}
{%- endmacro %}

{% macro default__record_key_prefix(key) -%}
    cast('0x' || left({{ key }}, 15) as bigint)
{%- endmacro %}

{% macro spark__record_key_prefix(key) -%}
    cast(conv(substr({{ key }}, 1, 15), 16, 10) as bigint)
{%- endmacro %}

{#- fct_landed_rows' record-day index (DuckDB): the table `<fct_landed_rows>__record_days`
    beside it, one row per landed row with a record key: its landing_date and
    record_key_prefix. An index of the table, not a model: fct_landed_rows' own post-hook
    (macro index_landed_record_days) keeps it in step with the table in the same node, so
    that no selection of models can leave it behind the rows it indexes; publish drops it
    with every relation that is not a mart. -#}
{% macro landed_record_days_relation(landed_rows) -%}
    {{ return(side_table(landed_rows, 'record_days')) }}
{%- endmacro %}

{#- The table `<relation>__<name>` beside `relation`: a table a model's own hooks keep
    (fct_landed_rows' record-day index, the withdrawal logs of the facts merged by key,
    int_sessions_windowed's recomputed sessions), not a model. -#}
{% macro side_table(relation, name) -%}
    {{ return(relation.incorporate(path={'identifier': relation.identifier ~ '__' ~ name})) }}
{%- endmacro %}

{#- The post-hook of fct_landed_rows, after the landing watermark it logs (the project's
    post-hook runs first): replace the index's rows of the landing days the run rewrote
    (macro tested_landing_window: the logged cutoff; every day in a build from nothing, or
    when the index does not exist yet, as in a warehouse built before it), from the table's
    rows of those days. Nothing on Spark (its lookups read the keys). -#}
{% macro index_landed_record_days() -%}
    {{ return(adapter.dispatch('index_landed_record_days', 'aiusage')()) }}
{%- endmacro %}

{% macro default__index_landed_record_days() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set index = landed_record_days_relation(this) -%}
    {#- a warehouse built before the index (or without it): every day -#}
    {%- set exists = adapter.get_relation(index.database, index.schema, index.identifier) -%}
    {%- set rewritten = tested_landing_window(this) if exists is not none else 'true' -%}
    create table if not exists {{ index }} (landing_date date, record_key_prefix bigint);
    delete from {{ index }} where {{ rewritten }};
    insert into {{ index }}
    select landing_date, {{ record_key_prefix('record_key') }}
    from {{ this }}
    where record_key is not null and ({{ rewritten }})
{%- endmacro %}

{% macro spark__index_landed_record_days() -%}
{%- endmacro %}

{#- A filter on fct_landed_rows (`landed_rows`, aliased `alias` in the query, or unaliased)
    that keeps its rows whose record_key is among the values of column `keys_column` of the
    CTE `keys`: the deliveries of a refresh's records among every landed row. On DuckDB the
    keys' prefixes are looked up in the table's record-day index (8-byte numbers, not the
    32-character keys of every landed row), which gives the landing days holding a delivery
    of one of the keys; the landed rows are then found by key on those days only (the row
    groups of the other days are skipped by their landing_date zone maps), in a query of
    the key columns alone, and read by row id: a filter `key in (...)` on the query that
    reads the other columns makes DuckDB decode every one of them for every row it scans
    (10M landed rows: 0.76 s against 0.3 s for four columns). A new day whose records were
    never delivered before reads one day of fct_landed_rows; a batch re-delivering older
    records reads their days too. On 10M landed rows, 11,112 new keys: 0.045 s against
    0.35-0.53 s for the scan of every key (docs/performance.md, twenty-eighth round). When
    `keys` is empty DuckDB skips the scans. On Spark (no row id, no index) it is the plain
    filter on the key. -#}
{% macro landed_rows_with_keys(landed_rows, keys, keys_column, alias=none) -%}
    {{ return(adapter.dispatch('landed_rows_with_keys', 'aiusage')(
        landed_rows, keys, keys_column, alias
    )) }}
{%- endmacro %}

{% macro default__landed_rows_with_keys(landed_rows, keys, keys_column, alias) -%}
    {{ alias ~ '.' if alias }}rowid in (
        select rowid from {{ landed_rows }}
        where
            landing_date in (
                select record_days.landing_date
                from {{ landed_record_days_relation(landed_rows) }} as record_days
                where record_days.record_key_prefix in (
                    select {{ record_key_prefix(keys ~ '.' ~ keys_column) }} from {{ keys }}
                )
            )
            and record_key in (select {{ keys }}.{{ keys_column }} from {{ keys }})
    )
{%- endmacro %}

{% macro spark__landed_rows_with_keys(landed_rows, keys, keys_column, alias) -%}
    {{ alias ~ '.' if alias }}record_key in (select {{ keys }}.{{ keys_column }} from {{ keys }})
{%- endmacro %}
