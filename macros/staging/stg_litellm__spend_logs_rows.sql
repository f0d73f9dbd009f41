{#- The SQL of the staging view stg_litellm__spend_logs, over `landed_files` (a read_text relation of
    landing/litellm_spend_logs files): the view passes every landed file, int_request_rows_parsed
    the files of its refresh window (landing_window_files). -#}
{% macro stg_litellm__spend_logs_rows(landed_files) -%}
-- One row per non-blank line of every landed LiteLLM_SpendLogs file, in canonical columns
-- and judged (rejection_reason null = usable). Token convention: prompt_tokens counts
-- every prompt token (LiteLLM reports the OpenAI way, cached included); cache counts live
-- in metadata.usage_object (a JSON string in SpendLogs): prompt_tokens_details.cached_tokens
-- or cache_read_input_tokens, cache_creation_input_tokens, and
-- completion_tokens_details.reasoning_tokens. Attribution: team_id, end_user (else user),
-- organization_id as client, and workflow, feature, task_type, prompt_version, environment
-- from the request's metadata.spend_logs_metadata.

with

source as (
    select * from {{ landed_files }}
),

lines as (
    {{ landed_lines('source') }}
),

parsed as (
    select
        source_file,
        landing_date,
        line_number,
        {{ strip_carriage_return('raw_line') }} as raw_line,
        {{ json_object_or_null(strip_carriage_return('raw_line')) }} as j
    from lines
    where {{ is_content_line('raw_line') }}
),

extracted as (
    select
        *,
        {{ json_field_object(json_value('j', '$.metadata')) }} as metadata,
        {{ json_field_object(json_value(json_field_object(json_value('j', '$.metadata')), '$.usage_object')) }}
            as usage_object
    from parsed
),

typed as (
    select
        source_file,
        landing_date,
        line_number,
        raw_line,
        j is not null as is_json_object,
        {{ json_text('j', '$._ingest_error') }} as ingest_error,
        nullif(trim({{ json_text('j', '$.request_id') }}), '') as request_id,
        nullif({{ json_text('j', '$.startTime') }}, '') as occurred_at_raw,
        {{ try_to_utc_timestamp(json_text('j', '$.startTime')) }} as occurred_at,
        {{ try_to_utc_timestamp(json_text('j', '$.endTime')) }} as ended_at,
        {{ try_to_utc_timestamp(json_text('j', '$.completionStartTime')) }}
            as first_token_at,
        coalesce(
            lower(nullif(trim({{ json_text('j', '$.custom_llm_provider') }}), '')),
            {{ provider_from_model("nullif(trim(" ~ json_text('j', '$.model') ~ "), '')") }}
        ) as provider,
        {{ model_without_provider("nullif(trim(" ~ json_text('j', '$.model') ~ "), '')") }} as model_reported,
        nullif({{ json_text('j', '$.organization_id') }}, '') as client,
        nullif({{ json_text('j', '$.team_id') }}, '') as team,
        coalesce(nullif({{ json_text('j', '$.end_user') }}, ''), nullif({{ json_text('j', '$.user') }}, '')) as user_id,
        nullif({{ json_text('j', '$.session_id') }}, '') as session_id,
        {{ json_text('j', '$.prompt_tokens') }} as input_tokens_raw,
        coalesce(
            {{ json_text('usage_object', '$.prompt_tokens_details.cached_tokens') }},
            {{ json_text('usage_object', '$.cache_read_input_tokens') }}
        ) as cache_read_tokens_raw,
        {{ json_text('usage_object', '$.cache_creation_input_tokens') }} as cache_write_tokens_raw,
        {{ json_text('usage_object', '$.cache_creation_token_details.ephemeral_1h_input_tokens') }}
            as cache_write_1h_tokens_raw,
        {{ json_text('j', '$.completion_tokens') }} as output_tokens_raw,
        {{ json_text('usage_object', '$.completion_tokens_details.reasoning_tokens') }}
            as reasoning_tokens_raw,
        try_cast({{ json_text('j', '$.request_duration_ms') }} as bigint) as request_duration_ms,
        case lower(coalesce(nullif({{ json_text('j', '$.status') }}, ''), 'success'))
            when 'failure' then 'error'
            when 'failed' then 'error'
            else lower(coalesce(nullif({{ json_text('j', '$.status') }}, ''), 'success'))
        end as status,
        try_cast({{ json_text('j', '$.spend') }} as decimal(38, 12)) as reported_cost_usd,
        metadata
    from extracted
),

tokens as (
    select
        *,
        {%- for col in events_token_columns() %}
            {{ token_value(col ~ '_raw') }} as {{ col }},
        {%- endfor %}
        'standard' as service_tier,
        coalesce(
            request_duration_ms,
            {{ milliseconds_between('occurred_at', 'ended_at') }}
        ) as latency_ms,
        case
            when first_token_at > occurred_at
                then {{ milliseconds_between('occurred_at', 'first_token_at') }}
        end as ttft_ms
    from typed
),

judged as (
    select
        *,
        case
            when not is_json_object then 'malformed_json'
            when ingest_error is not null then ingest_error
            {{ per_request_rejection_rules() }}
        end as rejection_reason
    from tokens
),

renamed as (
    select
        source_file,
        landing_date,
        line_number,
        raw_line,
        rejection_reason,
        request_id,
        occurred_at,
        provider,
        model_reported,
        client,
        team,
        user_id,
        nullif({{ json_text('metadata', '$.spend_logs_metadata.workflow') }}, '') as workflow,
        nullif({{ json_text('metadata', '$.spend_logs_metadata.feature') }}, '') as feature,
        nullif({{ json_text('metadata', '$.spend_logs_metadata.task_type') }}, '') as task_type,
        session_id,
        nullif({{ json_text('metadata', '$.spend_logs_metadata.prompt_version') }}, '') as prompt_version,
        nullif({{ json_text('metadata', '$.spend_logs_metadata.environment') }}, '') as environment,
        coalesce(input_tokens, 0) as input_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(cache_write_1h_tokens, 0) as cache_write_1h_tokens,
        coalesce(output_tokens, 0) as output_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        service_tier,
        latency_ms,
        ttft_ms,
        status,
        nullif({{ json_text('metadata', '$.error_information.error_class') }}, '') as error_type,
        cast(null as integer) as http_status,
        cast(null as double) as quality_score,
        cast(null as boolean) as passed_quality,
        reported_cost_usd,
        metadata
    from judged
)

select * from renamed
{%- endmacro %}
