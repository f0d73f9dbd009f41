{{ config(**incremental_by_file()) }}

-- One row per non-blank line of every landed Langfuse observations export, in canonical
-- columns and judged (rejection_reason null = usable; its own rules first, then macro
-- request_rejection_rules). Both spellings of the export are read (snake_case and the
-- public API's camelCase). Token convention: Langfuse keeps usage_details keys disjoint
-- (its integrations subtract cached tokens from `input` and reasoning tokens from
-- `output`, and price each key apart), so
--   input_tokens  = input + cache read (input_cached_tokens | cache_read_input_tokens |
--                   input_cache_read) + cache creation (input_cache_creation |
--                   cache_creation_input_tokens)
--   output_tokens = output + reasoning (output_reasoning_tokens | output_reasoning).
-- Provider: metadata.provider / ls_provider, else a provider/ prefix or the model family.
-- Observations other than generations are quarantined as not_a_generation. task_id: the
-- observation's metadata.task_id (attempts of one task share it).
-- A table, incremental by landed file like stg_events__usage_events: each file is parsed
-- once (macro landed_files_to_read) and a changed file's rows are replaced; the raw line
-- is kept for rejected rows only.

with

source as (
    select * from {{ landed_files_to_read(source('langfuse', 'observations')) }}
),

parsed as (
    {{ landed_json_lines('source') }}
),

extracted as (
    select
        *,
        coalesce(
            {{ json_field_object(json_value('j', '$.usage_details')) }},
            {{ json_field_object(json_value('j', '$.usageDetails')) }}
        ) as usage_details,
        {{ json_field_object(json_value('j', '$.metadata')) }} as metadata,
        nullif(trim(coalesce(
            {{ json_text('j', '$.provided_model_name') }},
            {{ json_text('j', '$.providedModelName') }},
            {{ json_text('j', '$.model') }}
        )), '') as model_raw,
        coalesce(
            {{ json_text('j', '$.start_time') }},
            {{ json_text('j', '$.startTime') }}
        ) as start_time_raw,
        coalesce(
            {{ json_text('j', '$.end_time') }},
            {{ json_text('j', '$.endTime') }}
        ) as end_time_raw,
        coalesce(
            {{ json_text('j', '$.completion_start_time') }},
            {{ json_text('j', '$.completionStartTime') }}
        ) as completion_start_time_raw
    from parsed
),

typed as (
    select
        {{ landed_json_line_columns('j') }},
        upper(coalesce(nullif({{ json_text('j', '$.type') }}, ''), 'GENERATION'))
            as observation_type,
        nullif(trim({{ json_text('j', '$.id') }}), '') as request_id,
        nullif(start_time_raw, '') as occurred_at_raw,
        {{ try_to_utc_timestamp('start_time_raw') }} as occurred_at,
        {{ try_to_utc_timestamp('end_time_raw') }} as ended_at,
        {{ try_to_utc_timestamp('completion_start_time_raw') }} as first_token_at,
        coalesce(
            lower(nullif({{ json_text('metadata', '$.provider') }}, '')),
            lower(nullif({{ json_text('metadata', '$.ls_provider') }}, '')),
            {{ provider_from_model('model_raw') }}
        ) as provider,
        {{ model_without_provider('model_raw') }} as model_reported,
        nullif(coalesce(
            {{ json_text('j', '$.user_id') }},
            {{ json_text('j', '$.userId') }}
        ), '') as user_id,
        nullif(coalesce(
            {{ json_text('j', '$.session_id') }},
            {{ json_text('j', '$.sessionId') }}
        ), '') as session_id,
        nullif(coalesce(
            {{ json_text('j', '$.prompt_name') }},
            {{ json_text('j', '$.promptName') }}
        ), '') as workflow,
        nullif(coalesce(
            {{ json_text('j', '$.prompt_version') }},
            {{ json_text('j', '$.promptVersion') }}
        ), '') as prompt_version,
        nullif({{ json_text('j', '$.environment') }}, '') as environment,
        nullif({{ json_text('metadata', '$.team') }}, '') as team,
        nullif({{ json_text('metadata', '$.client') }}, '') as client,
        nullif({{ json_text('metadata', '$.feature') }}, '') as feature,
        lower(nullif({{ json_text('metadata', '$.task_type') }}, '')) as task_type,
        {{ json_text('usage_details', '$.input') }} as uncached_input_raw,
        coalesce(
            {{ json_text('usage_details', '$.input_cached_tokens') }},
            {{ json_text('usage_details', '$.cache_read_input_tokens') }},
            {{ json_text('usage_details', '$.input_cache_read') }}
        ) as cache_read_tokens_raw,
        coalesce(
            {{ json_text('usage_details', '$.input_cache_creation') }},
            {{ json_text('usage_details', '$.cache_creation_input_tokens') }}
        ) as cache_write_tokens_raw,
        coalesce(
            {{ json_text('usage_details', '$.input_cache_creation_1h') }},
            {{ json_text('usage_details', '$.ephemeral_1h_input_tokens') }}
        ) as cache_write_1h_tokens_raw,
        {{ json_text('usage_details', '$.output') }} as visible_output_raw,
        coalesce(
            {{ json_text('usage_details', '$.output_reasoning_tokens') }},
            {{ json_text('usage_details', '$.output_reasoning') }}
        ) as reasoning_tokens_raw,
        upper(coalesce(nullif({{ json_text('j', '$.level') }}, ''), 'DEFAULT')) as level,
        nullif(coalesce(
            {{ json_text('j', '$.status_message') }},
            {{ json_text('j', '$.statusMessage') }}
        ), '') as status_message,
        try_cast(coalesce(
            {{ json_text('j', '$.total_cost') }},
            {{ json_text('j', '$.totalCost') }},
            {{ json_text('j', '$.calculated_total_cost') }},
            {{ json_text('j', '$.calculatedTotalCost') }}
        ) as decimal(38, 12)) as reported_cost_usd,
        {{ unreported_pricing_dimensions() }},
        cast(null as string) as billed_cost_usd_raw,
        cast(null as decimal(38, 12)) as billed_cost_usd,
        nullif(trim({{ json_text('metadata', '$.task_id') }}), '') as task_id,
        false as is_proxy_cache_hit
    from extracted
),

tokens as (
    select
        *,
        {{ token_value('uncached_input_raw') }} as uncached_input_tokens,
        {{ token_value('visible_output_raw') }} as visible_output_tokens,
        {{ token_value('cache_read_tokens_raw') }} as cache_read_tokens,
        {{ token_value('cache_write_tokens_raw') }} as cache_write_tokens,
        {{ token_value('cache_write_1h_tokens_raw') }} as cache_write_1h_tokens,
        {{ token_value('reasoning_tokens_raw') }} as reasoning_tokens
    from typed
),

canonical as (
    select
        *,
        case
            when
                uncached_input_raw is not null or cache_read_tokens_raw is not null
                or cache_write_tokens_raw is not null
                then
                    coalesce(uncached_input_tokens, 0) + coalesce(cache_read_tokens, 0)
                    + coalesce(cache_write_tokens, 0)
        end as input_tokens,
        case
            when visible_output_raw is not null or reasoning_tokens_raw is not null
                then coalesce(visible_output_tokens, 0) + coalesce(reasoning_tokens, 0)
        end as output_tokens,
        uncached_input_raw as input_tokens_raw,
        visible_output_raw as output_tokens_raw,
        'standard' as service_tier,
        case when level = 'ERROR' then 'error' else 'success' end as status,
        case when level = 'ERROR' then status_message end as error_type,
        cast(null as integer) as http_status,
        {{ milliseconds_between('occurred_at', 'ended_at') }} as latency_ms,
        case
            when first_token_at >= occurred_at
                then {{ milliseconds_between('occurred_at', 'first_token_at') }}
        end as ttft_ms,
        cast(null as string) as quality_score_raw,
        cast(null as double) as quality_score,
        cast(null as boolean) as passed_quality
    from tokens
),

judged as (
    select
        *,
        case
            when not is_json_object then 'malformed_json'
            when ingest_error is not null then ingest_error
            when observation_type <> 'GENERATION' then 'not_a_generation'
            when uncached_input_raw is not null and uncached_input_tokens is null
                then 'invalid_input_tokens'
            when uncached_input_tokens < 0 then 'negative_input_tokens'
            when visible_output_raw is not null and visible_output_tokens is null
                then 'invalid_output_tokens'
            when visible_output_tokens < 0 then 'negative_output_tokens'
            {{ request_rejection_rules() }}
        end as rejection_reason
    from canonical
),

renamed as (
    select
        {{ landed_row_columns() }},
        {{ canonical_event_columns() }}
    from judged
)

select * from renamed
