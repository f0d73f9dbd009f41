-- Every landed row (line of a JSONL file, result of a usage page) of every source, with
-- its verdict: the key of the record it describes (request or usage bucket), the hash of
-- its canonical content, or the rejection reason. The basis of row accounting
-- (landed = accepted + duplicates + rejected) and of the quarantine.

{%- set report_sources = [('openai_usage', 'openai'), ('anthropic_usage', 'anthropic')] %}

with

request_rows as (
    select * from {{ ref('int_request_rows_unioned') }}
),

openai as (
    select * from {{ ref('stg_openai__usage_results') }}
),

anthropic as (
    select * from {{ ref('stg_anthropic__usage_results') }}
),

accepted_buckets as (
    select * from {{ ref('int_provider_usage_buckets_unioned') }}
),

landed_requests as (
    select
        source_system,
        landed_row_key,
        source_file,
        landing_date,
        line_number,
        raw_line,
        rejection_reason,
        request_id,
        case
            when rejection_reason is null then md5(provider || '|' || request_id)
        end as record_key,
        case when rejection_reason is null then {{ canonical_content_hash() }} end
            as content_hash
    from request_rows
),

report_rows as (
    {%- for source_system, rows in report_sources %}
        select
            '{{ source_system }}' as source_system,
            {{ rows }}.landed_row_key,
            {{ rows }}.source_file,
            {{ rows }}.landing_date,
            {{ rows }}.line_number,
            {{ rows }}.raw_line,
            {{ rows }}.rejection_reason,
            cast(null as string) as request_id,
            accepted_buckets.usage_key as record_key,
            accepted_buckets.content_hash
        from {{ rows }}
        left join accepted_buckets
            on {{ rows }}.landed_row_key = accepted_buckets.landed_row_key
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select * from landed_requests
    union all
    select * from report_rows
)

select * from final
