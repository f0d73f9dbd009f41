{#- Column lists of the canonical contracts, shared by staging, intermediate models and
    tests: the usage event (usage_event.v1.schema.json of packages/aiusage-tracking; a
    Python test checks events_text_fields against it) and the bucket result of a provider
    usage report. -#}

{% macro events_token_columns() -%}
    {{ return([
        'input_tokens', 'cache_read_tokens', 'cache_write_tokens',
        'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens',
    ]) }}
{%- endmacro %}

{#- Counts of server-side tool calls a request reports (billed per call by seeds/request_fees;
    absent = 0, like the token counts). -#}
{% macro events_tool_count_columns() -%}
    {{ return(['web_search_requests', 'code_execution_containers']) }}
{%- endmacro %}

{#- The pricing dimensions a response reports beside its tokens (seeds/price_multipliers:
    one multiplier per value). -#}
{% macro events_pricing_dimensions() -%}
    {{ return(['speed', 'inference_geo']) }}
{%- endmacro %}

{#- The canonical event columns a per-request staging model stores, in order; the last,
    is_proxy_cache_hit, is not a field of the event contract: a gateway's own cache answered
    the request (LiteLLM cache_hit), false for every other source. -#}
{% macro events_canonical_columns() -%}
    {{ return([
        'request_id', 'occurred_at', 'provider', 'model_reported', 'client', 'team',
        'user_id', 'workflow', 'feature', 'task_type', 'session_id', 'prompt_version',
        'environment',
    ] + events_token_columns() + [
        'service_tier', 'latency_ms', 'ttft_ms', 'status', 'error_type', 'http_status',
        'quality_score', 'passed_quality', 'reported_cost_usd', 'billed_cost_usd', 'task_id',
        'service_tier_served',
    ] + events_pricing_dimensions() + events_tool_count_columns() + ['is_proxy_cache_hit']) }}
{%- endmacro %}

{#- The canonical columns of a bucket result of a provider usage report (OpenAI usage API,
    Anthropic Admin usage report), in order. -#}
{% macro usage_report_columns() -%}
    {{ return([
        'provider', 'bucket_start_at', 'bucket_end_at', 'model_reported', 'project_id',
        'api_key_id', 'user_id', 'service_tier', 'context_window', 'input_tokens',
        'cache_read_tokens', 'cache_write_tokens', 'cache_write_1h_tokens', 'output_tokens',
        'requests',
    ]) }}
{%- endmacro %}

{#- Fields of an event line read as text first, so that a wrong type becomes a rejection
    reason instead of a silent null (metadata stays JSON). -#}
{% macro events_text_fields() -%}
    {{ return([
        'request_id', 'occurred_at', 'provider', 'model', 'client', 'team', 'user_id',
        'workflow', 'feature', 'task_type', 'session_id', 'task_id', 'prompt_version',
        'environment', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens',
        'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens', 'service_tier', 'latency_ms', 'ttft_ms',
        'status', 'error_type', 'http_status', 'quality_score', 'passed_quality',
        'reported_cost_usd', 'billed_cost_usd', 'service_tier_served', 'speed', 'inference_geo',
        'web_search_requests', 'code_execution_containers',
    ]) }}
{%- endmacro %}

{#- DuckDB json_transform structure of an event line (see parse_event_record): the
    contract's fields and the marker `aiusage ingest` puts on a row it could not convert
    (_ingest_error), all as text, in the one parse of the line. The free-form metadata is
    not extracted: no model reads it. -#}
{% macro events_json_structure() -%}
    {%- set text_fields = events_text_fields() -%}
    {%- set parts = [] -%}
    {%- for f in text_fields -%}{%- do parts.append('"' ~ f ~ '":"VARCHAR"') -%}{%- endfor -%}
    {%- do parts.append('"_ingest_error":"VARCHAR"') -%}
    {{ return('{' ~ parts | join(',') ~ '}') }}
{%- endmacro %}
