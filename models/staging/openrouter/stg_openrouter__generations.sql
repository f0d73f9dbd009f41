{{ config(**incremental_by_file()) }}

-- One row per non-blank line of every landed OpenRouter file, in canonical columns and
-- judged (rejection_reason null = usable; its own rule first, then macro
-- request_rejection_rules). Two record shapes, told apart by their fields:
--   chat-completion response (usage accounting on): id, created (epoch seconds), model,
--     usage.prompt_tokens (cached and cache-write tokens included),
--     usage.prompt_tokens_details.cached_tokens / cache_write_tokens,
--     usage.completion_tokens (reasoning included),
--     usage.completion_tokens_details.reasoning_tokens, usage.cost, usage.is_byok,
--     usage.cost_details.upstream_inference_cost;
--   generation record (GET /api/v1/generation, its `data` object): id, created_at,
--     model, native_tokens_prompt / _cached / _completion / _reasoning (the upstream
--     provider's own counts, cached and reasoning included like ours), total_cost,
--     is_byok, upstream_inference_cost, latency (time to first token, ms),
--     generation_time (ms after it), cancelled, service_tier (the tier the upstream
--     served), external_user, session_id.
-- The bill (billed_cost_usd): usage.cost or total_cost, what OpenRouter charged; a BYOK
-- request (is_byok) is charged only OpenRouter's fee there, the upstream provider bills
-- the rest to the user's own key (upstream_inference_cost), so its bill is the sum; a BYOK
-- record without the upstream cost has no known bill (billed_cost_usd null: the computed
-- cost is its cost of record). A bill that is not a number rejects the row.
-- provider is `openrouter` (who sold it) and model_reported the OpenRouter slug as
-- landed (openai/gpt-4o-mini); pricing resolves the slug. A response without a usage
-- object is quarantined as missing_usage (it cannot say what was consumed).
-- A table, incremental by landed file like stg_events__usage_events.

with

source as (
    select * from {{ landed_files_to_read(source('openrouter', 'generations')) }}
),

parsed as (
    {{ landed_json_lines('source') }}
),

typed_fields as (
    select
        {{ landed_json_line_columns('j') }},
        {{ json_text('j', '$.total_cost') }} is not null
        or {{ json_text('j', '$.native_tokens_prompt') }} is not null as is_generation_record,
        {{ json_text('j', '$.usage.prompt_tokens') }} is not null as has_usage_object,
        nullif(trim({{ json_text('j', '$.id') }}), '') as request_id,
        coalesce(
            nullif({{ json_text('j', '$.created_at') }}, ''),
            nullif({{ json_text('j', '$.created') }}, '')
        ) as occurred_at_raw,
        coalesce(
            {{ try_to_utc_timestamp(json_text('j', '$.created_at')) }},
            {{ timestamp_from_epoch_seconds(
                'try_cast(' ~ json_text('j', '$.created') ~ ' as bigint)'
            ) }}
        ) as occurred_at,
        'openrouter' as provider,
        nullif(trim({{ json_text('j', '$.model') }}), '') as model_reported,
        cast(null as string) as client,
        cast(null as string) as team,
        nullif({{ json_text('j', '$.external_user') }}, '') as user_id,
        cast(null as string) as workflow,
        cast(null as string) as feature,
        cast(null as string) as task_type,
        nullif({{ json_text('j', '$.session_id') }}, '') as session_id,
        cast(null as string) as prompt_version,
        cast(null as string) as environment,
        coalesce(
            {{ json_text('j', '$.usage.prompt_tokens') }},
            {{ json_text('j', '$.native_tokens_prompt') }}
        ) as input_tokens_raw,
        coalesce(
            {{ json_text('j', '$.usage.prompt_tokens_details.cached_tokens') }},
            {{ json_text('j', '$.native_tokens_cached') }}
        ) as cache_read_tokens_raw,
        {{ json_text('j', '$.usage.prompt_tokens_details.cache_write_tokens') }}
            as cache_write_tokens_raw,
        cast(null as string) as cache_write_1h_tokens_raw,
        coalesce(
            {{ json_text('j', '$.usage.completion_tokens') }},
            {{ json_text('j', '$.native_tokens_completion') }}
        ) as output_tokens_raw,
        coalesce(
            {{ json_text('j', '$.usage.completion_tokens_details.reasoning_tokens') }},
            {{ json_text('j', '$.native_tokens_reasoning') }}
        ) as reasoning_tokens_raw,
        case lower(coalesce(nullif({{ json_text('j', '$.service_tier') }}, ''), 'standard'))
            when 'default' then 'standard'
            when 'auto' then 'standard'
            when 'on_demand' then 'standard'
            else lower(coalesce(nullif({{ json_text('j', '$.service_tier') }}, ''), 'standard'))
        end as service_tier,
        try_cast({{ json_text('j', '$.latency') }} as double) as first_token_ms,
        try_cast({{ json_text('j', '$.generation_time') }} as double) as generation_ms,
        case
            when lower({{ json_text('j', '$.cancelled') }}) = 'true' then 'cancelled'
            else 'success'
        end as status,
        cast(null as string) as error_type,
        cast(null as integer) as http_status,
        cast(null as string) as quality_score_raw,
        cast(null as double) as quality_score,
        cast(null as boolean) as passed_quality,
        cast(null as decimal(38, 12)) as reported_cost_usd,
        coalesce(
            {{ json_text('j', '$.usage.cost') }},
            {{ json_text('j', '$.total_cost') }}
        ) as charged_cost_raw,
        coalesce(
            {{ json_text('j', '$.usage.is_byok') }},
            {{ json_text('j', '$.is_byok') }}
        ) = 'true' as is_byok,
        coalesce(
            {{ json_text('j', '$.usage.cost_details.upstream_inference_cost') }},
            {{ json_text('j', '$.upstream_inference_cost') }}
        ) as upstream_cost_raw,
        cast(null as string) as task_id,
        false as is_proxy_cache_hit
    from parsed
),

byok as (
    select
        *,
        coalesce(is_byok and upstream_cost_raw is null, false) as is_byok_upstream_unknown
    from typed_fields
),

tokens as (
    select
        *,
        {%- for col in events_token_columns() %}
            {{ token_value(col ~ '_raw') }} as {{ col }},
        {%- endfor %}
        {{ unreported_pricing_dimensions() }},
        cast(round(first_token_ms) as bigint) as ttft_ms,
        cast(round(first_token_ms + coalesce(generation_ms, 0)) as bigint) as latency_ms,
        case when not is_byok_upstream_unknown then charged_cost_raw end
            as billed_cost_usd_raw,
        case
            when not is_byok_upstream_unknown
                then
                    try_cast(charged_cost_raw as decimal(38, 12))
                    + case
                        when is_byok then try_cast(upstream_cost_raw as decimal(38, 12))
                        else 0
                    end
        end as billed_cost_usd
    from byok
),

judged as (
    select
        *,
        case
            when not is_json_object then 'malformed_json'
            when ingest_error is not null then ingest_error
            when not is_generation_record and not has_usage_object then 'missing_usage'
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
