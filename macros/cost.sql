{#-
    Request cost by component, in USD, as DECIMAL(38, 12).

    Expects, in scope, the event's token columns (input_tokens, cache_read_tokens,
    cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens), the
    matched price row's columns (model_prices) and `service_tier_multiplier`.

    Rules (DESIGN.md, "Decisions already taken"):
      - uncached input = input - cache_read - cache_write (input includes cached tokens);
      - cache reads at the cache-read rate, writes at the 5m or 1h rate, never also at
        the input rate; a missing cache price falls back to the input rate (1h -> 5m);
      - reasoning tokens are output tokens unless reasoning_usd_per_mtok is set, in which
        case they are billed at that rate and the rest of the output at the output rate;
      - cliff tier: prompt (input incl. cached) > tier_threshold_tokens prices the whole
        request at the tier_* prices;
      - the service-tier multiplier applies to the whole request.
    Money stays DECIMAL: per-token prices are per_mtok * 0.000001 (exact), products of an
    integer and a decimal are exact, and each component is cast once to 12 decimals.
    Every operand is widened to DECIMAL(38, s) first: DuckDB keeps the width of the widest
    operand in a product, so DECIMAL(18, 0) * DECIMAL(18, 12) * DECIMAL(9, 4) is a
    DECIMAL(18, 16) that overflows at $100 (a 1.4M-token Opus output); DECIMAL(38, 16) holds
    any request.

    `request_cost_columns(priced_condition)` yields null components unless priced_condition
    holds, so an unpriced request never gets a partial cost.
-#}

{% macro is_long_context_tier() -%}
    (tier_threshold_tokens is not null and input_tokens > tier_threshold_tokens)
{%- endmacro %}

{% macro usd_per_token(price_expression) -%}
    (cast({{ price_expression }} as decimal(38, 6)) * cast(0.000001 as decimal(38, 6)))
{%- endmacro %}

{% macro cost_component(tokens_expression, price_expression) -%}
    {{ return(adapter.dispatch('cost_component', 'aiusage')(tokens_expression, price_expression)) }}
{%- endmacro %}

{% macro default__cost_component(tokens_expression, price_expression) -%}
    cast(
        cast({{ tokens_expression }} as decimal(38, 0))
        * {{ usd_per_token(price_expression) }}
        * cast(service_tier_multiplier as decimal(9, 4))
        as decimal(38, 12)
    )
{%- endmacro %}

{#- Spark cuts the scale of a product wider than 38 digits down to 6 decimals (a cache
    read at $0.30/Mtok would cost 0), so its operands are narrow: prices below $1M/Mtok
    with 6 decimals, times 1e-6 and the multiplier (30, 16), times at most 10^10 - 1 tokens
    gives DECIMAL(38, 13), rounded to 12 like DuckDB. -#}
{% macro spark__cost_component(tokens_expression, price_expression) -%}
    cast(
        cast({{ tokens_expression }} as decimal(10, 0))
        * (
            cast({{ price_expression }} as decimal(12, 6))
            * cast(0.000001 as decimal(7, 6))
            * cast(service_tier_multiplier as decimal(9, 4))
        )
        as decimal(38, 12)
    )
{%- endmacro %}

{% macro effective_input_price() -%}
    case when {{ is_long_context_tier() }}
        then tier_input_usd_per_mtok else input_usd_per_mtok end
{%- endmacro %}

{% macro effective_cache_read_price() -%}
    case when {{ is_long_context_tier() }}
        then coalesce(tier_cache_read_usd_per_mtok, tier_input_usd_per_mtok)
        else coalesce(cache_read_usd_per_mtok, input_usd_per_mtok) end
{%- endmacro %}

{% macro effective_cache_write_5m_price() -%}
    case when {{ is_long_context_tier() }}
        then coalesce(tier_cache_write_5m_usd_per_mtok, tier_input_usd_per_mtok)
        else coalesce(cache_write_5m_usd_per_mtok, input_usd_per_mtok) end
{%- endmacro %}

{% macro effective_cache_write_1h_price() -%}
    case when {{ is_long_context_tier() }}
        then coalesce(
            tier_cache_write_1h_usd_per_mtok,
            tier_cache_write_5m_usd_per_mtok,
            tier_input_usd_per_mtok
        )
        else coalesce(
            cache_write_1h_usd_per_mtok, cache_write_5m_usd_per_mtok, input_usd_per_mtok
        ) end
{%- endmacro %}

{% macro effective_output_price() -%}
    case when {{ is_long_context_tier() }}
        then tier_output_usd_per_mtok else output_usd_per_mtok end
{%- endmacro %}

