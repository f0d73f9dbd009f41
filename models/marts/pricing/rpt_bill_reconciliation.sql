-- The bill beside the estimate, and the prices the bills imply: one row per usage month x
-- provider x price list (price_provider) x model x price row (price_valid_from) over the
-- requests that carry a bill (billed_cost_usd). Compares the bills with the computed cost
-- (requests within 1% of their bill, drift) and fits the unit prices the bills imply:
--   bill = a x input-equivalent tokens + b x output-equivalent tokens + c (per request),
-- least squares over the group's requests, where input-equivalent tokens are the input
-- side's computed cost at the list input price (cache reads and writes keep their list
-- ratio to input) and output-equivalent tokens the output cost at the list output price
-- (reasoning priced apart keeps its ratio). Implied prices: a and b per million tokens, the
-- cache-read price at the list's ratio, c per request; when the fit is not determined (fewer
-- than 3 requests, or requests of one shape) they are the list prices scaled by the
-- median bill / computed ratio (implied_prices_method says which).
-- A group disagrees (is_disagreeing) when its bills and computed cost differ by more than
-- 1% or fewer than 90% of its requests are within 1% of their bill; likely_cause:
--   no_list_price          no price row (unpriced): the bills are the only price known
--   per_request_fee        the bills exceed the computed cost by a near-constant amount
--                          per request (search fees; Perplexity)
--   list_price_changed     one ratio explains the bills, and an earlier month of the same
--                          model agreed with its list price
--   list_price_stale       one ratio explains the bills (a retired model billed at 2x)
--   price_varies_by_host   no single ratio explains them (an aggregator routing an
--                          open-weights model to hosts with different prices)

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where billed_cost_usd is not null
),

prices as (
    select * from {{ ref('model_prices') }}
),

with_prices as (
    select
        requests.*,
        cast(date_trunc('month', requests.usage_date) as date) as usage_month,
        prices.input_usd_per_mtok as list_input_usd_per_mtok,
        prices.output_usd_per_mtok as list_output_usd_per_mtok,
        prices.cache_read_usd_per_mtok as list_cache_read_usd_per_mtok
    from requests
    left join prices
        on
            requests.price_provider = prices.provider
            and requests.model = prices.model
            and requests.price_valid_from = prices.valid_from
),

per_request as (
    select
        *,
        cast(billed_cost_usd as double) as y,
        case
            when is_priced and list_input_usd_per_mtok > 0
                then
                    cast(input_cost_usd + cache_read_cost_usd + cache_write_cost_usd as double)
                    * 1000000 / cast(list_input_usd_per_mtok as double)
        end as x1,
        case
            when is_priced and list_output_usd_per_mtok > 0
                then
                    cast(output_cost_usd as double) * 1000000
                    / cast(list_output_usd_per_mtok as double)
        end as x2,
        case
            when computed_cost_usd > 0 then cast(billed_cost_usd / computed_cost_usd as double)
        end as bill_ratio,
        cast(billed_cost_usd - computed_cost_usd as double) as bill_excess_usd,
        coalesce(
            abs(billed_cost_usd - computed_cost_usd) <= 0.01 * billed_cost_usd, false
        ) as is_within_1pct
    from with_prices
),

aggregated as (
    select
        usage_month,
        provider,
        price_provider,
        model,
        price_valid_from,
        max(list_input_usd_per_mtok) as list_input_usd_per_mtok,
        max(list_output_usd_per_mtok) as list_output_usd_per_mtok,
        max(list_cache_read_usd_per_mtok) as list_cache_read_usd_per_mtok,
        count(*) as billed_requests,
        count(*) filter (where is_priced) as priced_requests,
        count(*) filter (where is_within_1pct) as requests_within_1pct,
        sum(billed_cost_usd) as billed_cost_usd,
        sum(computed_cost_usd) as computed_cost_usd,
        {{ percentile_cont('bill_ratio', 0.5) }} as median_bill_ratio,
        stddev_samp(bill_ratio) / nullif(avg(bill_ratio), 0) as bill_ratio_cv,
        avg(bill_excess_usd) as avg_bill_excess_usd,
        stddev_samp(bill_excess_usd) as bill_excess_stddev_usd,
        count(x1) as n,
        sum(x1) as s1,
        sum(x2) as s2,
        sum(x1 * x1) as s11,
        sum(x1 * x2) as s12,
        sum(x2 * x2) as s22,
        sum(case when x1 is not null then y end) as sy,
        sum(x1 * y) as s1y,
        sum(x2 * y) as s2y
    from per_request
    group by usage_month, provider, price_provider, model, price_valid_from
),

fitted as (
    select
        *,
        {{ det3('n', 's1', 's2', 's1', 's11', 's12', 's2', 's12', 's22') }} as det
    from aggregated
),

