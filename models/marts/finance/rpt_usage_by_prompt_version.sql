{{ config(**incremental_by_day('usage_date')) }}

-- Usage and quality per day x client x workflow x prompt version (seed 001's "usage by
-- profile": uses, quality, which clients use a profile). prompt_version is not in the
-- daily mart's grain, so this reads the request fact; incremental like fct_daily_usage: it
-- recomputes exactly the usage days of the requests the refresh re-read.

{%- set measures = [
    'requests', 'successful_requests', 'unpriced_requests', 'total_tokens', 'total_cost_usd',
    'scored_requests', 'quality_score_sum', 'quality_judged_requests',
    'passed_quality_requests',
] %}

with

{{ touched_request_days_rolled_up(
    ['client', 'workflow', 'prompt_version'],
    measures,
    extra={'active_users': 'count(distinct user_id)'},
) }},

final as (
    select
        cast(md5(concat_ws('|', usage_date, client, workflow, prompt_version)) as string)
            as usage_by_prompt_version_key,
        cast(usage_date as date) as usage_date,
        cast(client as string) as client,
        cast(workflow as string) as workflow,
        cast(prompt_version as string) as prompt_version,
        {{ measure_columns(measures) }},
        cast(active_users as bigint) as active_users,
        cast({{ ratio('quality_score_sum', 'scored_requests') }} as double) as avg_quality_score,
        cast({{ ratio('passed_quality_requests', 'quality_judged_requests') }} as double)
            as pass_rate
    from aggregated
)

select * from final
