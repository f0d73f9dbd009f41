-- is_priced and a non-null computed cost go together: an unpriced request is never costed
-- as 0, and a priced one always has its four token components and its fees, none
-- negative, summing to the computed cost. The cost of record is the bill wherever a bill
-- is known, else 0 for a proxy cache hit (whose priced components and fees are all 0), else
-- the computed cost, and cost_source says which.
select
    request_key,
    is_priced,
    computed_cost_usd,
    billed_cost_usd,
    total_cost_usd,
    cost_source,
    is_proxy_cache_hit
from {{ ref('fct_llm_requests') }}
where
    -- a row-level check: a refresh can only break it in the rows it rewrote
    -- (macro tested_landing_window; every row in a first build or a full refresh)
    ({{ tested_landing_window(ref('fct_llm_requests')) }})
    and (
        (is_priced and computed_cost_usd is null)
        or (not is_priced and computed_cost_usd is not null)
        or (not is_priced and unpriced_reason is null)
        or (
            is_priced
            and computed_cost_usd
            != input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd
            + fee_cost_usd
        )
        or computed_cost_usd < 0
        or least(
            input_cost_usd, cache_read_cost_usd, cache_write_cost_usd, output_cost_usd, fee_cost_usd
        ) < 0
        or (is_proxy_cache_hit and is_priced and computed_cost_usd != 0)
        or total_cost_usd is distinct from coalesce(
            billed_cost_usd,
            case when is_proxy_cache_hit then 0 end,
            computed_cost_usd
        )
        or cost_source is distinct from case
            when billed_cost_usd is not null then 'billed'
            when is_proxy_cache_hit then 'proxy_cache_hit'
            when computed_cost_usd is not null then 'computed'
        end
    )
