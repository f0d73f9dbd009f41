-- Provider usage report rows priced like requests: the reported model id resolved by the
-- requests' own model identity (int_reported_models_resolved: aliases, normalized ids,
-- gateway and vendor rules), so a dated id such as claude-opus-4-5-20251101 is the same
-- canonical model in a bucket as on a request; the price row of the list it resolved to
-- (price_provider) valid at bucket_start_at, the service-tier multiplier, cost by component
-- (macro request_cost_columns). A bucket sums many requests, so the long-context cliff
-- cannot be judged from its token totals: it applies only when the report says so
-- (Anthropic context_window '200k-1M'); other buckets are priced at base prices.

with

usage as (
    select * from {{ ref('int_usage_report_rows_unioned') }}
    where rejection_reason is null
),

identities as (
    select * from {{ ref('int_reported_models_resolved') }}
),

prices as (
    select * from {{ ref('model_prices') }}
),

multipliers as (
    select * from {{ ref('service_tier_multipliers') }}
),

priced_models as (
    select distinct
        provider,
        model
    from prices
),

-- a bucket without a model (a report not grouped by model) is '(all models)', unpriced
resolved as (
    select
        usage.*,
        coalesce(identities.price_provider, usage.provider) as price_provider,
        coalesce(identities.model, lower(usage.model_reported), '(all models)') as model,
        identities.identity_rule
    from usage
    left join identities
        on
            usage.provider = identities.provider
            and usage.model_reported = identities.model_reported
),

joined as (
    select
        resolved.*,
        {{ price_row_columns(
            "case when resolved.context_window = '200k-1M' then 0 end"
        ) }},
        prices.tier_threshold_tokens as price_tier_threshold_tokens,
        cast(0 as bigint) as reasoning_tokens
    from resolved
    {{ price_joins('resolved', 'bucket_start_at', provider_column='price_provider') }}
),

judged as (
    select
        *,
        {{ is_long_context_tier() }} as is_long_context_tier,
        {{ unpriced_reason() }} as unpriced_reason
    from joined
),

costed as (
    select
        *,
        {{ request_cost_columns('unpriced_reason is null') }}
    from judged
),

final as (
    select
        *,
        unpriced_reason is null as is_priced,
        input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd
            as total_cost_usd
    from costed
)

select * from final
