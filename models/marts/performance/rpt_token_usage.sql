-- Token usage over time per provider, model and task type (seed 003's token metrics):
-- input (cached included), uncached input, cache read, cache write, output and reasoning
-- tokens, with the input/output ratio and the cache hit rate. Read from fct_daily_usage;
-- sum the token columns for any roll-up and recompute the ratios from the sums.

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
        sum(requests) as requests,
        sum(input_tokens) as input_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(total_tokens) as total_tokens
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
        cast(requests as bigint) as requests,
        cast(input_tokens as bigint) as input_tokens,
        cast(uncached_input_tokens as bigint) as uncached_input_tokens,
        cast(cache_read_tokens as bigint) as cache_read_tokens,
        cast(cache_write_tokens as bigint) as cache_write_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(reasoning_tokens as bigint) as reasoning_tokens,
        cast(total_tokens as bigint) as total_tokens,
        cast(case when output_tokens > 0 then input_tokens / output_tokens end as double)
            as input_output_ratio,
        cast(case when input_tokens > 0 then cache_read_tokens / input_tokens end as double)
            as cache_hit_rate
    from aggregated
)

select * from final
