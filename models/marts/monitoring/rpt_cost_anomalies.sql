-- Daily cost and token anomalies per team and per workflow. For every scope, day and
-- metric (cost_usd, total_tokens) the value is compared with the mean and sample standard
-- deviation of the previous var anomaly_trailing_days days (the day itself excluded; days
-- without usage count as 0). A day is an anomaly when
--     history_days >= var anomaly_min_history_days
--     and trailing_mean > 0
--     and value > var anomaly_factor x trailing_mean
--     and (z_score > var anomaly_z_threshold or trailing_stddev = 0)
-- (a perfectly flat history has no z-score; the factor alone decides). One row per scope,
-- day and metric up to the as-of day, flagged or not, so a chart can draw the band; filter
-- is_anomaly for the list. Reads fct_daily_usage.

{% set trailing_days = var('anomaly_trailing_days') | int %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

calendar as (
    {{ calendar_days(
        '(select min(usage_date) as first_date from daily)', monitoring_as_of_date('daily')
    ) }}
),

scoped as (
    select
        'team' as scope_type,
        team as scope_id,
        usage_date,
        sum(coalesce(total_cost_usd, 0)) as cost_usd,
        sum(total_tokens) as total_tokens
    from daily
    group by team, usage_date

    union all

    select
        'workflow' as scope_type,
        workflow as scope_id,
        usage_date,
        sum(coalesce(total_cost_usd, 0)) as cost_usd,
        sum(total_tokens) as total_tokens
    from daily
    group by workflow, usage_date
),

scopes as (
    select distinct
        scope_type,
        scope_id
    from scoped
),

dense as (
    select
        scopes.scope_type,
        scopes.scope_id,
        calendar.calendar_date as usage_date,
        coalesce(scoped.cost_usd, 0) as cost_usd,
        coalesce(scoped.total_tokens, 0) as total_tokens
    from scopes
    cross join calendar
    left join scoped
        on
            scopes.scope_type = scoped.scope_type
            and scopes.scope_id = scoped.scope_id
            and calendar.calendar_date = scoped.usage_date
),

metrics as (
    select
        scope_type,
        scope_id,
        usage_date,
        'cost_usd' as metric,
        cast(cost_usd as decimal(38, 12)) as metric_value
    from dense

    union all

    select
        scope_type,
        scope_id,
        usage_date,
        'total_tokens' as metric,
        cast(total_tokens as decimal(38, 12)) as metric_value
    from dense
),

trailing_stats as (
    select
        *,
        count(metric_value) over trailing_window as history_days,
        avg(cast(metric_value as double)) over trailing_window as trailing_mean,
        stddev_samp(cast(metric_value as double)) over trailing_window as trailing_stddev
    from metrics
    window trailing_window as (
        partition by scope_type, scope_id, metric
        order by usage_date
        rows between {{ trailing_days }} preceding and 1 preceding
    )
),

scored as (
    select
        *,
        case
            when trailing_mean > 0 then cast(metric_value as double) / trailing_mean
        end as ratio_to_mean,
        case
            when trailing_stddev > 0
                then (cast(metric_value as double) - trailing_mean) / trailing_stddev
        end as z_score
    from trailing_stats
),

flagged as (
    select
        *,
        coalesce(
            history_days >= {{ var('anomaly_min_history_days') }}
            and trailing_mean > 0
            and ratio_to_mean > {{ var('anomaly_factor') }}
            and (z_score > {{ var('anomaly_z_threshold') }} or trailing_stddev = 0),
            false
        ) as is_anomaly
    from scored
),

final as (
    select
        cast(md5(concat_ws('|', scope_type, scope_id, usage_date, metric)) as string)
            as cost_anomaly_key,
        cast(scope_type as string) as scope_type,
        cast(scope_id as string) as scope_id,
        cast(usage_date as date) as usage_date,
        cast(metric as string) as metric,
        cast(metric_value as decimal(38, 12)) as metric_value,
        cast(history_days as integer) as history_days,
        cast(trailing_mean as double) as trailing_mean,
        cast(trailing_stddev as double) as trailing_stddev,
        cast(ratio_to_mean as double) as ratio_to_mean,
        cast(z_score as double) as z_score,
        cast(is_anomaly as boolean) as is_anomaly
    from flagged
)

select * from final
