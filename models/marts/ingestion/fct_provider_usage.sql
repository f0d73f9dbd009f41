{#- pre_hook: the buckets the refresh withdraws (no landed row of its window delivers them
    any more: a file changed in place) are logged and deleted (macros/withdrawn_records.sql);
    their older deliveries come back through `withdrawn_older_deliveries`. -#}
{{ config(
    pre_hook="{{ withdraw_records_no_longer_landed('usage_key', provider_usage_deliveries()) }}",
    **incremental_by_key('usage_key')
) }}
-- depends_on: {{ ref('int_usage_report_rows_unioned') }}

-- One row per bucket result of the providers' own usage reports (OpenAI usage API,
-- Anthropic Admin usage report): usage as the provider bills it, priced. A second grain,
-- never added to fct_llm_requests: it reconciles against per-request data
-- (rpt_provider_reconciliation). The same bucket delivered twice is one row (latest
-- delivery kept). Incremental over the landing days loaded since its last run, like
-- fct_llm_requests; a bucket that a file changed in place no longer holds is withdrawn
-- (its older delivery, if any, comes back), as in fct_llm_requests.

with

priced as (
    select * from {{ ref('int_provider_usage_buckets_priced') }}
    where {{ in_landing_window() }}
),

{% if is_incremental() -%}
-- a bucket withdrawn by the pre-hook falls back to its latest delivery on an older landing
-- day, if any: what a build from nothing would keep (empty unless the refresh withdrew one)
withdrawn as (
    select * from {{ withdrawn_record_keys() }}
),

withdrawn_older_deliveries as (
    select * from {{ ref('int_provider_usage_buckets_priced') }}
    where
        not ({{ in_landing_window() }})
        and usage_key in (select withdrawn.record_key from withdrawn)
    qualify row_number() over (
        partition by usage_key
        order by {{ latest_delivery_first() }}
    ) = 1
),
{%- endif %}

deduplicated as (
    select * from priced
    qualify
        row_number() over (
            partition by usage_key
            order by {{ latest_delivery_first() }}
        ) = 1
    {{- union_withdrawn_older_deliveries() }}
),

deliveries as (
    {{ delivery_counts(
        ref('fct_landed_rows'), 'deduplicated', 'usage_key', ['openai_usage', 'anthropic_usage']
    ) }}
),

counted as (
    {{ with_delivery_counts('deduplicated', 'usage_key') }}
),

final as (
    select
        cast(usage_key as string) as usage_key,
        cast(provider as string) as provider,
        cast(bucket_start_at as timestamp) as bucket_start_at,
        cast(bucket_end_at as timestamp) as bucket_end_at,
        cast({{ to_reporting_date('bucket_start_at') }} as date) as usage_date,
        cast(model as string) as model,
        cast(model_reported as string) as model_reported,
        cast(is_model_known as boolean) as is_model_known,
        cast(project_id as string) as project_id,
        cast(api_key_id as string) as api_key_id,
        cast(user_id as string) as user_id,
        cast(service_tier as string) as service_tier,
        cast(context_window as string) as context_window,
        cast(requests as bigint) as requests,
        {{ token_columns() }},
        {{ price_and_cost_columns() }},
        cast(delivery_count as bigint) as delivery_count,
        cast(is_conflicting as boolean) as is_conflicting,
        cast(source_system as string) as source_system,
        cast(source_file as string) as source_file,
        cast(landing_date as date) as landing_date,
        cast(line_number as bigint) as line_number
    from counted
)

select * from final
