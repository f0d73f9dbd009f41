{{ config(materialized=rollup_materialization()) }}

-- Token usage over time per provider, model and task type (seed 003's token metrics):
-- input (cached included), uncached input, cache read, cache write, output and reasoning
-- tokens, with the input/output ratio and the cache hit rate. Read from fct_daily_usage;
-- sum the token columns for any roll-up and recompute the ratios from the sums.

{%- set measures = [
    'requests', 'input_tokens', 'uncached_input_tokens', 'cache_read_tokens',
    'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens',
] %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        usage_date,
        provider,
        model,
        task_type,
        {{ sum_measures(measures) }}
    from daily
    group by usage_date, provider, model, task_type
),

final as (
    select
        cast(md5(concat_ws('|', usage_date, provider, model, task_type)) as string)
            as token_usage_key,
        cast(usage_date as date) as usage_date,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(task_type as string) as task_type,
        {{ measure_columns(measures) }},
        cast({{ ratio('input_tokens', 'output_tokens') }} as double) as input_output_ratio,
        cast({{ ratio('cache_read_tokens', 'input_tokens') }} as double) as cache_hit_rate
    from aggregated
)

select * from final
