{#- Usage report pages (OpenAI usage API, Anthropic Admin usage report) -> one row per
    bucket result, numbered in file order. A landed file holds one page or an array of
    pages; a file that is not JSON gives one row with is_valid_json = false and its text.
    Columns: source_file, landing_date, line_number, is_valid_json, bucket, result (JSON),
    content_text (the bucket bounds and the result as JSON text, or the file's text),
    raw_line (content_text cut at 20,000 characters) and the file's stamp
    (landed_file_columns). The engines differ only in how
    arrays of JSON are split (usage_page_files, usage_page_result_ctes) and how the
    content text is written (usage_result_text). -#}
{% macro usage_page_results(relation='source') -%}
    with

    files as (
        {{ usage_page_files(relation) }}
    ),

    {{ usage_page_result_ctes('files') }},

    numbered as (
        select
            source_file,
            landing_date,
            cast(row_number() over (
                partition by source_file order by page_index, bucket_index, result_index
            ) as bigint) as line_number,
            true as is_valid_json,
            bucket,
            result,
            {{ usage_result_text('bucket', 'result') }} as content_text
        from results
    ),

    unreadable as (
        select
            source_file,
            landing_date,
            cast(1 as bigint) as line_number,
            false as is_valid_json,
            cast(null as {{ type_json() }}) as bucket,
            cast(null as {{ type_json() }}) as result,
            content as content_text
        from files
        where not is_valid_json
    ),

    result_rows as (
        select * from numbered
        union all
        select * from unreadable
    )

    select
        result_rows.*,
        left(result_rows.content_text, 20000) as raw_line,
        {{ landed_file_columns('files') }}
    from result_rows
    inner join files on result_rows.source_file = files.source_file
{%- endmacro %}

{#- The landed files: source_file, landing_date, content and is_valid_json (a JSON
    document), plus what the engine's page split needs. -#}
{% macro usage_page_files(relation) -%}
    {{ return(adapter.dispatch('usage_page_files', 'aiusage')(relation)) }}
{%- endmacro %}

{% macro default__usage_page_files(relation) -%}
    select
        filename as source_file,
        {{ landing_date_from_path('filename') }} as landing_date,
        {{ landed_file_stamp() }},
        content,
        json_valid(content) as is_valid_json
    from {{ relation }}
{%- endmacro %}

{#- Spark: a file is read when it is a JSON object (one page) or an array. -#}
{% macro spark__usage_page_files(relation) -%}
    select
        filename as source_file,
        {{ landing_date_from_path('filename') }} as landing_date,
        {{ landed_file_stamp() }},
        content,
        from_json(content, 'array<string>') as page_array,
        json_object_keys(content) is not null as is_object,
        (
            json_object_keys(content) is not null
            or from_json(content, 'array<string>') is not null
        ) as is_valid_json
    from {{ relation }}
{%- endmacro %}

{#- CTEs ending with `results`: one row per result of every bucket of every page of the
    valid files of `files`: source_file, landing_date, page_index, bucket_index,
    result_index (1-based), bucket and result. -#}
{% macro usage_page_result_ctes(files) -%}
    {{ return(adapter.dispatch('usage_page_result_ctes', 'aiusage')(files)) }}
{%- endmacro %}

{% macro default__usage_page_result_ctes(files) -%}
    page_lists as (
        select
            source_file,
            landing_date,
            case
                when json_type(json(content)) = 'ARRAY' then json_extract(content, '$[*]')
                else [json(content)]
            end as pages
        from {{ files }}
        where is_valid_json
    ),

    pages as (
        {{ unnest_indexed('page_lists', ['source_file', 'landing_date'], 'pages', 'page') }}
    ),

    bucket_lists as (
        select
            *,
            coalesce(json_extract(page, '$.data[*]'), []) as buckets
        from pages
    ),

    buckets as (
        {{ unnest_indexed(
            'bucket_lists', ['source_file', 'landing_date', 'page_index'], 'buckets', 'bucket'
        ) }}
    ),

    result_lists as (
        select
            *,
            coalesce(json_extract(bucket, '$.results[*]'), []) as results
        from buckets
    ),

    results as (
        {{ unnest_indexed(
            'result_lists',
            ['source_file', 'landing_date', 'page_index', 'bucket_index', 'bucket'],
            'results',
            'result'
        ) }}
    )
{%- endmacro %}

{#- One row per element of the list column `lists` of `relation`, beside its `keep` columns:
    the element as `item` and its 1-based position as `item`_index (DuckDB: two unnests of
    the same length run in step). -#}
{% macro unnest_indexed(relation, keep, lists, item) -%}
    select
        {%- for column in keep %}
        {{ column }},
        {%- endfor %}
        unnest({{ lists }}) as {{ item }},
        unnest(generate_series(1, len({{ lists }}))) as {{ item }}_index
    from {{ relation }}
{%- endmacro %}

{#- Spark: JSON stays text; arrays are split with from_json(..., 'array<string>'), which
    keeps each element's JSON text. -#}
{% macro spark__usage_page_result_ctes(files) -%}
    page_lists as (
        select
            source_file,
            landing_date,
            case when is_object then array(content) else page_array end as pages
        from {{ files }}
        where is_object or page_array is not null
    ),

    pages as (
        select
            page_lists.source_file,
            page_lists.landing_date,
            page.page,
            page.page_index + 1 as page_index
        from page_lists
        lateral view posexplode(page_lists.pages) page as page_index, page
    ),

    buckets as (
        select
            pages.source_file,
            pages.landing_date,
            pages.page_index,
            bucket.bucket,
            bucket.bucket_index + 1 as bucket_index
        from pages
        lateral view posexplode(
            coalesce(from_json(get_json_object(pages.page, '$.data'), 'array<string>'), array())
        ) bucket as bucket_index, bucket
    ),

    results as (
        select
            buckets.source_file,
            buckets.landing_date,
            buckets.page_index,
            buckets.bucket_index,
            buckets.bucket,
            result.result,
            result.result_index + 1 as result_index
        from buckets
        lateral view posexplode(
            coalesce(
                from_json(get_json_object(buckets.bucket, '$.results'), 'array<string>'),
                array()
            )
        ) result as result_index, result
    )
{%- endmacro %}

{#- The bucket bounds and the result as one JSON text (raw_line of a usage report row). -#}
{% macro usage_result_text(bucket, result) -%}
    {{ return(adapter.dispatch('usage_result_text', 'aiusage')(bucket, result)) }}
{%- endmacro %}

{% macro default__usage_result_text(bucket, result) -%}
    cast(json_object(
        'bucket_start', {{ bucket }} -> '$.start_time',
        'bucket_start_at', {{ bucket }} -> '$.starting_at',
        'bucket_end', {{ bucket }} -> '$.end_time',
        'bucket_end_at', {{ bucket }} -> '$.ending_at',
        'result', {{ result }}
    ) as string)
{%- endmacro %}

{% macro spark__usage_result_text(bucket, result) -%}
    to_json(named_struct(
        'bucket_start', get_json_object({{ bucket }}, '$.start_time'),
        'bucket_start_at', get_json_object({{ bucket }}, '$.starting_at'),
        'bucket_end', get_json_object({{ bucket }}, '$.end_time'),
        'bucket_end_at', get_json_object({{ bucket }}, '$.ending_at'),
        'result', {{ result }}
    ))
{%- endmacro %}

{#- Rejection rules shared by the provider usage report staging models. -#}
{% macro provider_usage_rejection_rules() -%}
    when not is_valid_json then 'malformed_json'
    when not {{ is_json_object('result') }} then 'result_not_an_object'
    when bucket_start_at is null then 'invalid_bucket_start'
    when bucket_end_at is null or bucket_end_at < bucket_start_at then 'invalid_bucket_end'
    {%- for col in ['input_tokens', 'cache_read_tokens', 'cache_write_tokens',
        'cache_write_1h_tokens', 'output_tokens', 'requests'] %}
    when {{ col }}_raw is not null and {{ col }} is null then 'invalid_{{ col }}'
    when {{ col }} < 0 then 'negative_{{ col }}'
    {%- endfor %}
    when cache_read_tokens + cache_write_tokens > input_tokens
        then 'cached_tokens_exceed_input'
    when bucket_start_at < timestamp '2020-01-01' then 'timestamp_before_2020'
    when bucket_start_at > {{ future_skew_limit() }} then 'timestamp_in_future'
{%- endmacro %}
