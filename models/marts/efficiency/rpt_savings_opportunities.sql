-- What to change, as one ranked list: every saving is a repricing of the last
-- var insight_window_days (28) days of real requests (ending on the data's last usage day)
-- with the price history, normalised to a month (x 30.4375 / the days the window's data
-- covers: fewer than the window's days when the data is younger).
--
--   model_substitution  the best cheaper candidate per workflow x task x current model of
--                       rpt_model_substitution (its quality guard and its own window and
--                       monthly normalisation; confidence high when the candidate's quality
--                       is no lower at the guard's confidence, else medium);
--   batch_tier          workflows that seeds/workflow_policies.csv declares tolerant of at
--                       least a day (max_latency_seconds >= 86400): their standard-tier
--                       requests repriced at the provider's batch multiplier;
--   flex_tier           workflows tolerant of var flex_min_latency_seconds but less than a
--                       day, on a provider with a flex tier: standard-tier requests at flex;
--   cache_waste         workflow x model whose caching costs more than it saves
--                       (rpt_cache_efficiency.net_cache_savings_usd < 0, typically writes
--                       that no read follows within their TTL): turning its cache writes
--                       off saves -net_cache_savings_usd;
--   cache_ttl           workflow x model whose caching pays (net_cache_savings_usd >= 0;
--                       else cache_waste covers it) and that would pay less at its
--                       recommended_ttl: rpt_cache_efficiency's repricing of the window's
--                       requests at that TTL (ttl_5m_savings_usd or ttl_1h_savings_usd);
--   price_change        price rows dated after the data (announced changes): the window's
--                       requests of that model at the new price minus their computed cost
--                       now (list prices on both sides, also for billed requests; negative:
--                       the model gets dearer next month).
-- Rows below var savings_min_monthly_usd (in absolute value) are left out. Ranked by
-- monthly_savings_usd, largest first.

{%- set month_factor = '(30.4375 / coverage.covered_days)' %}

with

-- requests and windowed are inlined into each of their readers (macro inlined_cte): each
-- reads only its own columns and rows of the window, instead of the whole window of every
-- column materialised once
requests as {{ inlined_cte() }} (
    select * from {{ ref('fct_llm_requests') }}
    where is_priced
),

substitution as (
    select * from {{ ref('rpt_model_substitution') }}
    where is_best_candidate
),

cache_efficiency as (
    select * from {{ ref('rpt_cache_efficiency') }}
),

policies as (
    select * from {{ ref('workflow_policies') }}
),

multipliers as (
    select * from {{ ref('service_tier_multipliers') }}
),

prices as (
    select * from {{ ref('model_prices') }}
),

anchor as (
    select max(usage_date) as window_end_date from {{ ref('fct_llm_requests') }}
),

windowed as {{ inlined_cte() }} (
    select requests.*
    from requests
    cross join anchor
    where requests.usage_date > anchor.window_end_date - {{ var('insight_window_days') }}
),

coverage as (
    select {{ days_between('min(usage_date)', 'max(usage_date)') }} + 1 as covered_days
    from windowed
),

substitutions as (
    select
        'model_substitution' as opportunity_type,
        workflow,
        current_provider as provider,
        current_model as model,
        candidate_provider || '/' || candidate_model as candidate,
        estimated_monthly_savings_usd as monthly_savings_usd,
        case when quality_difference_lower_bound >= 0 then 'high' else 'medium' end
            as confidence,
        'cost per success ' || cast(round(current_cost_per_successful_request_usd, 6) as string)
        || ' -> ' || cast(round(candidate_cost_per_successful_request_usd, 6) as string)
        || ' USD; quality ' || cast(round(current_avg_quality_score, 3) as string) || ' -> '
        || cast(round(candidate_avg_quality_score, 3) as string) || ' (' || task_type
        || ', ' || cast(window_start_date as string) || ' to '
        || cast(window_end_date as string) || ')' as evidence
    from substitution
),

tolerant as (
    select
        windowed.workflow,
        windowed.provider,
        windowed.model,
        case
            when policies.max_latency_seconds >= 86400 then 'batch'
            when policies.max_latency_seconds >= {{ var('flex_min_latency_seconds') }}
                then 'flex'
        end as candidate_tier,
        policies.max_latency_seconds,
        count(*) as requests,
        sum(windowed.total_cost_usd) as cost_usd,
        sum(
            windowed.total_cost_usd / windowed.service_tier_multiplier
        ) as cost_at_multiplier_one_usd
    from windowed
    inner join policies on windowed.workflow = policies.workflow
    where windowed.service_tier = 'standard'
    group by
        windowed.workflow, windowed.provider, windowed.model, policies.max_latency_seconds
),

-- the candidate tier's multiplier: the model's own row, else the provider's
tier_multipliers as (
    select
        tolerant.*,
        coalesce(model_multipliers.multiplier, multipliers.multiplier) as multiplier
    from tolerant
    left join multipliers as model_multipliers
        on
            tolerant.provider = lower(model_multipliers.provider)
            and tolerant.model = lower(model_multipliers.model)
            and tolerant.candidate_tier = lower(model_multipliers.service_tier)
    left join multipliers
        on
            tolerant.provider = lower(multipliers.provider)
            and coalesce(multipliers.model, '*') = '*'
            and tolerant.candidate_tier = lower(multipliers.service_tier)
),

tiers as (
    select
        tier_multipliers.candidate_tier || '_tier' as opportunity_type,
        tier_multipliers.workflow,
        tier_multipliers.provider,
        tier_multipliers.model,
        tier_multipliers.candidate_tier as candidate,
        (
            tier_multipliers.cost_usd
            - tier_multipliers.cost_at_multiplier_one_usd * tier_multipliers.multiplier
        )
        * {{ month_factor }} as monthly_savings_usd,
        'high' as confidence,
        cast(tier_multipliers.requests as string) || ' standard-tier requests costing '
        || cast(round(tier_multipliers.cost_usd, 2) as string) || ' USD in '
        || '{{ var("insight_window_days") }} days; the workflow tolerates '
        || cast(tier_multipliers.max_latency_seconds as string)
        || ' s (seeds/workflow_policies.csv), '
        || tier_multipliers.candidate_tier || ' costs x'
        || cast(tier_multipliers.multiplier as string) as evidence
    from tier_multipliers
    cross join coverage
    where tier_multipliers.multiplier is not null
),

cache_waste as (
    select
        'cache_waste' as opportunity_type,
        cache_efficiency.workflow,
        cache_efficiency.provider,
        cache_efficiency.model,
        'stop cache writes that nothing reads' as candidate,
        -cache_efficiency.net_cache_savings_usd * {{ month_factor }} as monthly_savings_usd,
        'high' as confidence,
        cast(cache_efficiency.wasted_write_requests as string) || ' of '
        || cast(cache_efficiency.cache_write_requests as string)
        || ' cache writes never read within their TTL; hit ratio '
        || cast(round(coalesce(cache_efficiency.cache_hit_ratio, 0) * 100, 1) as string)
        || '%, net ' || cast(round(cache_efficiency.net_cache_savings_usd, 2) as string)
        || ' USD in {{ var("insight_window_days") }} days' as evidence
    from cache_efficiency
    cross join coverage
    where cache_efficiency.net_cache_savings_usd < 0
),

cache_ttl as (
    select
        'cache_ttl' as opportunity_type,
        cache_efficiency.workflow,
        cache_efficiency.provider,
        cache_efficiency.model,
        'cache TTL ' || cache_efficiency.recommended_ttl as candidate,
        case
            when cache_efficiency.recommended_ttl = '5m'
                then cache_efficiency.ttl_5m_savings_usd
            else cache_efficiency.ttl_1h_savings_usd
        end * {{ month_factor }} as monthly_savings_usd,
        'high' as confidence,
        cast(cache_efficiency.cache_write_requests as string) || ' cache writes, '
        || cast(cache_efficiency.late_read_requests as string)
        || ' reads 5-60 minutes after the previous cache use; at a '
        || cache_efficiency.recommended_ttl || ' TTL the {{ var("insight_window_days") }} days '
        || 'would have cost '
        || cast(round(case
            when cache_efficiency.recommended_ttl = '5m'
                then cache_efficiency.ttl_5m_savings_usd
            else cache_efficiency.ttl_1h_savings_usd
        end, 2) as string) || ' USD less' as evidence
    from cache_efficiency
    cross join coverage
    where
        cache_efficiency.net_cache_savings_usd >= 0
        and (
            cache_efficiency.recommended_ttl = '5m' and cache_efficiency.ttl_5m_savings_usd > 0
            or cache_efficiency.recommended_ttl = '1h'
            and cache_efficiency.ttl_1h_savings_usd > 0
        )
),

-- announced prices: rows that start after the data, repricing the window's requests
announced as (
    select prices.*
    from prices
    cross join anchor
    where cast(prices.valid_from as date) > anchor.window_end_date
),

repriced as (
    select
        windowed.workflow,
        windowed.provider,
        windowed.model,
        announced.valid_from as announced_from,
        windowed.computed_cost_usd,
        windowed.input_tokens,
        windowed.cache_read_tokens,
        windowed.cache_write_tokens,
        windowed.cache_write_1h_tokens,
        windowed.output_tokens,
        windowed.reasoning_tokens,
        windowed.token_price_multiplier,
        windowed.fee_cost_usd,
        announced.input_usd_per_mtok,
        announced.output_usd_per_mtok,
        announced.cache_read_usd_per_mtok,
        announced.cache_write_5m_usd_per_mtok,
        announced.cache_write_1h_usd_per_mtok,
        announced.tier_threshold_tokens,
        announced.tier_input_usd_per_mtok,
        announced.tier_output_usd_per_mtok,
        announced.tier_cache_read_usd_per_mtok,
        announced.tier_cache_write_5m_usd_per_mtok,
        announced.tier_cache_write_1h_usd_per_mtok,
        announced.reasoning_usd_per_mtok
    from windowed
    inner join announced
        on windowed.price_provider = announced.provider and windowed.model = announced.model
),

repriced_costs as (
    select
        workflow,
        provider,
        model,
        announced_from,
        sum(computed_cost_usd) as cost_usd,
        sum(
            input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd
            + fee_cost_usd
        ) as repriced_cost_usd
    from (
        select
            workflow,
            provider,
            model,
            announced_from,
            computed_cost_usd,
            fee_cost_usd,
            {{ request_cost_columns(multiplier='token_price_multiplier') }}
        from repriced
    ) as request_costs
    group by workflow, provider, model, announced_from
),

price_changes as (
    select
        'price_change' as opportunity_type,
        repriced_costs.workflow,
        repriced_costs.provider,
        repriced_costs.model,
        'price from ' || cast(cast(repriced_costs.announced_from as date) as string)
            as candidate,
        (repriced_costs.cost_usd - repriced_costs.repriced_cost_usd) * {{ month_factor }}
            as monthly_savings_usd,
        'high' as confidence,
        'the last {{ var("insight_window_days") }} days cost '
        || cast(round(repriced_costs.cost_usd, 2) as string) || ' USD, '
        || cast(round(repriced_costs.repriced_cost_usd, 2) as string)
        || ' USD at the announced price' as evidence
    from repriced_costs
    cross join coverage
),

unioned as (
    select * from substitutions
    union all
    select * from tiers
    union all
    select * from cache_waste
    union all
    select * from cache_ttl
    union all
    select * from price_changes
),

final as (
    select
        cast(md5(concat_ws('|', opportunity_type, workflow, provider, model, candidate)) as string)
            as savings_opportunity_key,
        cast(row_number() over (
            order by
                monthly_savings_usd desc,
                opportunity_type asc,
                workflow asc,
                provider asc,
                model asc,
                candidate asc
        ) as integer) as savings_rank,
        cast(opportunity_type as string) as opportunity_type,
        cast(workflow as string) as workflow,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(candidate as string) as candidate,
        cast(monthly_savings_usd as decimal(38, 12)) as monthly_savings_usd,
        cast(confidence as string) as confidence,
        cast(evidence as string) as evidence
    from unioned
    where abs(monthly_savings_usd) >= {{ var('savings_min_monthly_usd') }}
)

select * from final
