-- Why cost moved: for periods of var driver_period_days (7 and 28 days) ending on the
-- data's last usage day (period_kind 'trailing') and, with var driver_last_full_week, the
-- last full Monday-to-Sunday week before that day's week ('last_full_week': the weekly
-- report's period), each against the period of the same length before, per scope (total,
-- team, workflow, provider/model), the change of priced cost split into five effects and
-- a residual that add up exactly to delta_usd. Readers take the row whose period_days and
-- period_end are their period's (aiusage.reporting.insights), never another period's.
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


with

-- the requests summed per usage day, team, workflow and model (int_daily_requests_summed,
-- incremental by day): the periods below re-aggregate these sums, not every request.
-- Counts and token sums are integers and costs decimals: the sums of sums are exact.
daily as (
    select * from {{ ref('int_daily_requests_summed') }}
),

anchor as (
    select max(usage_date) as end_date from daily
),

-- the last full week ends on the Sunday before the last usage day's week (isodow 7 =
-- Sunday: a week ending on the last usage day is the trailing period's)
week_anchor as (
    select
        cast({{ dbt.dateadd('day', '-' ~ iso_day_of_week('end_date'), 'end_date') }} as date)
            as end_date
    from anchor
),

periods as (
    {%- for days in var('driver_period_days') %}
        select
            'trailing' as period_kind,
            {{ days }} as period_days,
            cast({{ dbt.dateadd('day', 1 - days, 'end_date') }} as date) as period_start,
            end_date as period_end,
            cast({{ dbt.dateadd('day', 1 - 2 * days, 'end_date') }} as date) as previous_start
        from anchor
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
    {%- if var('driver_last_full_week') %}
        union all
        select
            'last_full_week' as period_kind,
            7 as period_days,
            cast({{ dbt.dateadd('day', -6, 'end_date') }} as date) as period_start,
            end_date as period_end,
            cast({{ dbt.dateadd('day', -13, 'end_date') }} as date) as previous_start
        from week_anchor
    {%- endif %}
),

-- each period's sums per team, workflow and model: the four scopes below re-aggregate
-- these (thousands of rows)
summed as (
    select
        periods.period_kind,
        periods.period_days,
        periods.period_start,
        periods.period_end,
        daily.usage_date >= periods.period_start as is_current,
        daily.team,
        daily.workflow,
        daily.provider,
        daily.model,
        sum(daily.priced_requests) as priced_requests,
        sum(daily.priced_successes) as priced_successes,
        sum(daily.unpriced_requests) as unpriced_requests,
        {%- for name in ['uncached_input', 'cache_read', 'cache_write', 'output'] %}
            sum(daily.{{ name }}_tokens) as {{ name }}_tokens,
            sum(daily.{{ name }}_cost) as {{ name }}_cost,
        {%- endfor %}
        sum(daily.cost_usd) as cost_usd
    from daily
    inner join periods
        on daily.usage_date between periods.previous_start and periods.period_end
    group by
        periods.period_kind, periods.period_days, periods.period_start, periods.period_end,
        daily.usage_date >= periods.period_start, daily.team, daily.workflow, daily.provider,
        daily.model
),

scoped as (
    select
        'total' as scope_type,
        'total' as scope_id,
        *
    from summed
    union all
    select
        'team' as scope_type,
        team as scope_id,
        *
    from summed
    union all
    select
        'workflow' as scope_type,
        workflow as scope_id,
        *
    from summed
    union all
    select
        'model' as scope_type,
        provider || '/' || model as scope_id,
        *
    from summed
),

-- per scope, period and model: requests, successes, cost and tokens by component
per_model as (
    select
        {%- for suffix, in_period in [('p', 'not is_current'), ('c', 'is_current')] %}
            cast(coalesce(sum(priced_requests) filter (where {{ in_period }}), 0) as bigint)
                as requests_{{ suffix }},
            cast(coalesce(sum(priced_successes) filter (where {{ in_period }}), 0) as bigint)
                as successes_{{ suffix }},
            cast(coalesce(sum(unpriced_requests) filter (where {{ in_period }}), 0) as bigint)
                as unpriced_{{ suffix }},
            coalesce(sum(cost_usd) filter (where {{ in_period }}), 0) as cost_{{ suffix }},
            {%- for name in ['uncached_input', 'cache_read', 'cache_write', 'output'] %}
                coalesce(sum({{ name }}_tokens) filter (where {{ in_period }}), 0)
                    as {{ name }}_tokens_{{ suffix }},
                coalesce(sum({{ name }}_cost) filter (where {{ in_period }}), 0)
                    as {{ name }}_cost_{{ suffix }},
            {%- endfor %}
        {%- endfor %}
        scope_type,
        scope_id,
        period_kind,
        period_days,
        period_start,
        period_end,
        provider,
        model
    from scoped
    group by
        scope_type, scope_id, period_kind, period_days, period_start, period_end, provider, model
),

