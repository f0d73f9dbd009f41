-- Accepted rows of the bucketed provider usage reports (OpenAI usage API, Anthropic Admin
-- usage report) in canonical columns, with the key of the bucket they describe.
-- The same bucket delivered twice (overlapping downloads) has the same usage_key;
-- fct_provider_usage keeps the latest delivery.

with

openai as (
    select * from {{ ref('stg_openai__usage_results') }}
    where rejection_reason is null
),

anthropic as (
    select * from {{ ref('stg_anthropic__usage_results') }}
    where rejection_reason is null
),

unioned as (
    select
        'openai_usage' as source_system,
        {{ star_except(['raw_line', 'rejection_reason']) }}
    from openai
    union all
    select
        'anthropic_usage' as source_system,
        {{ star_except(['raw_line', 'rejection_reason']) }}
    from anthropic
),

final as (
    select
        md5(concat_ws(
            '|', provider, cast(bucket_start_at as string), cast(bucket_end_at as string),
            coalesce(model_reported, {{ hash_null_marker() }}),
            coalesce(project_id, {{ hash_null_marker() }}),
            coalesce(api_key_id, {{ hash_null_marker() }}),
            coalesce(user_id, {{ hash_null_marker() }}),
            service_tier,
            coalesce(context_window, {{ hash_null_marker() }})
        )) as usage_key,
        *,
        md5(concat_ws(
            '|', input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
            output_tokens, coalesce(cast(requests as string), {{ hash_null_marker() }})
        )) as content_hash
    from unioned
)

select * from final
