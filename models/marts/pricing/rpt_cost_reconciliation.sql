-- The callers' own cost figures (reported_cost_usd) against the warehouse's computed cost
-- over the SAME requests, per usage_date x provider x model. Counts only the requests that
-- carry a reported cost. drift_usd = reported - computed; drift_pct is relative to the
-- computed cost; a row is flagged when |drift_pct| exceeds var reconciliation_drift_pct, or
-- when some of its requests have no computed cost (unpriced).
-- The sums come from int_daily_requests_summed (per day, team, workflow, provider and
-- model; incremental by usage day), added up over teams and workflows: counts are integers
-- and costs decimals, so the sums of sums are those of the requests, and a refresh reads the
-- few rows of those sums instead of every request of the history.

with

summed as (
    select * from {{ ref('int_daily_requests_summed') }}
    where reported_requests > 0
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        sum(reported_requests) as reported_requests,
        sum(reported_unpriced_requests) as unpriced_requests,
        sum(reported_cost_usd) as reported_cost_usd,
        sum(reported_computed_cost_usd) as computed_cost_usd
    from summed
    group by all
),

compared as (
    select
        *,
        reported_cost_usd - computed_cost_usd as drift_usd,
        cast(
            (reported_cost_usd - computed_cost_usd) * 100 / nullif(computed_cost_usd, 0)
            as decimal(18, 6)
        ) as drift_pct
    from aggregated
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model)) as string)
            as reconciliation_key,
        cast(usage_date as date) as usage_date,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(reported_requests as bigint) as reported_requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(reported_cost_usd as decimal(38, 12)) as reported_cost_usd,
        cast(computed_cost_usd as decimal(38, 12)) as computed_cost_usd,
        cast(drift_usd as decimal(38, 12)) as drift_usd,
        cast(drift_pct as decimal(18, 6)) as drift_pct,
        cast(
            unpriced_requests > 0
            or (drift_pct is null and reported_cost_usd <> 0)
            or abs(drift_pct) > {{ var('reconciliation_drift_pct') }}
            as boolean
        ) as is_drift_over_threshold
    from compared
)

select * from final
