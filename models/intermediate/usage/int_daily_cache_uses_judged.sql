{{ config(**incremental_by_day('usage_date')) }}

-- Prompt-cache economics per usage day x workflow x provider x model: the sums that
-- rpt_cache_efficiency adds up over its trailing window (macros/cache_efficiency.sql), so
-- that mart reads tens of rows a day instead of judging every cache use of its 28 days on
-- each refresh.
--
-- A cache use's flags look at its neighbours in its cache context up to an hour before and
-- after it, so a request landed on day d can change the flags of days d-1 to d+1.
-- Incremental: recomputes the usage days fct_llm_requests re-read since this model's last
-- run (macro touched_usage_day_list) and the day before and after each, judging their cache
-- uses among their own and those within an hour of them on the day beyond (macro
-- cache_uses_around: the flags look no further); every day when the code of a model or a
-- seed changed (the counterfactual prices are the current price rows, as in a full build).
-- Here a flag sees neighbours on any earlier day; rpt_cache_efficiency judges the first day
-- of its window again without the days before it.
-- Counts and token sums are integers and costs decimals: the sums of sums are exact.

{%- set days = touched_usage_day_list(whole_on_input_change=true) %}

with

requests as (
    {{ cache_priced_requests(
        ref('fct_llm_requests'), ref('model_prices'),
        usage_days_in('requests.usage_date', days, spread=1),
    ) }}
),

counted as (
    select
        usage_date,
        {{ attributed('workflow') }} as workflow,
        provider,
        model,
        {{ cache_counts() }}
    from requests
    group by usage_date, {{ attributed('workflow') }}, provider, model
),

-- the cache uses of the recomputed days and those within an hour of them on the days either
-- side (their neighbours; macro cache_uses_around)
cache_uses as (
    {{ cache_priced_requests(
        ref('fct_llm_requests'), ref('model_prices'),
        cache_uses_around(days) ~ ' and ' ~ is_cache_use('requests.'),
    ) }}
),

judged as (
    {{ cache_uses_judged('cache_uses') }}
),

summed as (
    select
        usage_date,
        {{ attributed('workflow') }} as workflow,
        provider,
        model,
        {{ cache_cost_sums() }},
        {{ cache_flag_sums() }}
    from judged
    where {{ usage_days_in('usage_date', days, spread=1) }}
    group by usage_date, {{ attributed('workflow') }}, provider, model
),

final as (
    select
        cast(md5(concat_ws(
            '|', counted.usage_date, counted.workflow, counted.provider, counted.model
        )) as string) as daily_cache_uses_judged_key,
        cast(counted.usage_date as date) as usage_date,
        cast(counted.workflow as string) as workflow,
        cast(counted.provider as string) as provider,
        cast(counted.model as string) as model,
        {{ cache_typed_columns('counted', cache_count_columns()) }},
        {{ cache_typed_columns('summed', cache_cost_columns() + cache_flag_columns()) }}
    from counted
    left join summed
        on
            counted.usage_date = summed.usage_date
            and counted.workflow = summed.workflow
            and counted.provider = summed.provider
            and counted.model = summed.model
)

select * from final
