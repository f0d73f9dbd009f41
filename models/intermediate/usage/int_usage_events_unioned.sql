-- Accepted per-request events of every per-request source (canonical events, LiteLLM
-- SpendLogs, Langfuse generations), in canonical columns, each with the hash of its
-- canonical content (to tell identical re-deliveries from conflicting ones).
-- Read from int_request_rows_parsed (parsed once per refresh); deduplication happens in
-- fct_llm_requests (per refresh batch and by unique key), so that filters on landing_date
-- push down through this view to the stored rows.

{%- set columns = [
    'source_file', 'landing_date', 'line_number', 'request_id', 'occurred_at', 'provider',
    'model_reported', 'client', 'team', 'user_id', 'workflow', 'feature', 'task_type',
    'session_id', 'prompt_version', 'environment', 'input_tokens', 'cache_read_tokens',
    'cache_write_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens',
    'service_tier', 'latency_ms', 'ttft_ms', 'status', 'error_type', 'http_status',
    'quality_score', 'passed_quality', 'reported_cost_usd',
] %}

with

parsed as (
    select * from {{ ref('int_request_rows_parsed') }}
    where rejection_reason is null
),

final as (
    select
        source_system,
        {%- for col in columns %}
            {{ col }},
        {%- endfor %}
        content_hash
    from parsed
)

select * from final
