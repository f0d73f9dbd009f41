{#- Helpers shared by the staging models of every landed source (issue: ingestion). -#}

{#- True for a line with content: not only spaces, tabs and carriage returns (a blank line of a
    CRLF file is blank, not malformed). `aiusage ingest` counts rows with the same rule. -#}
{% macro is_content_line(text) -%}
    {{ return(adapter.dispatch('is_content_line', 'aiusage')(text)) }}
{%- endmacro %}

{#- A regular expression that stops at the first non-blank character: DuckDB's trim with a
    character list walks the whole line (~2 s per million 700-byte lines). -#}
{% macro default__is_content_line(text) -%}
    regexp_matches({{ text }}, '[^ \t\r]')
{%- endmacro %}

{% macro spark__is_content_line(text) -%}
    trim(both concat(' ', chr(9), chr(13)) from {{ text }}) <> ''
{%- endmacro %}

{#- The line as a JSON object, or null when it is not one (-> malformed_json). -#}
{% macro json_object_or_null(text) -%}
    case when {{ is_json_object(text) }} then {{ as_json(text) }} end
{%- endmacro %}

{#- A field that is a JSON object, or a string holding one (CSV exports, LiteLLM). -#}
{% macro json_field_object(json_expression) -%}
    {{ return(adapter.dispatch('json_field_object', 'aiusage')(json_expression)) }}
{%- endmacro %}

{% macro default__json_field_object(json_expression) -%}
    case
        when json_type({{ json_expression }}) = 'OBJECT' then {{ json_expression }}
        when json_type({{ json_expression }}) = 'VARCHAR'
            and json_valid({{ json_expression }} ->> '$')
            and json_type(json({{ json_expression }} ->> '$')) = 'OBJECT'
            then json({{ json_expression }} ->> '$')
    end
{%- endmacro %}

{#- Spark: json_value already unquotes a string, so an object or a string holding one is
    the object's text. -#}
{% macro spark__json_field_object(json_expression) -%}
    case when {{ is_json_object(json_expression) }} then {{ json_expression }} end
{%- endmacro %}

{#- A token count: null when absent, the integer when valid; `_raw` keeps the text so that
    a non-integer becomes a rejection reason instead of a silent zero. -#}
{% macro token_value(text_expression) -%}
    try_cast(try_cast({{ text_expression }} as decimal(38, 0)) as bigint)
{%- endmacro %}

{#- Provider from a model id when the source carries none (Langfuse): a provider/ prefix
    wins, then the well-known model families. -#}
{% macro provider_from_model(model_expression) -%}
    case
        when {{ model_expression }} like '%/%'
            then lower(split_part({{ model_expression }}, '/', 1))
        when {{ regex_matches(
            'lower(' ~ model_expression ~ ')',
            '^(gpt-|o[1-9]|chatgpt-|text-embedding-|davinci|babbage|codex-)'
        ) }}
            then 'openai'
        when lower({{ model_expression }}) like 'claude%' then 'anthropic'
        when lower({{ model_expression }}) like 'gemini%' then 'google'
        when lower({{ model_expression }}) like 'mistral%' or lower({{ model_expression }}) like 'codestral%'
            then 'mistral'
        when lower({{ model_expression }}) like 'command%' then 'cohere'
        when lower({{ model_expression }}) like 'grok%' then 'xai'
        when lower({{ model_expression }}) like 'deepseek%' then 'deepseek'
    end
{%- endmacro %}

{#- The model id without a provider/ prefix. -#}
{% macro model_without_provider(model_expression) -%}
    case
        when {{ model_expression }} like '%/%'
            then substr({{ model_expression }}, instr({{ model_expression }}, '/') + 1)
        else {{ model_expression }}
    end
{%- endmacro %}

{#- Rejection rules every per-request source shares, after its own parsing rules.
    Expects the canonical columns and `<token>_raw` text columns in scope. -#}
{% macro per_request_rejection_rules() -%}
    when request_id is null then 'missing_request_id'
    when occurred_at_raw is null then 'missing_occurred_at'
    when occurred_at is null then 'invalid_occurred_at'
    when provider is null then 'missing_provider'
    when model_reported is null then 'missing_model'
    {%- for col in events_token_columns() %}
    when {{ col }}_raw is not null and {{ col }} is null then 'invalid_{{ col }}'
    when {{ col }} < 0 then 'negative_{{ col }}'
    {%- endfor %}
    when coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0)
        > coalesce(input_tokens, 0) then 'cached_tokens_exceed_input'
    when coalesce(cache_write_1h_tokens, 0) > coalesce(cache_write_tokens, 0)
        then 'cache_write_1h_exceeds_cache_write'
    when coalesce(reasoning_tokens, 0) > coalesce(output_tokens, 0)
        then 'reasoning_tokens_exceed_output'
    when status not in ('success', 'error', 'timeout', 'rate_limited', 'cancelled')
        then 'unknown_status'
    when service_tier not in ('standard', 'batch', 'flex', 'priority')
        then 'unknown_service_tier'
    when latency_ms < 0 or ttft_ms < 0 then 'negative_latency'
    when occurred_at < timestamp '2020-01-01' then 'timestamp_before_2020'
    when occurred_at > {{ future_skew_limit() }} then 'timestamp_in_future'
{%- endmacro %}

{#- Hash of the canonical fields of a delivery: two copies of one request with different
    hashes are a conflict (the latest delivery is kept). -#}
{% macro canonical_content_hash() -%}
    {%- set fields = [
        'request_id', 'provider', 'model_reported', 'occurred_at', 'client', 'team',
        'user_id', 'workflow', 'feature', 'task_type', 'session_id', 'prompt_version',
        'environment', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens',
        'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens', 'service_tier',
        'latency_ms', 'ttft_ms', 'status', 'error_type', 'http_status', 'quality_score',
        'passed_quality', 'reported_cost_usd',
    ] -%}
    md5(concat_ws(
        '|'
        {%- for f in fields %},
        coalesce(
            {{ decimal_as_text(f) if f == 'reported_cost_usd' else 'cast(' ~ f ~ ' as string)' }},
            {{ hash_null_marker(2) }}
        )
        {%- endfor %}
    ))
{%- endmacro %}
