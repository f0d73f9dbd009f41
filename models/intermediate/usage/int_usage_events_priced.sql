-- Each accepted event joined to its canonical model and the provider whose price list
-- prices it (int_reported_models_resolved: gateway, vendor, aliases, normalized ids), the
-- price row valid at its occurred_at (model_prices: valid_from inclusive, valid_to
-- exclusive), its service-tier multiplier (the tier that served it: service_tier_served
-- when the response said, else the tier requested) and its other pricing dimensions
-- (macro pricing_dimension_joins: fast mode and data-residency multipliers, time-of-day
-- windows, per-request and per-tool-call fees), with cost by component (macro
-- request_cost_columns, every token price x token_price_multiplier) and fee_cost_usd.
-- An event without a price row, tier multiplier, multiplier for a dimension it reports or
-- fee for a tool call it reports keeps null costs (never 0), is_priced = false and an
-- unpriced_reason. The components and computed_cost_usd are list prices x usage, except
-- for a proxy cache hit (is_proxy_cache_hit: LiteLLM's cache answered, the provider was
-- never called), whose components and fees are 0 when it is priced; total_cost_usd is the
-- cost of record: billed_cost_usd (the seller's bill) when the event carries one, else 0
-- for a proxy cache hit (priced or not: nothing was billed), else computed_cost_usd
-- (cost_source says which: billed, proxy_cache_hit, computed).

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

request_fees as (
    select
        lower(provider) as provider,
        lower(model) as model,
        lower(fee) as fee,
        valid_from,
        valid_to,
        usd_per_unit
    from {{ ref('request_fees') }}
),

price_multipliers as (
    select
        lower(provider) as provider,
        lower(model) as model,
        lower(dimension) as dimension,
        lower(value) as value,
        valid_from,
        valid_to,
        multiplier
    from {{ ref('price_multipliers') }}
),

price_time_windows as (
    select
        lower(provider) as provider,
        lower(model) as model,
        valid_from,
        valid_to,
        {{ minute_of_day_text('window_start_utc') }} as start_minute,
        {{ minute_of_day_text('window_end_utc') }} as end_minute,
        multiplier
    from {{ ref('price_time_windows') }}
),

priced_models as (
    select distinct
        provider,
        model
    from prices
),

-- the tier that prices the request: the one the response says served it, else the one
-- requested (kept as service_tier_requested)
served as (
    select
        source_system,
        landed_row_key,
        source_file,
        landing_date,
        line_number,
        {%- for column in events_canonical_columns() if column != 'service_tier' %}
            {{ column }},
        {%- endfor %}
        service_tier as service_tier_requested,
        coalesce(service_tier_served, service_tier) as service_tier
    from events
),

-- an id without an identity row (none in a build: int_reported_models_resolved lists every id)
-- is looked up as reported
resolved as (
    select
        served.*,
        coalesce(identities.price_provider, served.provider) as price_provider,
        coalesce(identities.model, lower(served.model_reported)) as model,
        identities.identity_rule,
        coalesce(identities.is_model_aliased, false) as is_model_aliased
    from served
    left join identities
        on
            served.provider = identities.provider
            and served.model_reported = identities.model_reported
),

joined as (
    select
        resolved.*,
        {{ price_row_columns(include_source=true) }}
    from resolved
    {{ price_joins('resolved', 'occurred_at', provider_column='price_provider') }}
),

dimensioned as (
    select
        joined.*,
        {{ pricing_dimension_columns('joined') }}
    from joined
    {{ pricing_dimension_joins('joined', 'occurred_at') }}
),

judged as (
    select
        *,
        coalesce({{ is_long_context_tier() }}, false) as is_long_context_tier,
        coalesce({{ unpriced_reason() }}, {{ pricing_dimension_unpriced_reason() }})
            as unpriced_reason,
        {{ token_price_multiplier() }} as token_price_multiplier
    from dimensioned
),

-- a proxy cache hit keeps its price row and multipliers (shown as they are) but every
-- component and fee is 0: the tokens were served from the gateway's cache
costed as (
    select
        *,
        unpriced_reason is null as is_priced,
        {{ request_cost_columns(
            'unpriced_reason is null',
            'case when is_proxy_cache_hit then 0 else token_price_multiplier end'
        ) }},
        {{ fee_cost_column('unpriced_reason is null', 'is_proxy_cache_hit') }}
    from judged
),

-- the operands are narrowed to DECIMAL(30, 12) first: on Spark a sum of DECIMAL(38, 12)
-- gives up one decimal per addition (five terms would keep 8), DuckDB keeps 12 either way
computed as (
    select
        *,
        {%- for component in ['input', 'cache_read', 'cache_write', 'output', 'fee'] %}
            {% if not loop.first %}+ {% endif %}cast({{ component }}_cost_usd as decimal(30, 12))
        {%- endfor %} as computed_cost_usd
    from costed
),

-- The cost of record: the seller's bill when one is known, else 0 for a proxy cache hit
-- (flagged by cost_source, never a silent zero), else the computed cost.
final as (
    select
        *,
        coalesce(
            billed_cost_usd,
            case when is_proxy_cache_hit then cast(0 as decimal(38, 12)) end,
            computed_cost_usd
        ) as total_cost_usd,
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
            when is_proxy_cache_hit then 'proxy_cache_hit'
            when computed_cost_usd is not null then 'computed'
        end as cost_source
    from computed
)

select * from final
