{{ config(**incremental_by_day('usage_date')) }}

-- One row per usage_date x client x team x user x workflow x task_type x provider x model
-- x service_tier, additive measures only (sums and counts), so any roll-up is a sum.
-- Incremental: recomputes exactly the days touched by the landing days that
-- fct_llm_requests just re-read (its look-back window), and replaces them.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

aggregated as (
    select
        usage_date,
        coalesce(client, '(unattributed)') as client,
        coalesce(team, '(unattributed)') as team,
        coalesce(user_id, '(unattributed)') as user_id,
        coalesce(workflow, '(unattributed)') as workflow,
        coalesce(task_type, '(unattributed)') as task_type,
        provider,
        model,
        service_tier,
        count(*) as requests,
        count(*) filter (where is_success) as successful_requests,
        count(*) filter (where status = 'error') as error_requests,
        count(*) filter (where status = 'timeout') as timeout_requests,
        count(*) filter (where status = 'rate_limited') as rate_limited_requests,
        count(*) filter (where status = 'cancelled') as cancelled_requests,
        count(*) filter (where not is_priced) as unpriced_requests,
        sum(input_tokens) as input_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(total_tokens) as total_tokens,
        sum(input_cost_usd) as input_cost_usd,
        sum(cache_read_cost_usd) as cache_read_cost_usd,
        sum(cache_write_cost_usd) as cache_write_cost_usd,
        sum(output_cost_usd) as output_cost_usd,
        sum(total_cost_usd) as total_cost_usd,
        sum(reported_cost_usd) as reported_cost_usd,
        count(latency_ms) as latency_requests,
        sum(latency_ms) as latency_ms_sum,
        count(ttft_ms) as ttft_requests,
        sum(ttft_ms) as ttft_ms_sum,
        count(quality_score) as scored_requests,
        sum(cast(quality_score as decimal(18, 6))) as quality_score_sum,
        sum(cast(quality_score as decimal(18, 6)) * cast(quality_score as decimal(18, 6)))
            as quality_score_sq_sum,
        count(passed_quality) as quality_judged_requests,
        count(*) filter (where passed_quality) as passed_quality_requests
    from requests
    group by all
),

final as (
    select
        cast(md5(concat_ws(
            '|', usage_date, client, team, user_id, workflow, task_type, provider, model,
            service_tier
        )) as string) as daily_usage_key,
        cast(usage_date as date) as usage_date,
        cast(client as string) as client,
        cast(team as string) as team,
        cast(user_id as string) as user_id,
        cast(workflow as string) as workflow,
        cast(task_type as string) as task_type,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(service_tier as string) as service_tier,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(error_requests as bigint) as error_requests,
        cast(timeout_requests as bigint) as timeout_requests,
        cast(rate_limited_requests as bigint) as rate_limited_requests,
        cast(cancelled_requests as bigint) as cancelled_requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(input_tokens as bigint) as input_tokens,
        cast(uncached_input_tokens as bigint) as uncached_input_tokens,
        cast(cache_read_tokens as bigint) as cache_read_tokens,
        cast(cache_write_tokens as bigint) as cache_write_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(reasoning_tokens as bigint) as reasoning_tokens,
        cast(total_tokens as bigint) as total_tokens,
        cast(input_cost_usd as decimal(38, 12)) as input_cost_usd,
        cast(cache_read_cost_usd as decimal(38, 12)) as cache_read_cost_usd,
        cast(cache_write_cost_usd as decimal(38, 12)) as cache_write_cost_usd,
        cast(output_cost_usd as decimal(38, 12)) as output_cost_usd,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd,
        cast(reported_cost_usd as decimal(38, 12)) as reported_cost_usd,
        cast(latency_requests as bigint) as latency_requests,
        cast(latency_ms_sum as bigint) as latency_ms_sum,
        cast(ttft_requests as bigint) as ttft_requests,
        cast(ttft_ms_sum as bigint) as ttft_ms_sum,
        cast(scored_requests as bigint) as scored_requests,
        cast(quality_score_sum as decimal(38, 6)) as quality_score_sum,
        cast(quality_score_sq_sum as decimal(38, 12)) as quality_score_sq_sum,
        cast(quality_judged_requests as bigint) as quality_judged_requests,
        cast(passed_quality_requests as bigint) as passed_quality_requests
    from aggregated
)

select * from final
