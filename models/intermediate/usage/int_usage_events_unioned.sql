-- Accepted per-request events of every per-request source (canonical events, LiteLLM
-- SpendLogs, Langfuse generations), in canonical columns, each with the hash of its
-- canonical content (to tell identical re-deliveries from conflicting ones).
-- Deduplication happens in fct_llm_requests (per refresh batch and by unique key), so
-- that filters on landing_date push down to the landed-file scans through this view.

{%- set columns = [
    'source_file', 'landing_date', 'line_number', 'request_id', 'occurred_at', 'provider',
    'model_reported', 'client', 'team', 'user_id', 'workflow', 'feature', 'task_type',
    'session_id', 'prompt_version', 'environment', 'input_tokens', 'cache_read_tokens',
    'cache_write_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens',
    'service_tier', 'latency_ms', 'ttft_ms', 'status', 'error_type', 'http_status',
    'quality_score', 'passed_quality', 'reported_cost_usd',
] %}

with

events as (
    select * from {{ ref('stg_events__usage') }}
    where rejection_reason is null
),

litellm as (
    select * from {{ ref('stg_litellm__spend_logs') }}
    where rejection_reason is null
),

langfuse as (
    select * from {{ ref('stg_langfuse__observations') }}
    where rejection_reason is null
),

unioned as (
    {%- for name, system in [('events', 'events'), ('litellm', 'litellm_spend_logs'),
        ('langfuse', 'langfuse_observations')] %}
        select
            '{{ system }}' as source_system,
            {%- for col in columns %}
                {{ col }},
            {%- endfor %}
            {{ canonical_content_hash() }} as content_hash
        from {{ name }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from unioned
