-- Every landed row (line of a JSONL file, result of a usage page) of every source, with
-- its verdict: the key of the record it describes (request or usage bucket), the hash of
-- its canonical content, or the rejection reason. The basis of row accounting
-- (landed = accepted + duplicates + rejected) and of the quarantine.

with

events as (
    select * from {{ ref('stg_events__usage') }}
),

litellm as (
    select * from {{ ref('stg_litellm__spend_logs') }}
),

langfuse as (
    select * from {{ ref('stg_langfuse__observations') }}
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
    {%- for name, system in [('events', 'events'), ('litellm', 'litellm_spend_logs'),
        ('langfuse', 'langfuse_observations')] %}
        select
            '{{ system }}' as source_system,
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
        from {{ name }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
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
