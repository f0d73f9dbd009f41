{#- Usage report pages (OpenAI usage API, Anthropic Admin usage report) -> one row per
    bucket result, numbered in file order. A landed file holds one page or an array of
    pages; a file that is not JSON gives one row with is_valid_json = false. -#}
{% macro usage_page_results(relation='source') -%}
    with files as (
        select
            filename as source_file,
            cast(regexp_extract(filename, 'dt=(\d{4}-\d{2}-\d{2})', 1) as date)
                as landing_date,
            content,
            json_valid(content) as is_valid_json
        from {{ relation }}
    ),

    page_lists as (
        select
            source_file,
            landing_date,
            case
                when json_type(json(content)) = 'ARRAY' then json_extract(content, '$[*]')
                else [json(content)]
            end as pages
        from files
        where is_valid_json
    ),

    pages as (
        select
            source_file,
            landing_date,
            unnest(pages) as page,
            unnest(generate_series(1, len(pages))) as page_index
        from page_lists
    ),

    bucket_lists as (
        select
            *,
            coalesce(json_extract(page, '$.data[*]'), []) as buckets
        from pages
    ),

    buckets as (
        select
            source_file,
            landing_date,
            page_index,
            unnest(buckets) as bucket,
            unnest(generate_series(1, len(buckets))) as bucket_index
        from bucket_lists
    ),

    result_lists as (
        select
            *,
            coalesce(json_extract(bucket, '$.results[*]'), []) as results
        from buckets
    ),

    results as (
        select
            source_file,
            landing_date,
            page_index,
            bucket_index,
            bucket,
            unnest(results) as result,
            unnest(generate_series(1, len(results))) as result_index
        from result_lists
    ),

    numbered as (
        select
            source_file,
            landing_date,
            cast(row_number() over (
                partition by source_file order by page_index, bucket_index, result_index
            ) as bigint) as line_number,
            true as is_valid_json,
            bucket,
            result
        from results
    ),

    unreadable as (
        select
            source_file,
            landing_date,
            cast(1 as bigint) as line_number,
            false as is_valid_json,
            cast(null as json) as bucket,
            cast(null as json) as result
        from files
        where not is_valid_json
    )

    select *, left(content_text, 20000) as raw_line
    from (
        select
            *,
            cast(json_object(
                'bucket_start', bucket -> '$.start_time',
                'bucket_start_at', bucket -> '$.starting_at',
                'bucket_end', bucket -> '$.end_time',
                'bucket_end_at', bucket -> '$.ending_at',
                'result', result
            ) as string) as content_text
        from numbered
        union all
        select
            unreadable.*,
            files.content as content_text
        from unreadable
        inner join files on unreadable.source_file = files.source_file
    )
{%- endmacro %}

{#- Rejection rules shared by the provider usage report staging models. -#}
{% macro provider_usage_rejection_rules() -%}
    when not is_valid_json then 'malformed_json'
    when json_type(result) <> 'OBJECT' then 'result_not_an_object'
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
    when bucket_start_at > cast(now() as timestamp)
        + to_hours({{ var('max_future_skew_hours') }}) then 'timestamp_in_future'
{%- endmacro %}
