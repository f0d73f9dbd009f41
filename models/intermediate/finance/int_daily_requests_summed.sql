{{ config(**incremental_by_day('usage_date')) }}

-- The requests of fct_llm_requests summed per usage day, team, workflow, provider and
-- model, split into priced and unpriced: what rpt_cost_change_drivers compares between
-- periods. That mart re-aggregates these sums (tens of rows a day) instead of reading every
-- request of its two periods (56 days of requests at the default 28-day period). The
-- requests that carry a caller's own cost (reported_cost_usd) are summed apart, with the
-- computed cost of those same requests: what rpt_cost_reconciliation compares per day,
-- provider and model, without reading every request of the history on each refresh.
-- Counts and token sums are integers and costs decimals: the sums of sums are exact.
-- Incremental: recomputes exactly the usage days of the requests fct_llm_requests re-read
-- since this model's last run (macro touched_usage_days), and replaces them.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

summed as (
    select
        usage_date,
        {{ attributed('team') }} as team,
        {{ attributed('workflow') }} as workflow,
        provider,
        model,
        count(*) filter (where is_priced) as priced_requests,
        count(*) filter (where is_priced and is_success) as priced_successes,
        count(*) filter (where not is_priced) as unpriced_requests,
        {%- for tokens, cost, name in [
            ('uncached_input_tokens', 'input_cost_usd', 'uncached_input'),
            ('cache_read_tokens', 'cache_read_cost_usd', 'cache_read'),
            ('cache_write_tokens', 'cache_write_cost_usd', 'cache_write'),
            ('output_tokens', 'output_cost_usd', 'output'),
        ] %}
            sum({{ tokens }}) filter (where is_priced) as {{ name }}_tokens,
            sum({{ cost }}) filter (where is_priced) as {{ name }}_cost,
        {%- endfor %}
        sum(total_cost_usd) as cost_usd,
        count(reported_cost_usd) as reported_requests,
        count(reported_cost_usd) filter (where not is_priced) as reported_unpriced_requests,
        sum(reported_cost_usd) as reported_cost_usd,
        sum(computed_cost_usd) filter (where reported_cost_usd is not null)
            as reported_computed_cost_usd
    from requests
    group by usage_date, {{ attributed('team') }}, {{ attributed('workflow') }}, provider, model
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, team, workflow, provider, model)) as string)
            as daily_requests_summed_key,
        cast(usage_date as date) as usage_date,
        cast(team as string) as team,
        cast(workflow as string) as workflow,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(priced_requests as bigint) as priced_requests,
        cast(priced_successes as bigint) as priced_successes,
        cast(unpriced_requests as bigint) as unpriced_requests,
        {%- for name in ['uncached_input', 'cache_read', 'cache_write', 'output'] %}
            cast({{ name }}_tokens as decimal(38, 0)) as {{ name }}_tokens,
            cast({{ name }}_cost as decimal(38, 12)) as {{ name }}_cost,
        {%- endfor %}
        cast(cost_usd as decimal(38, 12)) as cost_usd,
        cast(reported_requests as bigint) as reported_requests,
        cast(reported_unpriced_requests as bigint) as reported_unpriced_requests,
        cast(reported_cost_usd as decimal(38, 12)) as reported_cost_usd,
        cast(reported_computed_cost_usd as decimal(38, 12)) as reported_computed_cost_usd
    from summed
)

select * from final
