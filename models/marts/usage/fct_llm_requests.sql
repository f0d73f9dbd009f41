{#- publish_by_rewritten_days: a refresh inserts rows of its landing days only, or of the
    older day a withdrawn request's older delivery comes back to (the run logs that day as
    the first it rewrote, macro withdrawal_rewritten_from); other older days can only lose
    rows (a re-delivered request moves to its new day), which changes their row counts, so
    publish fingerprints those days and the days from the logged day alone
    (aiusage.snapshot). -#}
{#- pre_hook: the requests the refresh withdraws (no landed row of its window delivers them
    any more: a file changed in place) are logged and deleted (macros/withdrawn_records.sql);
    their older deliveries come back through `withdrawn_older_deliveries`. -#}
{{ config(
    meta={'publish_by_rewritten_days': true},
    pre_hook='{{ withdraw_requests_no_longer_landed() }}',
    incremental_predicates=merge_from_first_stored_day(),
    **incremental_by_key('request_key')
) }}

-- One row per LLM request (deduplicated on provider + request_id), priced.
-- Incremental: each refresh re-reads the landing days from the first landing day of the
-- staging rows loaded since its last run (macro landing_cutoff_date), so late and
-- re-delivered events are merged by request_key. When the same request
-- is delivered more than once the latest delivery wins (landing day, file, line);
-- delivery_count counts every landed copy (all landing days, from fct_landed_rows) and
-- is_conflicting flags copies whose canonical content differs.
-- Most requests are delivered once: only the keys delivered more than once in the window
-- (`repeated`, one aggregate over the narrow key columns without a payload) need a choice,
-- and their latest copy is chosen among their own rows (`latest`). The priced rows then
-- keep a key's chosen copy, or its only one, through a join against those few keys. On the
-- 10M-event full build, choosing a copy for each of the 10M keys and joining the 10M
-- chosen rows back took about 70 s of the model's 128 s (docs/performance.md).
-- The delivery counts take the refresh's keys from `request_keys`, not from the wide
-- `deduplicated`: a CTE read twice is materialised by DuckDB, and the wide rows of a
-- 10M-event full build did not fit in its memory limit ("failed to pin block").

with

repeated as (
    select
        provider,
        request_id
    from {{ ref('int_usage_events_unioned') }}
    where {{ in_landing_window() }}
    group by provider, request_id
    having count(*) > 1
),

latest as (
    select
        unioned.provider,
        unioned.request_id,
        {{ latest_delivery_value('unioned.landed_row_key', 'unioned') }} as landed_row_key
    from {{ ref('int_usage_events_unioned') }} as unioned
    inner join repeated
        on
            unioned.provider = repeated.provider
            and unioned.request_id = repeated.request_id
    where {{ in_landing_window('unioned.landing_date') }}
    group by unioned.provider, unioned.request_id
),

{% if is_incremental() -%}
-- a request withdrawn by the pre-hook (its file changed in place and no longer holds it)
-- falls back to its latest delivery on an older landing day, if any: what a build from
-- nothing would keep. Empty unless the refresh withdrew a request (then the scan of the
-- older priced events is the price of that rare case).
withdrawn as (
    select * from {{ withdrawn_request_keys() }}
),

withdrawn_older_deliveries as (
    select * exclude (delivery_rank)
    from (
        select
            priced.*,
            withdrawn.request_key,
            row_number() over (
                partition by priced.provider, priced.request_id
                order by {{ latest_delivery_first('priced') }}
            ) as delivery_rank
        from {{ ref('int_usage_events_priced') }} as priced
        inner join withdrawn
            on priced.provider = withdrawn.provider and priced.request_id = withdrawn.request_id
        where not ({{ in_landing_window("priced.landing_date") }})
    ) as older
    where delivery_rank = 1
),
{%- endif %}

