{{ config(**incremental_by_file()) }}

-- One row per result of every bucket of every landed Anthropic Admin usage report page
-- (messages), in canonical token columns and judged (rejection_reason null = usable).
-- Token convention: Anthropic splits input into uncached_input_tokens,
-- cache_read_input_tokens and cache_creation.{ephemeral_5m,ephemeral_1h}_input_tokens;
-- ours is input_tokens = uncached + cache read + both cache writes, cache_write_tokens =
-- 5m + 1h. The report carries no request count (requests is null).
-- A table, incremental by landed file like the per-request staging models: each file is
-- parsed once (macro landed_files_to_read) and a changed file's rows are replaced; the raw
-- text is kept for rejected results only.

with

source as (
    select * from {{ landed_files_to_read(source('anthropic', 'usage')) }}
),

results as (
    {{ usage_page_results('source') }}
),

typed as (
    select
        *,
        'anthropic' as provider,
        {{ try_to_utc_timestamp(json_text('bucket', '$.starting_at')) }}
            as bucket_start_at,
        {{ try_to_utc_timestamp(json_text('bucket', '$.ending_at')) }}
            as bucket_end_at,
        nullif({{ json_text('result', '$.model') }}, '') as model_reported,
        nullif({{ json_text('result', '$.workspace_id') }}, '') as project_id,
        nullif({{ json_text('result', '$.api_key_id') }}, '') as api_key_id,
        cast(null as string) as user_id,
        lower(coalesce(nullif({{ json_text('result', '$.service_tier') }}, ''), 'standard'))
            as service_tier,
        nullif({{ json_text('result', '$.context_window') }}, '') as context_window,
        {{ json_text('result', '$.uncached_input_tokens') }} as uncached_raw,
        {{ json_text('result', '$.cache_read_input_tokens') }} as cache_read_tokens_raw,
        {{ json_text('result', '$.cache_creation.ephemeral_5m_input_tokens') }}
            as cache_write_5m_raw,
        {{ json_text('result', '$.cache_creation.ephemeral_1h_input_tokens') }}
            as cache_write_1h_tokens_raw,
        {{ json_text('result', '$.output_tokens') }} as output_tokens_raw,
        cast(null as string) as requests_raw
    from results
),

tokens as (
    select
        *,
        {{ token_value('uncached_raw') }} as uncached_tokens,
        {{ token_value_or_zero('cache_read_tokens_raw') }} as cache_read_tokens,
        {{ token_value_or_zero('cache_write_5m_raw') }} as cache_write_5m_tokens,
        {{ token_value_or_zero('cache_write_1h_tokens_raw') }} as cache_write_1h_tokens,
        {{ token_value_or_zero('output_tokens_raw') }} as output_tokens,
        cast(null as bigint) as requests
    from typed
),

canonical as (
    select
        *,
        coalesce(uncached_tokens, 0) + cache_read_tokens + cache_write_5m_tokens
        + cache_write_1h_tokens as input_tokens,
        cache_write_5m_tokens + cache_write_1h_tokens as cache_write_tokens,
        uncached_raw as input_tokens_raw,
        cache_write_5m_raw as cache_write_tokens_raw
    from tokens
),

judged as (
    select
        *,
        case
            when uncached_raw is not null and uncached_tokens is null
                then 'invalid_input_tokens'
            when uncached_tokens < 0 or cache_write_5m_tokens < 0 then 'negative_input_tokens'
            {{ provider_usage_rejection_rules() }}
        end as rejection_reason
    from canonical
),

renamed as (
    select
        {{ landed_row_columns() }},
        {{ usage_report_columns() | join(',\n        ') }}
    from judged
)

select * from renamed
