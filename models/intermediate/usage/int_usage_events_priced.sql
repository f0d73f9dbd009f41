-- Each accepted event joined to its canonical model and the provider whose price list
-- prices it (int_reported_models_resolved: gateway, vendor, aliases, normalized ids), the
-- price row valid at its occurred_at (model_prices: valid_from inclusive, valid_to
-- exclusive) and its service-tier multiplier, with cost by component (macro
-- request_cost_columns).
-- An event without a price row or tier multiplier keeps null costs (never 0),
-- is_priced = false and an unpriced_reason. The components and computed_cost_usd are
-- always prices x tokens; total_cost_usd is the cost of record: billed_cost_usd (the
-- seller's bill) when the event carries one, else computed_cost_usd (cost_source says which).

with

events as (
    select * from {{ ref('int_usage_events_unioned') }}
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

-- an id without an identity row (none in a build: int_reported_models_resolved lists every id)
-- is looked up as reported
resolved as (
    select
        events.*,
        coalesce(identities.price_provider, events.provider) as price_provider,
        coalesce(identities.model, lower(events.model_reported)) as model,
        identities.identity_rule,
        coalesce(identities.is_model_aliased, false) as is_model_aliased
    from events
    left join identities
        on
            events.provider = identities.provider
            and events.model_reported = identities.model_reported
),

joined as (
    select
        resolved.*,
        {{ price_row_columns(include_source=true) }}
    from resolved
    {{ price_joins('resolved', 'occurred_at', provider_column='price_provider') }}
),

judged as (
    select
        *,
        coalesce({{ is_long_context_tier() }}, false) as is_long_context_tier,
        {{ unpriced_reason() }} as unpriced_reason
    from joined
),

costed as (
    select
        *,
        unpriced_reason is null as is_priced,
        {{ request_cost_columns('unpriced_reason is null') }}
    from judged
),

computed as (
    select
        *,
        input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd
            as computed_cost_usd
    from costed
),

-- The cost of record: the seller's bill when one is known, else the computed cost.
final as (
    select
        *,
        coalesce(billed_cost_usd, computed_cost_usd) as total_cost_usd,
        case
            when not is_priced then null
            when price_source = 'learned_from_bills' then 'learned_from_bills'
            when price_source != 'genai-prices' then 'hand_edited'
            when {{ is_gateway_provider('price_provider') }}
                then 'gateway'
            else 'vendor'
        end as price_basis,
        case
            when billed_cost_usd is not null then 'billed'
            when computed_cost_usd is not null then 'computed'
        end as cost_source
    from computed
)

select * from final
