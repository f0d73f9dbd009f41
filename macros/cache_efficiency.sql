{#-
    Prompt-cache economics, shared by int_daily_cache_uses_judged (the sums and flags of each
    usage day, kept incrementally) and rpt_cache_efficiency (the trailing window: the days'
    sums, with the flags of its first day judged again without the neighbours before the
    window). The definitions of every sum and flag are in rpt_cache_efficiency.sql.
-#}

{#- The column of the factor on a request's token prices (tier, fast mode, data residency,
    time of day) that every counterfactual cost applies, as the request's own cost did. -#}
{% macro cache_price_multiplier() -%}
    {{ return('token_price_multiplier') }}
{%- endmacro %}

{#- SQL: the priced requests of `requests` (fct_llm_requests) that hold `condition`, the
    columns the sums and flags need (the window functions sort every column they carry), each
    with the price row it was priced with (`prices`: model_prices) and its cache context
    (the session when there is one, else the workflow), plus `extra_columns` of the
    relations that `extra_joins` adds. -#}
{% macro cache_priced_requests(requests, prices, condition, extra_joins='', extra_columns='') -%}
    select
        requests.usage_date,
        requests.workflow,
        requests.provider,
        requests.model,
        requests.occurred_at,
        requests.request_key,
        requests.token_price_multiplier,
        requests.input_tokens,
        requests.cache_read_tokens,
        requests.cache_write_tokens,
        requests.cache_write_1h_tokens,
        requests.cache_read_cost_usd,
        requests.cache_write_cost_usd,
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
        prices.tier_cache_write_1h_usd_per_mtok
        {%- if extra_columns %},
        {{ extra_columns }}
        {%- endif %}
    from {{ requests }} as requests
    {{ extra_joins }}
    inner join {{ prices }} as prices
        on
            requests.price_provider = prices.provider
            and requests.model = prices.model
            and requests.price_valid_from = prices.valid_from
    where
        requests.is_priced
        and ({{ condition }})
{%- endmacro %}

{#- SQL: the select list of the counts and token sums over priced requests (any request,
    cache use or not), from the rows of cache_priced_requests. -#}
{% macro cache_counts() -%}
        count(*) as requests,
        count(*) filter (where cache_read_tokens > 0) as cache_read_requests,
        count(*) filter (where cache_write_tokens > 0) as cache_write_requests,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(cache_write_1h_tokens) as cache_write_1h_tokens
{%- endmacro %}

{#- SQL: a predicate on a request (columns of fct_llm_requests, `prefix` before each) that
    holds when it has cache tokens or a cache cost: every request a cost sum of
    cache_cost_sums or a flag counts (each is 0 on the others), so the decimal arithmetic
    runs on these alone. -#}
{% macro is_cache_use(prefix='') -%}
    ({{ prefix }}cache_read_tokens > 0
        or {{ prefix }}cache_write_tokens > 0
        or {{ prefix }}cache_write_1h_tokens != 0
        or {{ prefix }}cache_read_cost_usd != 0
        or {{ prefix }}cache_write_cost_usd != 0)
{%- endmacro %}

{#- SQL: a predicate on a request (columns of fct_llm_requests as `requests.`) that holds
    for the cache uses that int_daily_cache_uses_judged judges the uses of its recomputed days
    among: the recomputed days are `days` and the day either side of each; their uses, and
    the uses of the day beyond that lie within an hour of one of them (`true` when `days` is
    none: every use). Exact: each flag of cache_uses_judged looks at a context's previous or
    next use only within an hour (a TTL of 5 minutes or 1 hour, an expired rewrite's gap of
    at most an hour), a use further away gives the same flag as none, and every use within
    an hour of a recomputed day's use is kept, so the nearest one is the same. A use within
    an hour of a day's use falls, an hour towards it, on that day: the test works in the
    reporting time zone whatever the days' lengths. Reading the days beyond whole cost a new
    day ten times its own requests on a history of 111,112 requests a day
    (docs/performance.md, forty-ninth round). -#}
{% macro cache_uses_around(days) -%}
    {%- if days is none -%}{{ return('true') }}{%- endif -%}
    {%- set near_after = to_reporting_date('requests.occurred_at - interval 1 hour') -%}
    {%- set near_before = to_reporting_date('requests.occurred_at + interval 1 hour') -%}
    {{ return(
        '(' ~ usage_days_in('requests.usage_date', days, spread=1)
        ~ ' or (' ~ usage_days_in('requests.usage_date', days, spread=2)
        ~ ' and (' ~ usage_days_in(near_after, days, spread=1)
        ~ ' or ' ~ usage_days_in(near_before, days, spread=1) ~ ')))'
    ) }}
{%- endmacro %}

{#- SQL: the select list of the cost sums, from the rows of cache_uses_judged (a sum is
    null on a day without a cache use: its requests add 0 to it). -#}
{% macro cache_cost_sums() -%}
    {%- set multiplier = cache_price_multiplier() -%}
        sum(
            {{ cost_component('cache_read_tokens', effective_input_price(), multiplier) }}
            - cache_read_cost_usd
        ) as cache_read_savings_usd,
        sum(write_premium_usd) as cache_write_cost_usd,
        sum(
            {{ cost_component(
                'cache_write_tokens', effective_cache_write_1h_price(), multiplier
            ) }}
            - {{ cost_component(
                'cache_write_tokens', effective_cache_write_5m_price(), multiplier
            ) }}
        ) filter (where cache_write_tokens > 0) as ttl_1h_extra_usd,
        sum(
            {{ cost_component('cache_write_tokens', effective_input_price(), multiplier) }}
            - {{ cost_component('cache_write_tokens', effective_cache_read_price(), multiplier) }}
        ) filter (where cache_write_tokens > 0) as read_saving_per_write_usd,
        sum(
            {{ cost_component(
                'cache_write_1h_tokens', effective_cache_write_1h_price(), multiplier
            ) }}
            - {{ cost_component(
                'cache_write_1h_tokens', effective_cache_write_5m_price(), multiplier
            ) }}
        ) as ttl_1h_part_premium_usd,
        sum(ttl_5m_part_premium_usd) as ttl_5m_part_premium_usd
{%- endmacro %}

{#- SQL: what a request's 5-minute write parts would cost more at the 1-hour rate. -#}
{% macro ttl_5m_part_premium() -%}
    {%- set multiplier = cache_price_multiplier() -%}
    {{ cost_component('cache_write_tokens - cache_write_1h_tokens',
                      effective_cache_write_1h_price(), multiplier) }}
    - {{ cost_component('cache_write_tokens - cache_write_1h_tokens',
                        effective_cache_write_5m_price(), multiplier) }}
{%- endmacro %}

{#- SQL: the cache uses of the relation `cache_uses` (rows of cache_priced_requests that
    hold is_cache_use), each with the costs its flags sum and the flags that need its neighbours
    in its cache context among those rows: is_wasted_write, is_late_read,
    is_expired_rewrite. Every flag looks at most an hour before or after the request. -#}
{% macro cache_uses_judged(cache_uses) -%}
    {%- set multiplier = cache_price_multiplier() -%}
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
    from (
        select
            *,
            cache_write_cost_usd
            - {{ cost_component('cache_write_tokens', effective_input_price(), multiplier) }}
                as write_premium_usd,
            {{ ttl_5m_part_premium() }} as ttl_5m_part_premium_usd,
            {{ cost_component(
                'cache_read_tokens', effective_cache_write_5m_price(), multiplier
            ) }}
            - cache_read_cost_usd as read_as_rewrite_usd,
            cache_write_cost_usd
            - {{ cost_component(
                'cache_write_tokens', effective_cache_read_price(), multiplier
            ) }}
                as rewrite_as_read_usd,
            min(case when cache_read_tokens > 0 then occurred_at end) over following_requests
                as next_read_at,
            max(case when cache_read_tokens > 0 or cache_write_tokens > 0 then occurred_at end)
                over preceding_requests as last_cache_use_at,
            max(case when cache_write_1h_tokens > 0 then occurred_at end)
                over preceding_requests as last_1h_write_at
        from {{ cache_uses }}
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
    ) as neighboured
{%- endmacro %}

{#- SQL: the select list of the flagged sums, from the rows of cache_uses_judged. -#}
{% macro cache_flag_sums() -%}
        count(*) filter (where is_wasted_write) as wasted_write_requests,
        count(*) filter (where is_late_read) as late_read_requests,
        count(*) filter (where is_expired_rewrite) as expired_rewrite_requests,
        sum(write_premium_usd) filter (where is_wasted_write) as wasted_cache_write_usd,
        sum(read_as_rewrite_usd) filter (where is_late_read) as late_read_as_rewrite_usd,
        sum(rewrite_as_read_usd) filter (where is_expired_rewrite)
            as expired_rewrite_as_read_usd,
        sum(ttl_5m_part_premium_usd) filter (where is_expired_rewrite)
            as expired_ttl_5m_part_premium_usd
{%- endmacro %}

{#- The columns of the day's sums that int_daily_cache_uses_judged keeps and
    rpt_cache_efficiency adds up over its window: counts and token sums (cache_counts), cost
    sums (cache_cost_sums), flagged sums (cache_flag_sums, judged again on the window's first
    day). -#}
{% macro cache_count_columns() -%}
    {{ return([
        'requests', 'cache_read_requests', 'cache_write_requests', 'input_tokens',
        'cache_read_tokens', 'cache_write_tokens', 'cache_write_1h_tokens',
    ]) }}
{%- endmacro %}

{% macro cache_cost_columns() -%}
    {{ return([
        'cache_read_savings_usd', 'cache_write_cost_usd', 'ttl_1h_extra_usd',
        'read_saving_per_write_usd', 'ttl_1h_part_premium_usd', 'ttl_5m_part_premium_usd',
    ]) }}
{%- endmacro %}

{% macro cache_flag_columns() -%}
    {{ return([
        'wasted_write_requests', 'late_read_requests', 'expired_rewrite_requests',
        'wasted_cache_write_usd', 'late_read_as_rewrite_usd', 'expired_rewrite_as_read_usd',
        'expired_ttl_5m_part_premium_usd',
    ]) }}
{%- endmacro %}

{#- The type of a column of the sums: counts bigint, token sums decimal(38, 0), costs
    decimal(38, 12) (exact sums of sums). -#}
{% macro cache_sum_type(column) -%}
    {%- if column.endswith('_requests') -%}{{ return('bigint') }}
    {%- elif column.endswith('_tokens') -%}{{ return('decimal(38, 0)') }}
    {%- else -%}{{ return('decimal(38, 12)') }}
    {%- endif -%}
{%- endmacro %}

{#- SQL: `sum(column) as column` of each of `columns`. -#}
{% macro cache_sums(columns) -%}
    {%- for column in columns %}
        sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- SQL: each of `columns` of `relation` cast to its type (cache_sum_type), a flag count
    0 where `relation` has no row (a left join: a day without a cache use). -#}
{% macro cache_typed_columns(relation, columns) -%}
    {%- for column in columns %}
        {%- set value = relation ~ '.' ~ column %}
        cast({{ 'coalesce(' ~ value ~ ', 0)' if column in cache_flag_columns()
            and column.endswith('_requests') else value }} as {{ cache_sum_type(column) }})
            as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
