{{ config(**incremental_by_day('usage_date')) }}

-- Per-request token distribution per provider, model, task type and day: p50 / p90 / p99
-- and max of input, output and total tokens (seed 003's token histogram, to find outliers).
-- All requests count (a failed request's tokens are billed). Percentiles need the request
-- fact; incremental by day like rpt_latency_percentiles.

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        {{ attributed('task_type') }} as task_type,
        count(*) as requests,
        {{ percentile_columns('input_tokens', [50, 90, 99], 'input_tokens_p{}') }},
        max(input_tokens) as input_tokens_max,
        {{ percentile_columns('output_tokens', [50, 90, 99], 'output_tokens_p{}') }},
        max(output_tokens) as output_tokens_max,
        {{ percentile_columns('total_tokens', [50, 90, 99], 'total_tokens_p{}') }},
        max(total_tokens) as total_tokens_max
    from requests
    group by usage_date, provider, model, {{ attributed('task_type') }}
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model, task_type)) as string)
            as token_distribution_key,
        *
    from aggregated
)

select * from final
