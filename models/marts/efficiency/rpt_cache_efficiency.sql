-- Prompt-cache economics per workflow x provider x model over the trailing
-- var insight_window_days (28) ending on the data's last usage day, from the priced
-- requests and the price row each was priced with (cost macros of macros/cost.sql, so
-- the request's token-price multiplier (tier, fast mode, data residency, time of day) and
-- long-context tier apply as in the request's cost).
--
--   cache_read_savings_usd  what the cache reads saved: their tokens at the input rate
--                           minus what they cost at the cache-read rate;
--   cache_write_cost_usd    the premium paid for writes: their cost minus the same tokens
--                           at the input rate;
--   wasted_cache_write_usd  the premium of writes that no read followed within their TTL
--                           (1 hour when the write has a 1-hour part, else 5 minutes) in
--                           the same cache context: the session when there is one, else
--                           the workflow (same provider and model);
--   net_cache_savings_usd   read savings - write premium (negative: caching costs money).
-- TTL break-even: a 1-hour write costs more than a 5-minute one and pays back only through
-- late reads: reads that come 5 to 60 minutes after the context's previous cache use (a
-- read or a write; each use refreshes the cache, so a 5-minute cache has expired by then).
-- ttl_1h_break_even_reads = (1h write price - 5m write price) / (input price - read
-- price): the late reads of the written tokens per write needed to pay the premium;
-- late_reads_per_write is what the data shows.
-- TTL change, priced by repricing the window's requests:
--   ttl_5m_savings_usd  every write at the 5-minute TTL: the 1-hour parts lose their
--                       premium over the 5-minute rate, and each late read of a cache
--                       a 1-hour write kept (none but 1-hour writes kept it that long)
--                       misses and writes its tokens again at the 5-minute rate instead
--                       of reading them;
--   ttl_1h_savings_usd  every write at the 1-hour TTL: the 5-minute parts pay the 1-hour
--                       premium, and each expired re-write (a write without a read whose
--                       context's previous cache use is 5 to 60 minutes old, with no
--                       1-hour write in the last hour) becomes a read of its tokens.
-- recommended_ttl is the TTL with the larger saving when it is positive, else the one
-- the workflow pays for (1h when it writes 1-hour parts and a switch would not pay).

-- The window's sums are those of its days in int_daily_cache_uses_judged (macros of
-- macros/cache_efficiency.sql), where a flag sees neighbours before the window too: the
-- flags of the window's first day are judged again here, among the cache uses of that day
-- and the next, so that no request before the window counts.

with

anchor as (
    select
        max(usage_date) as window_end_date,
        max(usage_date) - {{ var('insight_window_days') }} + 1 as window_first_date
    from {{ ref('fct_llm_requests') }}
),

days as (
    select
        daily.*,
        anchor.window_end_date,
        anchor.window_first_date
    from {{ ref('int_daily_cache_uses_judged') }} as daily
    cross join anchor
    where daily.usage_date >= anchor.window_first_date
),

totals as (
    select
        workflow,
        provider,
        model,
        max(window_end_date) as window_end_date,
        {{ cache_sums(cache_count_columns() + cache_cost_columns()) }}
    from days
    group by workflow, provider, model
),

-- the cache uses of the window's first two days (the first day's neighbours after it)
first_day_cache_uses as (
    {{ cache_priced_requests(
        ref('fct_llm_requests'), ref('model_prices'),
        'requests.usage_date >= anchor.window_first_date'
        ~ ' and requests.usage_date <= anchor.window_first_date + 1'
        ~ ' and ' ~ is_cache_use('requests.'),
        extra_joins='cross join anchor',
        extra_columns='anchor.window_first_date',
    ) }}
),

first_day_judged as (
    {{ cache_uses_judged('first_day_cache_uses') }}
),

day_flags as (
    select
        {{ attributed('workflow') }} as workflow,
        provider,
        model,
        {{ cache_flag_sums() }}
    from first_day_judged
    where usage_date = window_first_date
    group by {{ attributed('workflow') }}, provider, model
    union all
    select
        workflow,
        provider,
        model,
        {{ cache_flag_columns() | join(',\n        ') }}
    from days
    where usage_date > window_first_date
),

flagged as (
    select
        workflow,
        provider,
        model,
        {{ cache_sums(cache_flag_columns()) }}
    from day_flags
    group by workflow, provider, model
),

-- Requests without cache tokens carry no flag: their flagged sums are 0.
grouped as (
    select
        totals.workflow,
        totals.provider,
        totals.model,
        totals.window_end_date,
        totals.requests,
        totals.cache_read_requests,
        totals.cache_write_requests,
        coalesce(flagged.wasted_write_requests, 0) as wasted_write_requests,
        coalesce(flagged.late_read_requests, 0) as late_read_requests,
        coalesce(flagged.expired_rewrite_requests, 0) as expired_rewrite_requests,
        totals.input_tokens,
        totals.cache_read_tokens,
        totals.cache_write_tokens,
        totals.cache_read_savings_usd,
        totals.cache_write_cost_usd,
        coalesce(flagged.wasted_cache_write_usd, 0) as wasted_cache_write_usd,
        totals.ttl_1h_extra_usd,
        totals.read_saving_per_write_usd,
        totals.cache_write_1h_tokens,
        totals.ttl_1h_part_premium_usd
        - coalesce(flagged.late_read_as_rewrite_usd, 0) as ttl_5m_savings_usd,
        -- the 5-minute parts' premium of the requests that are not expired re-writes
        coalesce(flagged.expired_rewrite_as_read_usd, 0)
        - coalesce(
            totals.ttl_5m_part_premium_usd
            - coalesce(flagged.expired_ttl_5m_part_premium_usd, 0),
            0
        ) as ttl_1h_savings_usd
    from totals
    left join flagged
        on
            totals.workflow = flagged.workflow
            and totals.provider = flagged.provider
            and totals.model = flagged.model
),

final as (
    select
        {{- contract_columns({
            'cache_efficiency_key': "md5(concat_ws('|', workflow, provider, model))",
            'window_start_date': dbt.dateadd(
                'day', 1 - var('insight_window_days'), 'window_end_date'
            ),
            'cache_hit_ratio': ratio('cast(cache_read_tokens as double)', 'input_tokens'),
            'net_cache_savings_usd': 'cache_read_savings_usd - cache_write_cost_usd',
            'ttl_1h_break_even_reads': ratio(
                'cast(ttl_1h_extra_usd as double)', 'read_saving_per_write_usd'
            ),
            'late_reads_per_write': ratio(
                'cast(late_read_requests as double)', 'cache_write_requests'
            ),
            'recommended_ttl': "case
                when cache_write_requests = 0 then null
                when ttl_1h_savings_usd > 0 and ttl_1h_savings_usd > ttl_5m_savings_usd
                    then '1h'
                when ttl_5m_savings_usd > 0 then '5m'
                when cache_write_1h_tokens > 0 then '1h'
                else '5m'
            end",
        }) }}
    from grouped
    where cache_read_requests > 0 or cache_write_requests > 0
)

select * from final