unit_prices as (
    select
        *,
        coalesce(
            cast(uncached_input_cost_p as double) / nullif(uncached_input_tokens_p, 0),
            cast(uncached_input_cost_c as double) / nullif(uncached_input_tokens_c, 0),
            0
        ) as uncached_input_unit_usd,
        coalesce(
            cast(cache_read_cost_p as double) / nullif(cache_read_tokens_p, 0),
            cast(cache_read_cost_c as double) / nullif(cache_read_tokens_c, 0),
            0
        ) as cache_read_unit_usd,
        coalesce(
            cast(cache_write_cost_p as double) / nullif(cache_write_tokens_p, 0),
            cast(cache_write_cost_c as double) / nullif(cache_write_tokens_c, 0),
            0
        ) as cache_write_unit_usd,
        coalesce(
            cast(output_cost_p as double) / nullif(output_tokens_p, 0),
            cast(output_cost_c as double) / nullif(output_tokens_c, 0),
            0
        ) as output_unit_usd
    from per_model
),

reference_costs as (
    select
        *,
        uncached_input_tokens_p * uncached_input_unit_usd
        + cache_read_tokens_p * cache_read_unit_usd
        + cache_write_tokens_p * cache_write_unit_usd
        + output_tokens_p * output_unit_usd as reference_cost_p,
        uncached_input_tokens_c * uncached_input_unit_usd
        + cache_read_tokens_c * cache_read_unit_usd
        + cache_write_tokens_c * cache_write_unit_usd
        + output_tokens_c * output_unit_usd as reference_cost_c,
        sum(requests_p) over scope_period as scope_requests_p,
        sum(requests_c) over scope_period as scope_requests_c,
        sum(successes_p) over scope_period as scope_successes_p,
        sum(successes_c) over scope_period as scope_successes_c
    from unit_prices
    window scope_period as (partition by scope_type, scope_id, period_days, period_end)
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

-- the 32 subsets of the five factors: 1 = the factor at its current value
bit_values as (
    select 0 as bit
    union all
    select 1 as bit
),

subsets as (
    select
        volume.bit as is_volume,
        reliability.bit as is_reliability,
        mix.bit as is_mix,
        efficiency.bit as is_efficiency,
        price.bit as is_price,
        volume.bit + 2 * reliability.bit + 4 * mix.bit + 8 * efficiency.bit + 16 * price.bit
            as subset_id,
        volume.bit + reliability.bit + mix.bit + efficiency.bit + price.bit as subset_size
    from bit_values as volume
    cross join bit_values as reliability
    cross join bit_values as mix
    cross join bit_values as efficiency
    cross join bit_values as price
),

factor_bits as (
    select
        'volume' as factor,
        1 as factor_bit
    union all
    select
        'reliability' as factor,
        2 as factor_bit
    union all
    select
        'mix' as factor,
        4 as factor_bit
    union all
    select
        'efficiency' as factor,
        8 as factor_bit
    union all
    select
        'price' as factor,
        16 as factor_bit
),

-- Shapley: for each factor and each subset without it, the weight
-- |S|! (4 - |S|)! / 5! of the change that switching the factor on makes
shapley_pairs as (
    select
        factor_bits.factor,
        subsets.subset_id as without_id,
        subsets.subset_id + factor_bits.factor_bit as with_id,
        case subsets.subset_size
            when 0 then 0.2
            when 1 then 0.05
            when 2 then 1.0 / 30
            when 3 then 0.05
            else 0.2
        end as weight
    from subsets
    cross join factor_bits
    where
        case factor_bits.factor
            when 'volume' then subsets.is_volume
            when 'reliability' then subsets.is_reliability
            when 'mix' then subsets.is_mix
            when 'efficiency' then subsets.is_efficiency
            else subsets.is_price
        end = 0
),

scope_totals as (
    select
        scope_type,
        scope_id,
        period_kind,
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
        max(scope_requests_c) as requests_c
    from model_factors
    group by scope_type, scope_id, period_kind, period_days, period_start, period_end
),

-- sum over models of s x e x p, each factor previous or current as the subset says (macro
-- ordered_sum: the sums, and so the effects, are the same in every build)
subset_sums as (
    select
        model_factors.scope_type,
        model_factors.scope_id,
        model_factors.period_days,
        model_factors.period_end,
        subsets.subset_id,
        max(subsets.is_volume) as is_volume,
        max(subsets.is_reliability) as is_reliability,
        {{ ordered_sum('''
            coalesce(
                case when subsets.is_mix = 1 then model_factors.mix_c else model_factors.mix_p end,
                0
            )
            * case
                when subsets.is_efficiency = 1 then model_factors.efficiency_c
                else model_factors.efficiency_p
            end
            * case
                when subsets.is_price = 1 then model_factors.price_c
                else model_factors.price_p
            end
        ''') }} as model_sum
    from model_factors
    cross join subsets
    group by
        model_factors.scope_type,
        model_factors.scope_id,
        model_factors.period_days,
        model_factors.period_end,
        subsets.subset_id
),

-- cost with each subset of factors at its current value: V x R x sum(s x e x p)
subset_costs as (
    select
        subset_sums.scope_type,
        subset_sums.scope_id,
        subset_sums.period_days,
        subset_sums.period_end,
        subset_sums.subset_id,
        cast(
            case
                when subset_sums.is_volume = 1 then scope_totals.successes_c
                else scope_totals.successes_p
            end as double
        )
        * case
            when subset_sums.is_reliability = 1
                then cast(scope_totals.requests_c as double) / nullif(scope_totals.successes_c, 0)
            else cast(scope_totals.requests_p as double) / nullif(scope_totals.successes_p, 0)
        end
        * subset_sums.model_sum as subset_cost
    from subset_sums
    inner join scope_totals
        on
            subset_sums.scope_type = scope_totals.scope_type
            and subset_sums.scope_id = scope_totals.scope_id
            and subset_sums.period_days = scope_totals.period_days
            and subset_sums.period_end = scope_totals.period_end
),

shapley as (
    select
        without_cost.scope_type,
        without_cost.scope_id,
        without_cost.period_days,
        without_cost.period_end,
        shapley_pairs.factor,
        {{ ordered_sum(
            'shapley_pairs.weight * (with_cost.subset_cost - without_cost.subset_cost)'
        ) }} as effect_usd
    from shapley_pairs
    inner join subset_costs as without_cost
        on shapley_pairs.without_id = without_cost.subset_id
    inner join subset_costs as with_cost
        on
            shapley_pairs.with_id = with_cost.subset_id
            and without_cost.scope_type = with_cost.scope_type
            and without_cost.scope_id = with_cost.scope_id
            and without_cost.period_days = with_cost.period_days
            and without_cost.period_end = with_cost.period_end
    group by
        without_cost.scope_type,
        without_cost.scope_id,
        without_cost.period_days,
        without_cost.period_end,
        shapley_pairs.factor
),

shapley_columns as (
    select
        scope_type,
        scope_id,
        period_days,
        period_end,
        sum(case when factor = 'volume' then effect_usd end) as shapley_volume,
        sum(case when factor = 'reliability' then effect_usd end) as shapley_reliability,
        sum(case when factor = 'mix' then effect_usd end) as shapley_mix,
        sum(case when factor = 'efficiency' then effect_usd end) as shapley_efficiency,
        sum(case when factor = 'price' then effect_usd end) as shapley_price
    from shapley
    group by scope_type, scope_id, period_days, period_end
),

effects as (
    select
        scope_totals.*,
        shapley_columns.shapley_volume,
        shapley_columns.shapley_reliability,
        shapley_columns.shapley_mix,
        shapley_columns.shapley_efficiency,
        shapley_columns.shapley_price,
        scope_totals.cost_usd - scope_totals.previous_cost_usd as delta_usd,
        scope_totals.successes_p > 0 and scope_totals.successes_c > 0 as is_decomposable
    from scope_totals
    left join shapley_columns
        on
            scope_totals.scope_type = shapley_columns.scope_type
            and scope_totals.scope_id = shapley_columns.scope_id
            and scope_totals.period_days = shapley_columns.period_days
            and scope_totals.period_end = shapley_columns.period_end
),

assigned as (
    select
        *,
        cast(
            case when is_decomposable then shapley_volume else delta_usd end as decimal(38, 12)
        ) as volume_effect_usd,
        cast(
            case when is_decomposable then shapley_reliability else 0 end as decimal(38, 12)
        ) as reliability_effect_usd,
        cast(
            case when is_decomposable then shapley_mix else 0 end as decimal(38, 12)
        ) as mix_effect_usd,
        cast(
            case when is_decomposable then shapley_efficiency else 0 end as decimal(38, 12)
        ) as efficiency_effect_usd,
        cast(
            case when is_decomposable then shapley_price else 0 end as decimal(38, 12)
        ) as price_effect_usd
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
            abs(volume_effect_usd),
            abs(mix_effect_usd),
            abs(price_effect_usd),
            abs(efficiency_effect_usd),
            abs(reliability_effect_usd)
        ) as largest_effect_usd
    from assigned
),

labelled as (
    select
        *,
        case
            when
                delta_usd = 0
                or abs(delta_usd) < {{ var('driver_min_change_share') }} * previous_cost_usd
                then 'none'
            when abs(volume_effect_usd) = largest_effect_usd then 'volume'
            when abs(mix_effect_usd) = largest_effect_usd then 'mix'
            when abs(price_effect_usd) = largest_effect_usd then 'price'
            when abs(efficiency_effect_usd) = largest_effect_usd then 'efficiency'
            when abs(reliability_effect_usd) = largest_effect_usd then 'reliability'
        end as top_driver
    from ranked
),

final as (
    select
        {{- contract_columns({
            'cost_change_driver_key':
                "md5(concat_ws('|', scope_type, scope_id, period_days, period_end))",
        }) }}
    from labelled
)

select * from final
