-- Each accepted event joined to its canonical model (model_aliases), the price row valid
-- at its occurred_at (model_prices: valid_from inclusive, valid_to exclusive) and its
-- service-tier multiplier, with cost by component (macro request_cost_columns).
-- An event without a price row or tier multiplier keeps null costs (never 0),
-- is_priced = false and an unpriced_reason.

with

events as (
    select * from {{ ref('int_usage_events_unioned') }}
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
        events.*,
        coalesce(aliases.model, lower(events.model_reported)) as model,
        aliases.model is not null as is_model_aliased
    from events
    left join aliases
        on
            events.provider = aliases.provider
            and lower(events.model_reported) = aliases.model_alias
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
        prices.tier_threshold_tokens,
        prices.tier_input_usd_per_mtok,
        prices.tier_output_usd_per_mtok,
        prices.tier_cache_read_usd_per_mtok,
        prices.tier_cache_write_5m_usd_per_mtok,
        prices.tier_cache_write_1h_usd_per_mtok,
        prices.reasoning_usd_per_mtok,
        multipliers.multiplier as service_tier_multiplier
    from resolved
    left join priced_models
        on
            resolved.provider = priced_models.provider
            and resolved.model = priced_models.model
    left join prices
        on
            resolved.provider = prices.provider
            and resolved.model = prices.model
            and resolved.occurred_at >= prices.valid_from
            and (prices.valid_to is null or resolved.occurred_at < prices.valid_to)
    left join multipliers
        on
            resolved.provider = multipliers.provider
            and resolved.service_tier = multipliers.service_tier
),

judged as (
    select
        *,
        coalesce({{ is_long_context_tier() }}, false) as is_long_context_tier,
        case
            when not is_model_known then 'unknown_model'
            when price_valid_from is null then 'no_price_at_time'
            when service_tier_multiplier is null then 'no_service_tier_multiplier'
            when {{ is_long_context_tier() }} and (
                tier_input_usd_per_mtok is null or tier_output_usd_per_mtok is null
            ) then 'missing_tier_price'
        end as unpriced_reason
    from joined
),

costed as (
    select
        *,
        unpriced_reason is null as is_priced,
        {{ request_cost_columns('unpriced_reason is null') }}
    from judged
),

final as (
    select
        *,
        input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd
            as total_cost_usd
    from costed
)

select * from final
