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

{#- `multiplier`: the column of the factor on the token prices (the service-tier multiplier;
    for a request, token_price_multiplier: tier x speed x inference geo x time of day). -#}
{% macro cost_component(tokens_expression, price_expression, multiplier='service_tier_multiplier') -%}
    {{ return(adapter.dispatch('cost_component', 'aiusage')(
        tokens_expression, price_expression, multiplier
    )) }}
{%- endmacro %}

{% macro default__cost_component(tokens_expression, price_expression, multiplier) -%}
    cast(
        cast({{ tokens_expression }} as decimal(38, 0))
        * {{ usd_per_token(price_expression) }}
        * cast({{ multiplier }} as decimal(9, 4))
        as decimal(38, 12)
    )
{%- endmacro %}

{#- Spark cuts the scale of a product wider than 38 digits down to 6 decimals (a cache
    read at $0.30/Mtok would cost 0), so its operands are narrow: prices below $1M/Mtok
    with 6 decimals, times 1e-6 and the multiplier (30, 16), times at most 10^10 - 1 tokens
    gives DECIMAL(38, 13), rounded to 12 like DuckDB. -#}
{% macro spark__cost_component(tokens_expression, price_expression, multiplier) -%}
    cast(
        cast({{ tokens_expression }} as decimal(10, 0))
        * (
            cast({{ price_expression }} as decimal(12, 6))
            * cast(0.000001 as decimal(7, 6))
            * cast({{ multiplier }} as decimal(9, 4))
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

{% macro request_cost_columns(priced_condition='true', multiplier='service_tier_multiplier') -%}
    case when {{ priced_condition }} then {{ cost_component(
        'input_tokens - cache_read_tokens - cache_write_tokens',
        effective_input_price(), multiplier
    ) }} end as input_cost_usd,
    case when {{ priced_condition }} then {{ cost_component(
        'cache_read_tokens', effective_cache_read_price(), multiplier
    ) }} end as cache_read_cost_usd,
    case when {{ priced_condition }} then {{ cost_component(
        'cache_write_tokens - cache_write_1h_tokens', effective_cache_write_5m_price(), multiplier
    ) }}
    + {{ cost_component('cache_write_1h_tokens', effective_cache_write_1h_price(), multiplier) }}
    end as cache_write_cost_usd,
    case
        when not ({{ priced_condition }}) then null
        when reasoning_usd_per_mtok is null
            then {{ cost_component('output_tokens', effective_output_price(), multiplier) }}
        else {{ cost_component(
            'output_tokens - reasoning_tokens', effective_output_price(), multiplier
        ) }}
            + {{ cost_component('reasoning_tokens', 'reasoning_usd_per_mtok', multiplier) }}
    end as output_cost_usd
{%- endmacro %}

{#-
    The price lookup shared by every priced model (requests and provider usage buckets):
    the price columns of the matched row, the time-valid joins and the reason a row stays
    unpriced. The calling model imports the seeds itself (CTEs `aliases`, `prices` and
    `multipliers` over model_aliases, model_prices and service_tier_multipliers), lists
    the priced models (CTE `priced_models`: distinct provider, model of prices) and
    resolves its canonical model; one definition of the joins, so the two grains can never
    price differently. Seed keys are compared lowercase. A service-tier multiplier naming
    the model (OpenAI's priority premium differs by model) wins over the provider's row
    for every model (model `*`; an empty model reads the same).
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
        coalesce(model_multipliers.multiplier, multipliers.multiplier) as service_tier_multiplier
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
    left join multipliers as model_multipliers
        on
            {{ rows }}.{{ provider_column }} = lower(model_multipliers.provider)
            and {{ rows }}.model = lower(model_multipliers.model)
            and {{ rows }}.service_tier = lower(model_multipliers.service_tier)
    left join multipliers
        on
            {{ rows }}.{{ provider_column }} = lower(multipliers.provider)
            and coalesce(multipliers.model, '*') = '*'
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

{#- The token columns of a priced fact (fct_llm_requests, with its reasoning tokens;
    fct_provider_usage), typed as both contracts declare them: uncached input is the input
    less cache reads and writes, total is input plus output. -#}
{% macro token_columns(reasoning=false) -%}
    cast(input_tokens as bigint) as input_tokens,
    cast(input_tokens - cache_read_tokens - cache_write_tokens as bigint)
        as uncached_input_tokens,
    cast(cache_read_tokens as bigint) as cache_read_tokens,
    cast(cache_write_tokens as bigint) as cache_write_tokens,
    cast(cache_write_1h_tokens as bigint) as cache_write_1h_tokens,
    cast(output_tokens as bigint) as output_tokens,
    {%- if reasoning %}
    cast(reasoning_tokens as bigint) as reasoning_tokens,
    {%- endif %}
    cast(input_tokens + output_tokens as bigint) as total_tokens
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

{#-
    The pricing dimensions of a request beyond its tokens and service tier (a request grain
    only: a provider usage bucket reports none of them), read from three seeds the calling
    model imports as CTEs `request_fees`, `price_multipliers` and `price_time_windows`:
      - per-request and per-tool-call fees (request_fees: a fee per successful request, per
        web search, per code-execution container), summed in fee_cost_usd;
      - multipliers by a value the response reports (price_multipliers: speed = fast mode,
        inference_geo = data residency); an absent value is the list price;
      - time-of-day windows (price_time_windows: DeepSeek's peak hours at 2x).
    A fee or multiplier row naming the model wins over its provider's row for every model
    (model `*`); every row is time-valid like model_prices. A value reported with no row valid at
    the request's time leaves the request unpriced (pricing_dimension_unpriced_reason),
    never priced at the list price in silence.
-#}

{#- Fee -> the event column counting its units (none: one unit per successful request). -#}
{% macro request_fee_units() -%}
    {{ return({
        'request': none,
        'web_search': 'web_search_requests',
        'code_execution': 'code_execution_containers',
    }) }}
{%- endmacro %}

{#- Left joins of a time-valid seed CTE `relation` (columns provider, model, valid_from,
    valid_to) twice: `<alias>_model` (the row naming the model) and `<alias>_provider` (the
    provider's row for every model, model `*`), each also matching `filters` (column ->
    expression). Read a value with model_or_provider(alias, column). -#}
{% macro model_or_provider_joins(relation, alias, rows, priced_at, provider_column, filters) -%}
    {%- for scope in ['model', 'provider'] %}
        {%- set joined = alias ~ '_' ~ scope %}
    left join {{ relation }} as {{ joined }}
        on
            {{ rows }}.{{ provider_column }} = {{ joined }}.provider
            {% if scope == 'model' -%}
                and {{ rows }}.model = {{ joined }}.model
            {%- else -%}
                and coalesce({{ joined }}.model, '*') = '*'
            {%- endif %}
            {%- for column, expression in filters.items() %}
            and {{ expression }} = {{ joined }}.{{ column }}
            {%- endfor %}
            and {{ rows }}.{{ priced_at }} >= {{ joined }}.valid_from
            and ({{ joined }}.valid_to is null or {{ rows }}.{{ priced_at }} < {{ joined }}.valid_to)
    {%- endfor %}
{%- endmacro %}

{% macro model_or_provider(alias, column) -%}
    coalesce({{ alias }}_model.{{ column }}, {{ alias }}_provider.{{ column }})
{%- endmacro %}

{#- Minutes since midnight of a UTC timestamp, and of an HH:MM text. -#}
{% macro minute_of_day(timestamp_expression) -%}
    (extract(hour from {{ timestamp_expression }}) * 60 + extract(minute from {{ timestamp_expression }}))
{%- endmacro %}

{% macro minute_of_day_text(hh_mm_expression) -%}
    (cast(substr({{ hh_mm_expression }}, 1, 2) as int) * 60
        + cast(substr({{ hh_mm_expression }}, 4, 2) as int))
{%- endmacro %}

{#- The joins of every pricing dimension of `rows` (a CTE with the price_provider and
    canonical model of each request). -#}
{% macro pricing_dimension_joins(rows, priced_at, provider_column='price_provider') -%}
    {%- for fee in request_fee_units() %}
    {{ model_or_provider_joins(
        'request_fees', fee ~ '_fees', rows, priced_at, provider_column,
        {'fee': "'" ~ fee ~ "'"},
    ) }}
    {%- endfor %}
    {%- for dimension in events_pricing_dimensions() %}
    {{ model_or_provider_joins(
        'price_multipliers', dimension ~ '_multipliers', rows, priced_at, provider_column,
        {'dimension': "'" ~ dimension ~ "'", 'value': rows ~ '.' ~ dimension},
    ) }}
    {%- endfor %}
    left join price_time_windows
        on
            {{ rows }}.{{ provider_column }} = price_time_windows.provider
            and {{ rows }}.model = price_time_windows.model
            and {{ rows }}.{{ priced_at }} >= price_time_windows.valid_from
            and (
                price_time_windows.valid_to is null
                or {{ rows }}.{{ priced_at }} < price_time_windows.valid_to
            )
            and (
                (
                    price_time_windows.start_minute < price_time_windows.end_minute
                    and {{ minute_of_day(rows ~ '.' ~ priced_at) }}
                    >= price_time_windows.start_minute
                    and {{ minute_of_day(rows ~ '.' ~ priced_at) }}
                    < price_time_windows.end_minute
                )
                or (
                    price_time_windows.start_minute > price_time_windows.end_minute
                    and (
                        {{ minute_of_day(rows ~ '.' ~ priced_at) }}
                        >= price_time_windows.start_minute
                        or {{ minute_of_day(rows ~ '.' ~ priced_at) }}
                        < price_time_windows.end_minute
                    )
                )
            )
{%- endmacro %}

{#- The columns the joins of pricing_dimension_joins yield: each fee's USD per unit, each
    dimension's multiplier (1 when the request reports no value, null when it reports a
    value no row prices) and the time-of-day multiplier (1 outside every window). -#}
{% macro pricing_dimension_columns(rows) -%}
    {%- for fee in request_fee_units() %}
    {{ model_or_provider(fee ~ '_fees', 'usd_per_unit') }} as {{ fee }}_usd_per_unit,
    {%- endfor %}
    {%- for dimension in events_pricing_dimensions() %}
    case
        when {{ rows }}.{{ dimension }} is null then cast(1 as decimal(9, 4))
        else {{ model_or_provider(dimension ~ '_multipliers', 'multiplier') }}
    end as {{ dimension }}_multiplier,
    {%- endfor %}
    coalesce(price_time_windows.multiplier, cast(1 as decimal(9, 4))) as time_of_day_multiplier
{%- endmacro %}

{#- Why a request with a known price stays unpriced because of a pricing dimension (after
    unpriced_reason): a reported value without a multiplier, tool calls without a fee. -#}
{% macro pricing_dimension_unpriced_reason() -%}
    case
        {%- for dimension in events_pricing_dimensions() %}
        when {{ dimension }}_multiplier is null then 'no_{{ dimension }}_multiplier'
        {%- endfor %}
        {%- for fee, units in request_fee_units().items() if units %}
        when {{ units }} > 0 and {{ fee }}_usd_per_unit is null
            then 'no_{{ fee }}_price'
        {%- endfor %}
    end
{%- endmacro %}

{#- The factor on every token price of a request: service tier x speed x inference geo x
    time of day, kept to 4 decimals like each factor (every shipped product is exact). -#}
{% macro token_price_multiplier() -%}
    cast(
        service_tier_multiplier
        {%- for dimension in events_pricing_dimensions() %}
        * {{ dimension }}_multiplier
        {%- endfor %}
        * time_of_day_multiplier
        as decimal(9, 4)
    )
{%- endmacro %}

{#- Fees of a request: the per-request fee (successful requests) plus each tool call at its
    fee; 0 when none applies or `free_condition` holds (a proxy cache hit: the provider was
    never called), null when the request is not priced. -#}
{% macro fee_cost_column(priced_condition, free_condition='false') -%}
    case
        when not ({{ priced_condition }}) then null
        when {{ free_condition }} then cast(0 as decimal(38, 12))
        else cast(
            {%- for fee, units in request_fee_units().items() %}
            {% if not loop.first %}+ {% endif -%}
            {%- if units -%}
                cast(coalesce({{ units }}, 0) as decimal(18, 0))
            {%- else -%}
                case when status = 'success' then cast(1 as decimal(18, 0)) else 0 end
            {%- endif %}
            * coalesce(cast({{ fee }}_usd_per_unit as decimal(18, 6)), 0)
            {%- endfor %}
            as decimal(38, 12)
        )
    end as fee_cost_usd
{%- endmacro %}