deduplicated as (
    select
        priced.*,
        {{ request_record_key('priced') }} as request_key
    from {{ ref('int_usage_events_priced') }} as priced
    left join latest
        on
            priced.provider = latest.provider
            and priced.request_id = latest.request_id
    where
        {{ in_landing_window('priced.landing_date') }}
        and (latest.landed_row_key is null or priced.landed_row_key = latest.landed_row_key)
    {{- union_withdrawn_older_deliveries() }}
),

{% if is_incremental() -%}
-- the refresh's keys, for its delivery counts (a build from nothing counts every record)
request_keys as (
    select {{ request_record_key() }} as request_key
    from {{ ref('int_usage_events_unioned') }}
    where {{ in_landing_window() }}
    union all
    select request_key from withdrawn_older_deliveries
),
{%- endif %}

deliveries as (
    {{ delivery_counts(
        ref('fct_landed_rows'), 'request_keys', 'request_key',
        ['events', 'litellm_spend_logs', 'langfuse_observations', 'openrouter']
    ) }}
),

counted as (
    {{ with_delivery_counts('deduplicated', 'request_key') }}
),

final as (
    select
        cast(request_key as string) as request_key,
        cast(request_id as string) as request_id,
        cast(provider as string) as provider,
        cast(model as string) as model,
        cast(model_reported as string) as model_reported,
        cast(is_model_known as boolean) as is_model_known,
        cast(occurred_at as timestamp) as occurred_at,
        cast({{ to_reporting_date('occurred_at') }} as date) as usage_date,
        cast(client as string) as client,
        cast(team as string) as team,
        cast(user_id as string) as user_id,
        cast(workflow as string) as workflow,
        cast(feature as string) as feature,
        cast(task_type as string) as task_type,
        cast(session_id as string) as session_id,
        cast(prompt_version as string) as prompt_version,
        cast(environment as string) as environment,
        cast(service_tier as string) as service_tier,
        cast(status as string) as status,
        cast(status = 'success' as boolean) as is_success,
        cast(error_type as string) as error_type,
        cast(http_status as integer) as http_status,
        {{ token_columns(reasoning=true) }},
        cast(latency_ms as bigint) as latency_ms,
        cast(ttft_ms as bigint) as ttft_ms,
        cast(quality_score as double) as quality_score,
        cast(passed_quality as boolean) as passed_quality,
        cast(reported_cost_usd as decimal(38, 12)) as reported_cost_usd,
        {{ price_and_cost_columns() }},
        cast(computed_cost_usd as decimal(38, 12)) as computed_cost_usd,
        cast(billed_cost_usd as decimal(38, 12)) as billed_cost_usd,
        cast(cost_source as string) as cost_source,
        cast(is_proxy_cache_hit as boolean) as is_proxy_cache_hit,
        cast(price_provider as string) as price_provider,
        cast(identity_rule as string) as identity_rule,
        cast(price_basis as string) as price_basis,
        cast(coalesce(price_valid_from_is_estimated, false) as boolean)
            as price_valid_from_is_estimated,
        cast(source_system as string) as source_system,
        cast(source_file as string) as source_file,
        cast(landing_date as date) as landing_date,
        cast(line_number as bigint) as line_number,
        cast(delivery_count as bigint) as delivery_count,
        cast(is_conflicting as boolean) as is_conflicting,
        cast(task_id as string) as task_id,
        cast(service_tier_requested as string) as service_tier_requested,
        cast(service_tier_served as string) as service_tier_served,
        cast(speed as string) as speed,
        cast(inference_geo as string) as inference_geo,
        cast(web_search_requests as bigint) as web_search_requests,
        cast(code_execution_containers as bigint) as code_execution_containers,
        cast(speed_multiplier as decimal(9, 4)) as speed_multiplier,
        cast(inference_geo_multiplier as decimal(9, 4)) as inference_geo_multiplier,
        cast(time_of_day_multiplier as decimal(9, 4)) as time_of_day_multiplier,
        cast(token_price_multiplier as decimal(9, 4)) as token_price_multiplier,
        cast(fee_cost_usd as decimal(38, 12)) as fee_cost_usd
    from counted
)

select * from final
