{#- Column lists of the canonical event contract, shared by staging and tests. -#}

{% macro events_token_columns() -%}
    {{ return([
        'input_tokens', 'cache_read_tokens', 'cache_write_tokens',
        'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens',
    ]) }}
{%- endmacro %}

{#- Fields of an event line read as text first, so that a wrong type becomes a rejection
    reason instead of a silent null (metadata stays JSON). -#}
{% macro events_text_fields() -%}
    {{ return([
        'request_id', 'occurred_at', 'provider', 'model', 'client', 'team', 'user_id',
        'workflow', 'feature', 'task_type', 'session_id', 'prompt_version', 'environment',
        'input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'cache_write_1h_tokens',
        'output_tokens', 'reasoning_tokens', 'service_tier', 'latency_ms', 'ttft_ms',
        'status', 'error_type', 'http_status', 'quality_score', 'passed_quality',
        'reported_cost_usd',
    ]) }}
{%- endmacro %}

{#- DuckDB json_transform structure of an event line (see parse_event_record). -#}
{% macro events_json_structure() -%}
    {%- set text_fields = events_text_fields() -%}
    {%- set parts = [] -%}
    {%- for f in text_fields -%}{%- do parts.append('"' ~ f ~ '":"VARCHAR"') -%}{%- endfor -%}
    {%- do parts.append('"metadata":"JSON"') -%}
    {{ return('{' ~ parts | join(',') ~ '}') }}
{%- endmacro %}
