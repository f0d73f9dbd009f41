-- Provider usage report rows priced like requests: alias -> canonical model, the price row
-- valid at bucket_start_at, the service-tier multiplier, cost by component
-- (macro request_cost_columns). A bucket sums many requests, so the long-context cliff
-- cannot be judged from its token totals: it applies only when the report says so
-- (Anthropic context_window '200k-1M'); other buckets are priced at base prices.

with

usage as (
    select * from {{ ref('int_provider_usage_unioned') }}
),

aliases as (
    select
        lower(provider) as provider,
        lower(model_alias) as model_alias,
        model
    from {{ ref('model_aliases') }}
),

prices as (
    select * from {{ ref('model_prices') }}
),

priced_models as (
    select distinct
        provider,
        model
    from prices
),

multipliers as (
    select
        lower(provider) as provider,
        lower(service_tier) as service_tier,
        multiplier
    from {{ ref('service_tier_multipliers') }}
),

resolved as (
    select
        usage.*,
        coalesce(aliases.model, lower(usage.model_reported), '(all models)') as model
    from usage
    left join aliases
        on
            usage.provider = aliases.provider
            and lower(usage.model_reported) = aliases.model_alias
),

joined as (
    select
        resolved.*,
        priced_models.model is not null as is_model_known,
        prices.valid_from as price_valid_from,
        prices.input_usd_per_mtok,
        prices.output_usd_per_mtok,
        prices.cache_read_usd_per_mtok,
        prices.cache_write_5m_usd_per_mtok,
        prices.cache_write_1h_usd_per_mtok,
        case
            when resolved.context_window = '200k-1M' then 0
        end as tier_threshold_tokens,
        prices.tier_threshold_tokens as price_tier_threshold_tokens,
        prices.tier_input_usd_per_mtok,
        prices.tier_output_usd_per_mtok,
        prices.tier_cache_read_usd_per_mtok,
        prices.tier_cache_write_5m_usd_per_mtok,
        prices.tier_cache_write_1h_usd_per_mtok,
        prices.reasoning_usd_per_mtok,
        multipliers.multiplier as service_tier_multiplier,
        cast(0 as bigint) as reasoning_tokens
    from resolved
    left join priced_models
        on
            resolved.provider = priced_models.provider
            and resolved.model = priced_models.model
    left join prices
        on
            resolved.provider = prices.provider
            and resolved.model = prices.model
            and resolved.bucket_start_at >= prices.valid_from
            and (prices.valid_to is null or resolved.bucket_start_at < prices.valid_to)
    left join multipliers
        on
            resolved.provider = multipliers.provider
            and resolved.service_tier = multipliers.service_tier
),

costed as (
    select
        *,
        {{ is_long_context_tier() }} as is_long_context_tier,
        case
            when not is_model_known then 'unknown_model'
            when price_valid_from is null then 'no_price_at_time'
            when service_tier_multiplier is null then 'no_service_tier_multiplier'
            when {{ is_long_context_tier() }} and (
                tier_input_usd_per_mtok is null or tier_output_usd_per_mtok is null
            ) then 'missing_tier_price'
        end as unpriced_reason,
        {{ request_cost_columns() }}
    from joined
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
