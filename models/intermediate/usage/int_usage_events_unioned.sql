-- Accepted rows of every per-request source (canonical events, LiteLLM SpendLogs, Langfuse
-- generations), in canonical columns: one row per accepted landed line. Not deduplicated:
-- fct_llm_requests deduplicates on (provider, request_id), so that its filter on
-- landing_date pushes down through this view to the stored staging rows.

{%- set sources = [
    ('events', 'events'),
    ('litellm_spend_logs', 'litellm'),
    ('langfuse_observations', 'langfuse'),
] %}

with

events as (
    select * from {{ ref('stg_events__usage_events') }}
),

litellm as (
    select * from {{ ref('stg_litellm__spend_logs') }}
),

langfuse as (
    select * from {{ ref('stg_langfuse__observations') }}
),

final as (
    {%- for source_system, rows in sources %}
        select
            '{{ source_system }}' as source_system,
            landed_row_key,
            source_file,
            landing_date,
            line_number,
            {{ events_canonical_columns() | join(',\n            ') }}
        from {{ rows }}
        where rejection_reason is null
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
