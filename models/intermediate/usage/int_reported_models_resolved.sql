-- One row per (provider, model_reported) that requests or provider usage buckets carry:
-- the price list's provider and canonical model it resolves to (macros/model_identity.sql:
-- the rules, in order) and the rule that matched. Resolved once per distinct id, not per
-- request or bucket; the one resolution of both grains (int_usage_events_priced,
-- int_provider_usage_buckets_priced), so a model id is the same model in both. A reported
-- id that no rule resolves keeps its provider and its lowercased id (the request or bucket
-- stays unpriced: unknown_model).

with

request_ids as (
    select distinct
        provider,
        model_reported
    from {{ ref('int_usage_events_unioned') }}
),

-- a bucket of a report not grouped by model has none: it stays '(all models)'
bucket_ids as (
    select distinct
        provider,
        model_reported
    from {{ ref('int_usage_report_rows_unioned') }}
    where rejection_reason is null and model_reported is not null
),

reported as (
    select * from request_ids
    union
    select * from bucket_ids
),

aliases as (
    select * from {{ ref('model_aliases') }}
),

prices as (
    select distinct
        provider,
        model
    from {{ ref('model_prices') }}
),

vendor_prefixes as (
    select * from {{ ref('model_vendor_prefixes') }}
),

-- every id the price list knows: its models, and the aliases pointing at a model it
-- prices at the alias's provider (an Azure deployment alias is read by rule 4 instead)
known_ids as (
    select
        provider,
        model as known_id,
        model,
        false as is_alias
    from prices
    union all
    select
        lower(aliases.provider) as provider,
        lower(aliases.model_alias) as known_id,
        aliases.model,
        true as is_alias
    from aliases
    inner join prices
        on
            lower(aliases.provider) = prices.provider
            and aliases.model = prices.model
),

-- the same ids normalized (rule 5). Several models sharing a normalized id: the one whose
-- own id is that normalized id (openai/gpt-4o-mini, not its :free variant), else none.
normalized_ids as (
    select
        provider,
        {{ normalized_model_id('known_id') }} as known_id,
        case
            when count(distinct model) = 1 then min(model)
            else max(case when known_id = {{ normalized_model_id('known_id') }} then model end)
        end as model
    from known_ids
    group by provider, {{ normalized_model_id('known_id') }}
),

exact_ids as (
    select
        provider,
        known_id,
        min(model) as model,
        bool_or(is_alias) as is_alias
    from known_ids
    group by provider, known_id
),

lowered as (
    select
        provider,
        model_reported,
        lower(trim(model_reported)) as reported_id
    from reported
),

routed as (
    select
        *,
        {{ route_provider('provider', 'reported_id') }} as route_provider,
        {{ routed_model_id('reported_id') }} as routed_id,
        {{ path_publisher('reported_id') }} as publisher
    from lowered
),

-- rule 3 and 4: the id tried at the route provider, the vendor and the vendor's id
parsed as (
    select
        routed.*,
        case
            when routed.route_provider = 'aws' then {{ bedrock_price_id('routed.routed_id') }}
            else routed.routed_id
        end as route_id,
        case
            when routed.route_provider = 'aws' then {{ bedrock_vendor('routed.routed_id') }}
            when routed.route_provider = 'azure' then 'openai'
            when routed.publisher is not null then routed.publisher
            when routed.routed_id like '%/%'
                then {{ regex_replace_all("split_part(routed.routed_id, '/', 1)", '^~', '') }}
        end as vendor_prefix,
        case
            when routed.route_provider = 'aws' then {{ bedrock_vendor_model('routed.routed_id') }}
            when routed.route_provider = 'azure' then coalesce(azure.model, routed.routed_id)
            when routed.publisher is not null then routed.routed_id
            when routed.routed_id like '%/%'
                then substr(routed.routed_id, length(split_part(routed.routed_id, '/', 1)) + 2)
        end as vendor_id
    from routed
    left join aliases as azure
        on
            routed.route_provider = 'azure'
            and lower(azure.provider) = 'azure'
            and routed.routed_id = lower(azure.model_alias)
),

with_vendor as (
    select
        parsed.*,
        coalesce(vendor_prefixes.provider, parsed.vendor_prefix) as vendor
    from parsed
    left join vendor_prefixes
        on parsed.vendor_prefix = vendor_prefixes.vendor_prefix
),

looked_up as (
    select
        with_vendor.provider,
        with_vendor.model_reported,
        with_vendor.route_provider,
        with_vendor.vendor,
        route_exact.model as route_exact_model,
        route_exact.is_alias as route_exact_is_alias,
        route_normalized.model as route_normalized_model,
        vendor_exact.model as vendor_exact_model,
        vendor_exact.is_alias as vendor_exact_is_alias,
        vendor_normalized.model as vendor_normalized_model,
        with_vendor.reported_id
    from with_vendor
    left join exact_ids as route_exact
        on
            with_vendor.route_provider = route_exact.provider
            and with_vendor.route_id = route_exact.known_id
    left join normalized_ids as route_normalized
        on
            with_vendor.route_provider = route_normalized.provider
            and {{ normalized_model_id('with_vendor.route_id') }} = route_normalized.known_id
    left join exact_ids as vendor_exact
        on
            with_vendor.vendor = vendor_exact.provider
            and with_vendor.vendor_id = vendor_exact.known_id
    left join normalized_ids as vendor_normalized
        on
            with_vendor.vendor = vendor_normalized.provider
            and {{ normalized_model_id('with_vendor.vendor_id') }} = vendor_normalized.known_id
),

final as (
    select
        md5(provider || '|' || model_reported) as reported_model_key,
        provider,
        model_reported,
        case
            when route_exact_model is not null or route_normalized_model is not null
                then route_provider
            when vendor_exact_model is not null or vendor_normalized_model is not null
                then vendor
            else route_provider
        end as price_provider,
        coalesce(
            route_exact_model,
            route_normalized_model,
            vendor_exact_model,
            vendor_normalized_model,
            reported_id
        ) as model,
        case
            when route_exact_model is not null then 'exact'
            when route_normalized_model is not null then 'normalized'
            when vendor_exact_model is not null then 'vendor_exact'
            when vendor_normalized_model is not null then 'vendor_normalized'
        end as identity_rule,
        coalesce(
            case
                when route_exact_model is not null then route_exact_is_alias
                when route_normalized_model is not null then false
                when vendor_exact_model is not null then vendor_exact_is_alias
            end,
            false
        ) as is_model_aliased
    from looked_up
)

select * from final
