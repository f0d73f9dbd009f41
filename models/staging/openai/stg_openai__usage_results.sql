{{ config(**incremental_by_file()) }}

-- One row per result of every bucket of every landed OpenAI usage page (completions),
-- in canonical token columns and judged (rejection_reason null = usable).
-- Token convention: OpenAI's input_tokens already includes input_cached_tokens (and the
-- optional input_cache_write_tokens), so input_tokens is kept as is and uncached =
-- input - cached - cache writes; when input_uncached_tokens is given it must agree.
-- A bucket is an aggregate: num_model_requests is its request count.
-- A table, incremental by landed file like the per-request staging models: each file is
-- parsed once (macro landed_files_to_read) and a changed file's rows are replaced; the raw
-- text is kept for rejected results only.

with

source as (
    select * from {{ landed_files_to_read(source('openai', 'usage')) }}
),

results as (
    {{ usage_page_results('source') }}
),

typed as (
    select
        *,
        'openai' as provider,
        {{ timestamp_from_epoch_seconds(
            'try_cast(' ~ json_text('bucket', '$.start_time') ~ ' as bigint)'
        ) }}
            as bucket_start_at,
        {{ timestamp_from_epoch_seconds(
            'try_cast(' ~ json_text('bucket', '$.end_time') ~ ' as bigint)'
        ) }}
            as bucket_end_at,
        nullif({{ json_text('result', '$.model') }}, '') as model_reported,
        nullif({{ json_text('result', '$.project_id') }}, '') as project_id,
        nullif({{ json_text('result', '$.api_key_id') }}, '') as api_key_id,
        nullif({{ json_text('result', '$.user_id') }}, '') as user_id,
        case
            when try_cast({{ json_text('result', '$.batch') }} as boolean) then 'batch'
            when lower({{ json_text('result', '$.service_tier') }}) in ('default', 'auto')
                then 'standard'
            else
                lower(coalesce(nullif({{ json_text('result', '$.service_tier') }}, ''), 'standard'))
        end as service_tier,
        cast(null as string) as context_window,
        {{ json_text('result', '$.input_tokens') }} as input_tokens_raw,
        {{ json_text('result', '$.input_cached_tokens') }} as cache_read_tokens_raw,
        {{ json_text('result', '$.input_cache_write_tokens') }} as cache_write_tokens_raw,
        cast(null as string) as cache_write_1h_tokens_raw,
        {{ json_text('result', '$.output_tokens') }} as output_tokens_raw,
        {{ json_text('result', '$.num_model_requests') }} as requests_raw,
        {{ token_value(json_text('result', '$.input_uncached_tokens')) }} as uncached_reported
    from results
),

tokens as (
    select
        *,
        {{ token_value_or_zero('input_tokens_raw') }} as input_tokens,
        {{ token_value_or_zero('cache_read_tokens_raw') }} as cache_read_tokens,
        {{ token_value_or_zero('cache_write_tokens_raw') }} as cache_write_tokens,
        cast(0 as bigint) as cache_write_1h_tokens,
        {{ token_value_or_zero('output_tokens_raw') }} as output_tokens,
        {{ token_value('requests_raw') }} as requests
    from typed
),

judged as (
    select
        *,
        case
            {{ provider_usage_rejection_rules() }}
            when
                uncached_reported is not null
                and uncached_reported <> input_tokens - cache_read_tokens - cache_write_tokens
                then 'uncached_tokens_inconsistent'
        end as rejection_reason
    from tokens
),

renamed as (
    select
        {{ landed_row_columns() }},
        {{ usage_report_columns() | join(',\n        ') }}
    from judged
)

select * from renamed
