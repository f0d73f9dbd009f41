-- Why cost moved: for periods of var driver_period_days (7 and 28 days) ending on the
-- data's last usage day against the period of the same length before, per scope (total,
-- team, workflow, provider/model), the change of priced cost split into five effects and
-- a residual that add up exactly to delta_usd.
--
-- cost = V x R x sum over models m of (s_m x e_m x p_m), with
--   V   volume: successful requests (the work done);
--   R   reliability: requests per successful request (failures and retries);
--   s_m mix: model m's share of the scope's requests;
--   e_m efficiency: model m's cost per request at reference unit prices (its tokens per
--       request, by component: uncached input, cache read, cache write, output);
--   p_m price: what model m's tokens cost / what they cost at the reference unit prices
--       (versioned list prices, service tier, long-context tier); 1 when nothing changed.
-- The reference unit price of a component is the previous period's (cost / tokens), or
-- the current period's when the previous period has none of it. A model absent from one
-- period takes its e and p from the other (its arrival or departure is pure mix).
-- The effects are the Shapley values of the five factors (the average over all 120
-- orders of switching one factor from previous to current): they do not depend on an
-- arbitrary order (a sequential split would credit the interaction of volume and price
-- to whichever comes last) and sum to the change. other_effect_usd = delta_usd - the five
-- effects: the floating-point residual (below a millionth of a cent). A scope with no
-- successful request in either period puts its whole change in volume_effect_usd.
-- Unpriced requests are left out (counted in unpriced_requests), never costed as 0.

{%- set factors = ['volume', 'reliability', 'mix', 'efficiency', 'price'] %}
{%- set weights = [0.2, 0.05, 1.0 / 30, 0.05, 0.2] %}

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
),

anchor as (
    select max(usage_date) as end_date from requests
),

