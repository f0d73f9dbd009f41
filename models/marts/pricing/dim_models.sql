-- One row per priced (provider, canonical model): its family, its price history span and
-- its current (latest) price row. is_current = the latest row is open-ended.

with

prices as (
    select * from {{ ref('model_prices') }}
),

aliases as (
    select * from {{ ref('model_aliases') }}
),

ranked as (
    select
        *,
        row_number() over (partition by provider, model order by valid_from desc) as recency,
        count(*) over (partition by provider, model) as price_versions,
        min(valid_from) over (partition by provider, model) as first_valid_from
    from prices
),

alias_counts as (
    select
        provider,
        model,
        count(*) as aliases
    from aliases
    group by provider, model
),

final as (
    select
        cast(md5(ranked.provider || '|' || ranked.model) as string) as model_key,
        cast(ranked.provider as string) as provider,
        cast(ranked.model as string) as model,
        cast(case
            when ranked.provider = 'anthropic'
                then 'claude-' || coalesce(
                    regexp_extract(ranked.model, '(opus|sonnet|haiku)', 1), 'other'
                )
            when ranked.provider = 'google'
                then 'gemini-' || coalesce(nullif(
                    regexp_extract(ranked.model, '(flash-lite|flash|pro)', 1), ''
                ), 'other')
            when {{ regex_matches('ranked.model', '^o[0-9]') }} then 'o-series'
            else coalesce(nullif(
                regexp_extract(ranked.model, '^(gpt-[0-9.]+o?)', 1), ''
            ), ranked.model)
        end as string) as family,
        cast(ranked.price_versions as bigint) as price_versions,
        cast(coalesce(alias_counts.aliases, 0) as bigint) as aliases,
        cast(ranked.first_valid_from as timestamp) as first_priced_at,
        cast(ranked.valid_from as timestamp) as current_valid_from,
        cast(ranked.valid_to as timestamp) as current_valid_to,
        cast(ranked.valid_to is null as boolean) as is_current,
        cast(ranked.input_usd_per_mtok as decimal(18, 6)) as input_usd_per_mtok,
        cast(ranked.output_usd_per_mtok as decimal(18, 6)) as output_usd_per_mtok,
        cast(ranked.cache_read_usd_per_mtok as decimal(18, 6)) as cache_read_usd_per_mtok,
        cast(ranked.cache_write_5m_usd_per_mtok as decimal(18, 6))
            as cache_write_5m_usd_per_mtok,
        cast(ranked.cache_write_1h_usd_per_mtok as decimal(18, 6))
            as cache_write_1h_usd_per_mtok,
        cast(ranked.tier_threshold_tokens as bigint) as tier_threshold_tokens,
        cast(ranked.tier_input_usd_per_mtok as decimal(18, 6)) as tier_input_usd_per_mtok,
        cast(ranked.tier_output_usd_per_mtok as decimal(18, 6)) as tier_output_usd_per_mtok,
        cast(ranked.reasoning_usd_per_mtok as decimal(18, 6)) as reasoning_usd_per_mtok,
        cast(ranked.source as string) as price_source
    from ranked
    left join alias_counts
        on ranked.provider = alias_counts.provider and ranked.model = alias_counts.model
    where ranked.recency = 1
)

select * from final