{% macro request_cost_columns(priced_condition='true') -%}
    case when {{ priced_condition }} then {{ cost_component(
        'input_tokens - cache_read_tokens - cache_write_tokens',
        effective_input_price()
    ) }} end as input_cost_usd,
    case when {{ priced_condition }} then {{ cost_component(
        'cache_read_tokens', effective_cache_read_price()
    ) }} end as cache_read_cost_usd,
    case when {{ priced_condition }} then {{ cost_component(
        'cache_write_tokens - cache_write_1h_tokens', effective_cache_write_5m_price()
    ) }}
    + {{ cost_component('cache_write_1h_tokens', effective_cache_write_1h_price()) }}
    end as cache_write_cost_usd,
    case
        when not ({{ priced_condition }}) then null
        when reasoning_usd_per_mtok is null
            then {{ cost_component('output_tokens', effective_output_price()) }}
        else {{ cost_component('output_tokens - reasoning_tokens', effective_output_price()) }}
            + {{ cost_component('reasoning_tokens', 'reasoning_usd_per_mtok') }}
    end as output_cost_usd
{%- endmacro %}

{#-
    The price lookup shared by every priced model (requests and provider usage buckets):
    the price columns of the matched row, the time-valid joins and the reason a row stays
    unpriced. The calling model imports the seeds itself (CTEs `aliases`, `prices` and
    `multipliers` over model_aliases, model_prices and service_tier_multipliers), lists
    the priced models (CTE `priced_models`: distinct provider, model of prices) and
    resolves its canonical model; one definition of the joins, so the two grains can never
    price differently. Seed keys are compared lowercase.
-#}

{% macro price_row_columns(tier_threshold_expression=none, include_source=false) -%}
        priced_models.model is not null as is_model_known,
        prices.valid_from as price_valid_from,
        prices.input_usd_per_mtok,
        prices.output_usd_per_mtok,
        prices.cache_read_usd_per_mtok,
        prices.cache_write_5m_usd_per_mtok,
        prices.cache_write_1h_usd_per_mtok,
        {% if tier_threshold_expression is none -%}
            prices.tier_threshold_tokens,
        {%- else -%}
            {{ tier_threshold_expression }} as tier_threshold_tokens,
        {%- endif %}
        prices.tier_input_usd_per_mtok,
        prices.tier_output_usd_per_mtok,
        prices.tier_cache_read_usd_per_mtok,
        prices.tier_cache_write_5m_usd_per_mtok,
        prices.tier_cache_write_1h_usd_per_mtok,
        prices.reasoning_usd_per_mtok,
        {% if include_source -%}
            prices.source as price_source,
            prices.valid_from_is_estimated as price_valid_from_is_estimated,
        {%- endif %}
        multipliers.multiplier as service_tier_multiplier
{%- endmacro %}

{#- `provider_column`: the rows' column naming the price list (the request's own provider,
    or the gateway or vendor its model identity resolved to). -#}
{% macro price_joins(rows, priced_at, provider_column='provider') -%}
    left join priced_models
        on
            {{ rows }}.{{ provider_column }} = priced_models.provider
            and {{ rows }}.model = priced_models.model
    left join prices
        on
            {{ rows }}.{{ provider_column }} = prices.provider
            and {{ rows }}.model = prices.model
            and {{ rows }}.{{ priced_at }} >= prices.valid_from
            and (prices.valid_to is null or {{ rows }}.{{ priced_at }} < prices.valid_to)
    left join multipliers
        on
            {{ rows }}.{{ provider_column }} = lower(multipliers.provider)
            and {{ rows }}.service_tier = lower(multipliers.service_tier)
{%- endmacro %}

{% macro unpriced_reason() -%}
        case
            when not is_model_known then 'unknown_model'
            when price_valid_from is null then 'no_price_at_time'
            when service_tier_multiplier is null then 'no_service_tier_multiplier'
            when {{ is_long_context_tier() }} and (
                tier_input_usd_per_mtok is null or tier_output_usd_per_mtok is null
            ) then 'missing_tier_price'
        end
{%- endmacro %}

{#- The price and cost columns of a priced fact (fct_llm_requests, fct_provider_usage),
    typed as both contracts declare them. -#}
{% macro price_and_cost_columns() -%}
    cast(is_priced as boolean) as is_priced,
    cast(unpriced_reason as string) as unpriced_reason,
    cast(price_valid_from as timestamp) as price_valid_from,
    cast(coalesce(is_long_context_tier, false) as boolean) as is_long_context_tier,
    cast(service_tier_multiplier as decimal(9, 4)) as service_tier_multiplier,
    {%- for component in ['input', 'cache_read', 'cache_write', 'output', 'total'] %}
    cast({{ component }}_cost_usd as decimal(38, 12)) as {{ component }}_cost_usd
    {{- ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