solved as (
    select
        *,
        -- determined: 3+ requests whose shapes span the three unknowns (relative determinant)
        coalesce(
            n >= 3 and abs(det) > 1e-9 * n * nullif(s11, 0) * nullif(s22, 0), false
        ) as is_fit_determined,
        {{ det3('sy', 's1', 's2', 's1y', 's11', 's12', 's2y', 's12', 's22') }}
        / nullif(det, 0) as fit_per_request,
        {{ det3('n', 'sy', 's2', 's1', 's1y', 's12', 's2', 's2y', 's22') }}
        / nullif(det, 0) as fit_input_per_token,
        {{ det3('n', 's1', 'sy', 's1', 's11', 's1y', 's2', 's12', 's2y') }}
        / nullif(det, 0) as fit_output_per_token
    from fitted
),

implied as (
    select
        *,
        case
            when is_fit_determined then fit_input_per_token * 1000000
            else cast(list_input_usd_per_mtok as double) * median_bill_ratio
        end as implied_input_usd_per_mtok,
        case
            when is_fit_determined then fit_output_per_token * 1000000
            else cast(list_output_usd_per_mtok as double) * median_bill_ratio
        end as implied_output_usd_per_mtok,
        case when is_fit_determined then fit_per_request else 0 end as implied_per_request_usd,
        case
            when billed_cost_usd > 0
                then cast((billed_cost_usd - computed_cost_usd) * 100 / billed_cost_usd as double)
        end as drift_pct
    from solved
),

judged as (
    select
        *,
        implied_input_usd_per_mtok * cast(list_cache_read_usd_per_mtok as double)
        / nullif(cast(list_input_usd_per_mtok as double), 0)
            as implied_cache_read_usd_per_mtok,
        coalesce(
            priced_requests < billed_requests
            or abs(drift_pct) > 1
            or requests_within_1pct < 0.9 * billed_requests,
            true
        ) as is_disagreeing
    from implied
),

with_history as (
    select
        *,
        -- an earlier month of the same model and price row that agreed with its list price
        coalesce(max(case when not is_disagreeing then 1 else 0 end) over (
            partition by provider, price_provider, model, price_valid_from
            order by usage_month
            rows between unbounded preceding and 1 preceding
        ) = 1, false) as has_agreed_before
    from judged
),

final as (
    select
        cast(md5(concat_ws(
            '|', usage_month, provider, price_provider, model, price_valid_from
        )) as string) as bill_reconciliation_key,
        cast(usage_month as date) as usage_month,
        cast(provider as string) as provider,
        cast(price_provider as string) as price_provider,
        cast(model as string) as model,
        cast(price_valid_from as timestamp) as price_valid_from,
        cast(billed_requests as bigint) as billed_requests,
        cast(priced_requests as bigint) as priced_requests,
        cast(requests_within_1pct as bigint) as requests_within_1pct,
        cast(billed_cost_usd as decimal(38, 12)) as billed_cost_usd,
        cast(computed_cost_usd as decimal(38, 12)) as computed_cost_usd,
        cast(round(drift_pct, 4) as double) as drift_pct,
        cast(round(median_bill_ratio, 6) as double) as median_bill_ratio,
        cast(list_input_usd_per_mtok as decimal(18, 6)) as list_input_usd_per_mtok,
        cast(list_output_usd_per_mtok as decimal(18, 6)) as list_output_usd_per_mtok,
        cast(list_cache_read_usd_per_mtok as decimal(18, 6)) as list_cache_read_usd_per_mtok,
        -- to the seed's precision (6 decimals per Mtok), per request to 9
        cast(round(implied_input_usd_per_mtok, 6) as double) as implied_input_usd_per_mtok,
        cast(round(implied_output_usd_per_mtok, 6) as double) as implied_output_usd_per_mtok,
        cast(round(implied_cache_read_usd_per_mtok, 6) as double)
            as implied_cache_read_usd_per_mtok,
        cast(round(implied_per_request_usd, 9) as double) as implied_per_request_usd,
        cast(case
            when is_fit_determined then 'least_squares'
            when median_bill_ratio is not null then 'bill_ratio'
        end as string) as implied_prices_method,
        cast(is_disagreeing as boolean) as is_disagreeing,
        cast(case
            when not is_disagreeing then null
            when priced_requests < billed_requests then 'no_list_price'
            when
                avg_bill_excess_usd > 0
                and coalesce(bill_excess_stddev_usd, 0) <= 0.05 * avg_bill_excess_usd
                and coalesce(bill_ratio_cv, 0) > 0.02
                then 'per_request_fee'
            when coalesce(bill_ratio_cv, 0) <= 0.02 and has_agreed_before
                then 'list_price_changed'
            when coalesce(bill_ratio_cv, 0) <= 0.02 then 'list_price_stale'
            else 'price_varies_by_host'
        end as string) as likely_cause
    from with_history
)

select * from final