periods as (
    {%- for days in var('driver_period_days') %}
    select
        {{ days }} as period_days,
        cast({{ dbt.dateadd('day', 1 - days, 'end_date') }} as date) as period_start,
        end_date as period_end,
        cast({{ dbt.dateadd('day', 1 - 2 * days, 'end_date') }} as date) as previous_start
    from anchor
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

windowed as (
    select
        periods.period_days,
        periods.period_start,
        periods.period_end,
        requests.usage_date >= periods.period_start as is_current,
        requests.*
    from requests
    inner join periods
        on requests.usage_date between periods.previous_start and periods.period_end
),

scoped as (
    select
        'total' as scope_type,
        'total' as scope_id,
        *
    from windowed
    union all
    select
        'team' as scope_type,
        {{ attributed('team') }} as scope_id,
        *
    from windowed
    union all
    select
        'workflow' as scope_type,
        {{ attributed('workflow') }} as scope_id,
        *
    from windowed
    union all
    select
        'model' as scope_type,
        provider || '/' || model as scope_id,
        *
    from windowed
),

-- per scope, period and model: requests, successes, cost and tokens by component
per_model as (
    select
        scope_type,
        scope_id,
        period_days,
        period_start,
        period_end,
        provider,
        model,
        {%- for side, condition in [('p', 'not is_current'), ('c', 'is_current')] %}
        count(*) filter (where is_priced and {{ condition }}) as requests_{{ side }},
        count(*) filter (where is_priced and is_success and {{ condition }})
            as successes_{{ side }},
        count(*) filter (where not is_priced and {{ condition }}) as unpriced_{{ side }},
        coalesce(sum(total_cost_usd) filter (where {{ condition }}), 0) as cost_{{ side }},
        {%- for component in ['uncached_input', 'cache_read', 'cache_write', 'output'] %}
        coalesce(sum(
            {{ 'uncached_input_tokens' if component == 'uncached_input'
               else component ~ '_tokens' }}
        ) filter (where is_priced and {{ condition }}), 0) as {{ component }}_tokens_{{ side }},
        coalesce(
            sum(
                {{ 'input_cost_usd' if component == 'uncached_input'
                   else component ~ '_cost_usd' }}
            ) filter (where is_priced and {{ condition }}), 0
        ) as {{ component }}_cost_{{ side }}{{ ',' if not (loop.last and side == 'c') }}
        {%- endfor %}
        {%- endfor %}
    from scoped
    group by scope_type, scope_id, period_days, period_start, period_end, provider, model
),

unit_prices as (
    select
        *,
        {%- for component in ['uncached_input', 'cache_read', 'cache_write', 'output'] %}
        coalesce(
            cast({{ component }}_cost_p as double) / nullif({{ component }}_tokens_p, 0),
            cast({{ component }}_cost_c as double) / nullif({{ component }}_tokens_c, 0),
            0
        ) as {{ component }}_unit_usd{{ ',' if not loop.last }}
        {%- endfor %}
    from per_model
),

reference_costs as (
    select
        *,
        {%- for side in ['p', 'c'] %}
        uncached_input_tokens_{{ side }} * uncached_input_unit_usd
        + cache_read_tokens_{{ side }} * cache_read_unit_usd
        + cache_write_tokens_{{ side }} * cache_write_unit_usd
        + output_tokens_{{ side }} * output_unit_usd as reference_cost_{{ side }},
        {%- endfor %}
        sum(requests_p) over scope_period as scope_requests_p,
        sum(requests_c) over scope_period as scope_requests_c,
        sum(successes_p) over scope_period as scope_successes_p,
        sum(successes_c) over scope_period as scope_successes_c
    from unit_prices
    window scope_period as (partition by scope_type, scope_id, period_days)
),

-- factors per model (s, e, p), each for the previous (_p) and current (_c) period
model_factors as (
    select
        *,
        cast(requests_p as double) / nullif(scope_requests_p, 0) as mix_p,
        cast(requests_c as double) / nullif(scope_requests_c, 0) as mix_c,
        coalesce(
            reference_cost_p / nullif(requests_p, 0), reference_cost_c / nullif(requests_c, 0)
        ) as efficiency_p,
        coalesce(
            reference_cost_c / nullif(requests_c, 0), reference_cost_p / nullif(requests_p, 0)
        ) as efficiency_c,
        coalesce(
            case when requests_p > 0 then cost_p / nullif(reference_cost_p, 0) end,
            case when requests_c > 0 then cost_c / nullif(reference_cost_c, 0) end,
            1
        ) as price_p,
        coalesce(
            case when requests_c > 0 then cost_c / nullif(reference_cost_c, 0) end,
            case when requests_p > 0 then cost_p / nullif(reference_cost_p, 0) end,
            1
        ) as price_c
    from reference_costs
),

-- sum over models of s x e x p for the 8 combinations of previous / current factors
scope_sums as (
    select
        scope_type,
        scope_id,
        period_days,
        period_start,
        period_end,
        sum(cost_p) as previous_cost_usd,
        sum(cost_c) as cost_usd,
        sum(requests_p) + sum(unpriced_p) as previous_requests,
        sum(requests_c) + sum(unpriced_c) as requests,
        sum(unpriced_c) as unpriced_requests,
        max(scope_successes_p) as successes_p,
        max(scope_successes_c) as successes_c,
        max(scope_requests_p) as requests_p,
        max(scope_requests_c) as requests_c,
        {%- for mix in ['p', 'c'] %}{% for eff in ['p', 'c'] %}{% for price in ['p', 'c'] %}
        sum(
            coalesce(mix_{{ mix }}, 0) * efficiency_{{ eff }} * price_{{ price }}
        ) as g_{{ mix }}{{ eff }}{{ price }}{{ ',' if not (mix == 'c' and eff == 'c' and price == 'c') }}
        {%- endfor %}{% endfor %}{% endfor %}
    from model_factors
    group by scope_type, scope_id, period_days, period_start, period_end
),

-- cost with each subset of the five factors at its current value (bit i = factors[i])
subset_costs as (
    select
        *,
        {%- for mask in range(32) %}
        {%- set s = [] %}{% for i in range(5) %}{% do s.append('c' if (mask // (2 ** i)) % 2 else 'p') %}{% endfor %}
        cast(successes_{{ s[0] }} as double)
        * (cast(requests_{{ s[1] }} as double) / nullif(successes_{{ s[1] }}, 0))
        * g_{{ s[2] }}{{ s[3] }}{{ s[4] }} as f_{{ mask }}{{ ',' if not loop.last }}
        {%- endfor %}
    from scope_sums
),

effects as (
    select
        *,
        cost_usd - previous_cost_usd as delta_usd,
        successes_p > 0 and successes_c > 0 as is_decomposable,
        {%- for i in range(5) %}
        {%- set bit = 2 ** i %}
        (
            {%- for mask in range(32) if (mask // bit) % 2 == 0 %}
            {%- set size = [] %}{% for j in range(5) %}{% if (mask // (2 ** j)) % 2 %}{% do size.append(j) %}{% endif %}{% endfor %}
            {{ '+ ' if not loop.first }}{{ weights[size | length] }} * (f_{{ mask + bit }} - f_{{ mask }})
            {%- endfor %}
        ) as shapley_{{ factors[i] }}{{ ',' if not loop.last }}
        {%- endfor %}
    from subset_costs
),

assigned as (
    select
        *,
        {%- for factor in factors %}
        cast(
            case
                when is_decomposable then shapley_{{ factor }}
                {%- if factor == 'volume' %}
                else delta_usd
                {%- else %}
                else 0
                {%- endif %}
            end as decimal(38, 12)
        ) as {{ factor }}_effect_usd{{ ',' if not loop.last }}
        {%- endfor %}
    from effects
),

ranked as (
    select
        *,
        delta_usd
        - volume_effect_usd
        - reliability_effect_usd
        - mix_effect_usd
        - efficiency_effect_usd
        - price_effect_usd as other_effect_usd,
        greatest(
            {%- for factor in factors %}
            abs({{ factor }}_effect_usd){{ ',' if not loop.last }}
            {%- endfor %}
        ) as largest_effect_usd
    from assigned
),

final as (
    select
        cast(md5(concat_ws('|', scope_type, scope_id, period_days)) as string)
            as cost_change_driver_key,
        cast(scope_type as string) as scope_type,
        cast(scope_id as string) as scope_id,
        cast(period_days as integer) as period_days,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(requests as bigint) as requests,
        cast(previous_requests as bigint) as previous_requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(cost_usd as decimal(38, 12)) as cost_usd,
        cast(previous_cost_usd as decimal(38, 12)) as previous_cost_usd,
        cast(delta_usd as decimal(38, 12)) as delta_usd,
        {%- for factor in ['volume', 'mix', 'price', 'efficiency', 'reliability'] %}
        cast({{ factor }}_effect_usd as decimal(38, 12)) as {{ factor }}_effect_usd,
        {%- endfor %}
        cast(other_effect_usd as decimal(38, 12)) as other_effect_usd,
        cast(
            case
                when
                    delta_usd = 0
                    or abs(delta_usd) < {{ var('driver_min_change_share') }} * previous_cost_usd
                    then 'none'
                {%- for factor in ['volume', 'mix', 'price', 'efficiency', 'reliability'] %}
                when abs({{ factor }}_effect_usd) = largest_effect_usd then '{{ factor }}'
                {%- endfor %}
            end as string
        ) as top_driver
    from ranked
)

select * from final
