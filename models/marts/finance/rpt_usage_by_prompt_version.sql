{{ config(**incremental_by_day('usage_date')) }}

-- Usage and quality per day x client x workflow x prompt version (seed 001's "usage by
-- profile": uses, quality, which clients use a profile). prompt_version is not in the
-- daily mart's grain, so this reads the request fact; incremental like fct_daily_usage: it
-- recomputes exactly the usage days that the refresh's landing look-back touched.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

aggregated as (
    select
        usage_date,
        coalesce(client, '(unattributed)') as client,
        coalesce(workflow, '(unattributed)') as workflow,
        coalesce(prompt_version, '(unattributed)') as prompt_version,
        count(*) as requests,
        count(*) filter (where is_success) as successful_requests,
        count(*) filter (where not is_priced) as unpriced_requests,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd,
        count(distinct user_id) as active_users,
        count(quality_score) as scored_requests,
        sum(cast(quality_score as decimal(18, 6))) as quality_score_sum,
        count(passed_quality) as quality_judged_requests,
        count(*) filter (where passed_quality) as passed_quality_requests
    from requests
    group by all
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, client, workflow, prompt_version)) as string)
            as usage_by_prompt_version_key,
        cast(usage_date as date) as usage_date,
        cast(client as string) as client,
        cast(workflow as string) as workflow,
        cast(prompt_version as string) as prompt_version,
        cast(requests as bigint) as requests,
        cast(successful_requests as bigint) as successful_requests,
        cast(unpriced_requests as bigint) as unpriced_requests,
        cast(total_tokens as bigint) as total_tokens,
        cast(total_cost_usd as decimal(38, 12)) as total_cost_usd,
        cast(active_users as bigint) as active_users,
        cast(scored_requests as bigint) as scored_requests,
        cast(quality_score_sum as decimal(38, 6)) as quality_score_sum,
        cast(
            case when scored_requests > 0 then quality_score_sum / scored_requests end
            as double
        ) as avg_quality_score,
        cast(quality_judged_requests as bigint) as quality_judged_requests,
        cast(passed_quality_requests as bigint) as passed_quality_requests,
        cast(
            case
                when quality_judged_requests > 0
                    then passed_quality_requests / quality_judged_requests
            end as double
        ) as pass_rate
    from aggregated
)

select * from final
