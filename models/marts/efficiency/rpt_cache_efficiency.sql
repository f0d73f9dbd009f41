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

{%- set multiplier = 'token_price_multiplier' %}

{#- The window's priced requests, each with the price row it was priced with, and the
    condition __requests__. Read twice (every request for the sums, the cache uses alone
    for the flags that need their neighbours): a CTE read twice would be materialised. -#}
{%- set windowed_requests %}
    select
        requests.*,
        coalesce(requests.session_id, '~' || {{ attributed('requests.workflow') }})
            as cache_context,
        prices.input_usd_per_mtok,
        prices.cache_read_usd_per_mtok,
        prices.cache_write_5m_usd_per_mtok,
        prices.cache_write_1h_usd_per_mtok,
        prices.tier_threshold_tokens,
        prices.tier_input_usd_per_mtok,
        prices.tier_cache_read_usd_per_mtok,
        prices.tier_cache_write_5m_usd_per_mtok,
        prices.tier_cache_write_1h_usd_per_mtok,
        anchor.window_end_date
    from {{ ref('fct_llm_requests') }} as requests
    cross join anchor
    inner join prices
        on
            requests.price_provider = prices.provider
            and requests.model = prices.model
            and requests.price_valid_from = prices.valid_from
    where
        requests.is_priced
        and requests.usage_date > anchor.window_end_date - {{ var('insight_window_days') }}
        and (__requests__)
{%- endset %}

with

prices as (
    select * from {{ ref('model_prices') }}
),

anchor as (
    select max(usage_date) as window_end_date from {{ ref('fct_llm_requests') }}
),

windowed as (
    {{ windowed_requests | replace('__requests__', 'true') }}
),

costed as (
    select
        *,
        {{ cost_component('cache_read_tokens', effective_input_price(), multiplier) }}
        - cache_read_cost_usd as read_savings_usd,
        cache_write_cost_usd
        - {{ cost_component('cache_write_tokens', effective_input_price(), multiplier) }}
            as write_premium_usd,
        {{ cost_component('cache_write_tokens', effective_cache_write_1h_price(), multiplier) }}
        - {{ cost_component('cache_write_tokens', effective_cache_write_5m_price(), multiplier) }}
            as ttl_1h_extra_usd,
        {{ cost_component('cache_write_tokens', effective_input_price(), multiplier) }}
        - {{ cost_component('cache_write_tokens', effective_cache_read_price(), multiplier) }}
            as read_saving_per_write_usd,
        {{ cost_component('cache_write_1h_tokens', effective_cache_write_1h_price(), multiplier) }}
        - {{ cost_component(
            'cache_write_1h_tokens', effective_cache_write_5m_price(), multiplier
        ) }}
            as ttl_1h_part_premium_usd,
        {{ cost_component('cache_write_tokens - cache_write_1h_tokens',
                          effective_cache_write_1h_price(), multiplier) }}
        - {{ cost_component('cache_write_tokens - cache_write_1h_tokens',
                            effective_cache_write_5m_price(), multiplier) }}
            as ttl_5m_part_premium_usd
    from windowed
),

totals as (
    select
        {{ attributed('workflow') }} as workflow,
        provider,
        model,
        max(window_end_date) as window_end_date,
        count(*) as requests,
        count(*) filter (where cache_read_tokens > 0) as cache_read_requests,
        count(*) filter (where cache_write_tokens > 0) as cache_write_requests,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(read_savings_usd) as cache_read_savings_usd,
        sum(write_premium_usd) as cache_write_cost_usd,
        sum(ttl_1h_extra_usd) filter (where cache_write_tokens > 0) as ttl_1h_extra_usd,
        sum(read_saving_per_write_usd) filter (where cache_write_tokens > 0)
            as read_saving_per_write_usd,
        sum(cache_write_1h_tokens) as cache_write_1h_tokens,
        sum(ttl_1h_part_premium_usd) as ttl_1h_part_premium_usd,
        sum(ttl_5m_part_premium_usd) as ttl_5m_part_premium_usd
    from costed
    group by {{ attributed('workflow') }}, provider, model
),

-- The flags below look at a request's neighbours in its cache context. Every flag needs
-- cache tokens on the request, and the neighbours that matter are cache uses, so the
-- window functions run over the cache uses alone (a third of the requests).
cache_uses as (
    {{ windowed_requests | replace(
        '__requests__', 'requests.cache_read_tokens > 0 or requests.cache_write_tokens > 0'
    ) }}
),

neighboured as (
    select
        *,
        cache_write_cost_usd
        - {{ cost_component('cache_write_tokens', effective_input_price(), multiplier) }}
            as write_premium_usd,
        {{ cost_component('cache_write_tokens - cache_write_1h_tokens',
                          effective_cache_write_1h_price(), multiplier) }}
        - {{ cost_component('cache_write_tokens - cache_write_1h_tokens',
                            effective_cache_write_5m_price(), multiplier) }}
            as ttl_5m_part_premium_usd,
        {{ cost_component('cache_read_tokens', effective_cache_write_5m_price(), multiplier) }}
        - cache_read_cost_usd as read_as_rewrite_usd,
        cache_write_cost_usd
        - {{ cost_component('cache_write_tokens', effective_cache_read_price(), multiplier) }}
            as rewrite_as_read_usd,
        min(case when cache_read_tokens > 0 then occurred_at end) over following_requests
            as next_read_at,
        max(case when cache_read_tokens > 0 or cache_write_tokens > 0 then occurred_at end)
            over preceding_requests as last_cache_use_at,
        max(case when cache_write_1h_tokens > 0 then occurred_at end) over preceding_requests
            as last_1h_write_at
    from cache_uses
    window
        following_requests as (
            partition by cache_context, provider, model
            order by occurred_at, request_key
            rows between 1 following and unbounded following
        ),
        preceding_requests as (
            partition by cache_context, provider, model
            order by occurred_at, request_key
            rows between unbounded preceding and 1 preceding
        )
),

judged as (
    select
        *,
        cache_write_tokens > 0 and (
            next_read_at is null
            or {{ milliseconds_between('occurred_at', 'next_read_at') }}
            > case when cache_write_1h_tokens > 0 then 3600000 else 300000 end
        ) as is_wasted_write,
        coalesce(
            cache_read_tokens > 0
            and {{ milliseconds_between('last_cache_use_at', 'occurred_at') }} > 300000
            and {{ milliseconds_between('last_1h_write_at', 'occurred_at') }} <= 3600000,
            false
        ) as is_late_read,
        coalesce(
            cache_write_tokens > 0
            and cache_read_tokens = 0
            and {{ milliseconds_between('last_cache_use_at', 'occurred_at') }} > 300000
            and {{ milliseconds_between('last_cache_use_at', 'occurred_at') }} <= 3600000
            and coalesce(
                {{ milliseconds_between('last_1h_write_at', 'occurred_at') }} > 3600000, true
            ),
            false
        ) as is_expired_rewrite
    from neighboured
),

flagged as (
    select
        {{ attributed('workflow') }} as workflow,
        provider,
        model,
        count(*) filter (where is_wasted_write) as wasted_write_requests,
        count(*) filter (where is_late_read) as late_read_requests,
        count(*) filter (where is_expired_rewrite) as expired_rewrite_requests,
        sum(write_premium_usd) filter (where is_wasted_write) as wasted_cache_write_usd,
        sum(read_as_rewrite_usd) filter (where is_late_read) as late_read_as_rewrite_usd,
        sum(rewrite_as_read_usd) filter (where is_expired_rewrite)
            as expired_rewrite_as_read_usd,
        sum(ttl_5m_part_premium_usd) filter (where is_expired_rewrite)
            as expired_ttl_5m_part_premium_usd
    from judged
    group by {{ attributed('workflow') }}, provider, model
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
