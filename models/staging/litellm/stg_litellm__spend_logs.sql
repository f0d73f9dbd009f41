{{ config(**incremental_by_file()) }}

-- One row per non-blank line of every landed LiteLLM_SpendLogs file, in canonical columns
-- and judged (rejection_reason null = usable; macro request_rejection_rules). Token
-- convention: prompt_tokens counts every prompt token (LiteLLM reports the OpenAI way,
-- cached included); cache counts live in metadata.usage_object (a JSON string in
-- SpendLogs): prompt_tokens_details.cached_tokens or cache_read_input_tokens,
-- cache_creation_input_tokens, and completion_tokens_details.reasoning_tokens.
-- Attribution: team_id, end_user (else user), organization_id as client, and workflow,
-- feature, task_type, prompt_version, environment and task_id from
-- metadata.spend_logs_metadata.
-- cache_hit True (true, "True"): LiteLLM's own response cache answered and the provider was
-- never called (spend 0); kept as is_proxy_cache_hit, which int_usage_events_priced prices
-- at 0 with cost_source proxy_cache_hit (docs/pricing.md). Any other value (False, None,
-- empty, absent) is a call to the provider.
-- A table, incremental by landed file like stg_events__usage_events: each file is parsed
-- once (macro landed_files_to_read) and a changed file's rows are replaced; the raw line
-- is kept for rejected rows only.

with

source as (
    select * from {{ landed_files_to_read(source('litellm', 'spend_logs')) }}
),

parsed as (
    {{ landed_json_lines('source') }}
),

extracted as (
    select
        *,
        {{ json_field_object(json_value('j', '$.metadata')) }} as metadata,
        {{ json_field_object(json_value(
            json_field_object(json_value('j', '$.metadata')), '$.usage_object'
        )) }} as usage_object
    from parsed
),

typed as (
    select
        {{ landed_json_line_columns('j') }},
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
        {{ model_without_provider("nullif(trim(" ~ json_text('j', '$.model') ~ "), '')") }}
            as model_reported,
        nullif({{ json_text('j', '$.organization_id') }}, '') as client,
        nullif({{ json_text('j', '$.team_id') }}, '') as team,
        coalesce(
            nullif({{ json_text('j', '$.end_user') }}, ''),
            nullif({{ json_text('j', '$.user') }}, '')
        ) as user_id,
        {%- for field in ['workflow', 'feature', 'task_type'] %}
            nullif({{ json_text('metadata', '$.spend_logs_metadata.' ~ field) }}, '')
                as {{ field }},
        {%- endfor %}
        nullif({{ json_text('j', '$.session_id') }}, '') as session_id,
        {%- for field in ['prompt_version', 'environment'] %}
            nullif({{ json_text('metadata', '$.spend_logs_metadata.' ~ field) }}, '')
                as {{ field }},
        {%- endfor %}
        {{ json_text('j', '$.prompt_tokens') }} as input_tokens_raw,
        coalesce(
            {{ json_text('usage_object', '$.prompt_tokens_details.cached_tokens') }},
            {{ json_text('usage_object', '$.cache_read_input_tokens') }}
        ) as cache_read_tokens_raw,
        {{ json_text('usage_object', '$.cache_creation_input_tokens') }}
            as cache_write_tokens_raw,
        {{ json_text(
            'usage_object', '$.cache_creation_token_details.ephemeral_1h_input_tokens'
        ) }} as cache_write_1h_tokens_raw,
        {{ json_text('j', '$.completion_tokens') }} as output_tokens_raw,
        {{ json_text('usage_object', '$.completion_tokens_details.reasoning_tokens') }}
            as reasoning_tokens_raw,
        try_cast({{ json_text('j', '$.request_duration_ms') }} as bigint)
            as request_duration_ms,
        case lower(coalesce(nullif({{ json_text('j', '$.status') }}, ''), 'success'))
            when 'failure' then 'error'
            when 'failed' then 'error'
            else lower(coalesce(nullif({{ json_text('j', '$.status') }}, ''), 'success'))
        end as status,
        nullif({{ json_text('metadata', '$.error_information.error_class') }}, '')
            as error_type,
        cast(null as integer) as http_status,
        cast(null as string) as quality_score_raw,
        cast(null as double) as quality_score,
        cast(null as boolean) as passed_quality,
        try_cast({{ json_text('j', '$.spend') }} as decimal(38, 12)) as reported_cost_usd,
        {{ unreported_pricing_dimensions() }},
        cast(null as string) as billed_cost_usd_raw,
        cast(null as decimal(38, 12)) as billed_cost_usd,
        nullif(trim({{ json_text('metadata', '$.spend_logs_metadata.task_id') }}), '') as task_id,
        coalesce(lower(trim({{ json_text('j', '$.cache_hit') }})) = 'true', false)
            as is_proxy_cache_hit
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
            {{ request_rejection_rules() }}
        end as rejection_reason
    from tokens
),

renamed as (
    select
        {{ landed_row_columns() }},
        {{ canonical_event_columns() }}
    from judged
)

select * from renamed
