-- Every landed row of the provider usage reports (OpenAI usage API, Anthropic Admin usage
-- report) in one relation: their staging rows (bucket results in canonical columns, the
-- landed row's key, place and verdict) with the source that delivered them and, for an
-- accepted row, the key of the bucket it describes and the hash of its counts. The same
-- bucket delivered twice (overlapping downloads) has the same usage_key; fct_provider_usage
-- keeps the latest delivery.

with

openai as (
    select * from {{ ref('stg_openai__usage_results') }}
),

anthropic as (
    select * from {{ ref('stg_anthropic__usage_results') }}
),

unioned as (
    select
        'openai_usage' as source_system,
        *
    from openai
    union all
    select
        'anthropic_usage' as source_system,
        *
    from anthropic
),

final as (
    select
        case when rejection_reason is null then md5(concat_ws(
            '|', provider, cast(bucket_start_at as string), cast(bucket_end_at as string),
            coalesce(model_reported, {{ hash_null_marker() }}),
            coalesce(project_id, {{ hash_null_marker() }}),
            coalesce(api_key_id, {{ hash_null_marker() }}),
            coalesce(user_id, {{ hash_null_marker() }}),
            service_tier,
            coalesce(context_window, {{ hash_null_marker() }})
        )) end as usage_key,
        *,
        case when rejection_reason is null then md5(concat_ws(
            '|', input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
            output_tokens, coalesce(cast(requests as string), {{ hash_null_marker() }})
        )) end as content_hash
    from unioned
)

select * from final
