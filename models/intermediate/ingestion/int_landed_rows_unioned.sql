-- Every landed row (line of a JSONL file, result of a usage page) of every source, with
-- its verdict: the key of the record it describes (request or usage bucket), the hash of
-- its canonical content, or the rejection reason. The basis of row accounting
-- (landed = accepted + duplicates + rejected) and of the quarantine.

with

request_rows as (
    select * from {{ ref('int_request_rows_parsed') }}
),

openai as (
    select * from {{ ref('stg_openai__usage_results') }}
),

anthropic as (
    select * from {{ ref('stg_anthropic__usage_results') }}
),

accepted_usage as (
    select * from {{ ref('int_provider_usage_unioned') }}
),

per_request as (
    select
        source_system,
        source_file,
        landing_date,
        line_number,
        raw_line,
        rejection_reason,
        request_id,
        record_key,
        content_hash
    from request_rows
),

provider_reports as (
    {%- for name, system in [('openai', 'openai_usage'), ('anthropic', 'anthropic_usage')] %}
        select
            '{{ system }}' as source_system,
            {{ name }}.source_file,
            {{ name }}.landing_date,
            {{ name }}.line_number,
            {{ name }}.raw_line,
            {{ name }}.rejection_reason,
            cast(null as string) as request_id,
            accepted_usage.usage_key as record_key,
            accepted_usage.content_hash
        from {{ name }}
        left join accepted_usage
            on
                {{ name }}.source_file = accepted_usage.source_file
                and {{ name }}.line_number = accepted_usage.line_number
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

unioned as (
    select * from per_request
    union all
    select * from provider_reports
)

select * from unioned
