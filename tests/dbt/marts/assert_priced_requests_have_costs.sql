-- is_priced and a non-null cost go together: an unpriced request is never costed as 0,
-- and a priced one always has all four components, none negative, summing to the total.
select
    request_key,
    is_priced,
    total_cost_usd
from {{ ref('fct_llm_requests') }}
where
    (is_priced and total_cost_usd is null)
    or (not is_priced and total_cost_usd is not null)
    or (not is_priced and unpriced_reason is null)
    or (
        is_priced
        and total_cost_usd
        != input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd
    )
    or total_cost_usd < 0
    or least(input_cost_usd, cache_read_cost_usd, cache_write_cost_usd, output_cost_usd) < 0
