-- One row per condition that breaches a threshold of seeds/alert_thresholds.csv on the
-- as-of day (var as_of_date, else the last usage day): p95 latency and error rate per
-- model, budget utilization and forecast per budget, the day's spend of each budget with a
-- daily limit (daily_budget_exceeded: spend / daily limit, the message names the spend and
-- the limit), cost and token anomalies per team and workflow, runaway sessions still
-- running on the as-of day (rpt_session_costs, named in the message with their workflow,
-- calls and cost).
-- severity is critical at or above critical_threshold, else warning.
--
-- alert_key = md5(alert_type | scope_type | scope_id | period_start_date) is stable across
-- refreshes: the period is the as-of day, except for the monthly budget alerts whose period
-- is the budget month (a budget at 90% on the 20th and the 21st is one alert); a daily
-- limit exceeded on two days is two alerts. A delivery job
-- that remembers (alert_key, severity_rank) sent can tell "already sent" from "new" (an
-- unknown key) and "escalated" (a higher severity_rank).

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

thresholds as (
    select * from {{ ref('alert_thresholds') }}
),

latency as (
    select * from {{ ref('rpt_latency_percentiles') }}
),

anomalies as (
    select * from {{ ref('rpt_cost_anomalies') }}
    where is_anomaly
),

success_rates as (
    select * from {{ ref('rpt_success_rates') }}
),

budget_status as (
    select * from {{ ref('rpt_budget_status') }}
),

runaway_sessions as (
    select * from {{ ref('rpt_session_costs') }}
    where is_runaway
),

as_of as (
    select {{ monitoring_as_of_date('daily') }} as as_of_date
),

-- a budget raises two alerts: its utilization so far and its month-end forecast
budget_alerts as (
    select 'budget_utilization' as alert_type
    union all
    select 'budget_forecast' as alert_type
),

-- per model: p95 latency and error rate of the day
model_metrics as (
    select
        'latency_p95' as alert_type,
        provider,
        model,
        usage_date,
        latency_p95_ms as measured_value,
        requests
    from latency
    union all
    select
        'error_rate' as alert_type,
        provider,
        model,
        usage_date,
        error_rate as measured_value,
        requests
    from success_rates
),

candidates as (
    select
        model_metrics.alert_type,
        'model' as scope_type,
        model_metrics.provider || '/' || model_metrics.model as scope_id,
        model_metrics.usage_date as period_start_date,
        model_metrics.measured_value,
        model_metrics.requests as sample_requests,
        null as detail
    from model_metrics
    inner join as_of on model_metrics.usage_date = as_of.as_of_date

    union all

    select
        budget_alerts.alert_type,
        budget_status.scope as scope_type,
        budget_status.scope_id,
        budget_status.month_start_date as period_start_date,
        case budget_alerts.alert_type
            when 'budget_utilization' then budget_status.utilization
            else budget_status.forecast_utilization
        end as measured_value,
        null as sample_requests,
        null as detail
    from budget_status
    inner join as_of on budget_status.as_of_date = as_of.as_of_date
    cross join budget_alerts

    union all

    select
        'daily_budget_exceeded' as alert_type,
        budget_status.scope as scope_type,
        budget_status.scope_id,
        budget_status.as_of_date as period_start_date,
        budget_status.daily_utilization as measured_value,
        null as sample_requests,
        ' - spent $' || cast(round(budget_status.spent_day_usd, 2) as string) || ' on '
        || cast(budget_status.as_of_date as string) || ' against a daily limit of $'
        || cast(round(budget_status.daily_limit_usd, 2) as string) as detail
    from budget_status
    inner join as_of on budget_status.as_of_date = as_of.as_of_date
    where budget_status.daily_limit_usd is not null

    union all

    select
        case anomalies.metric
            when 'cost_usd' then 'cost_anomaly' else 'token_anomaly'
        end as alert_type,
        anomalies.scope_type,
        anomalies.scope_id,
        anomalies.usage_date as period_start_date,
        anomalies.ratio_to_mean as measured_value,
        null as sample_requests,
        null as detail
    from anomalies
    inner join as_of on anomalies.usage_date = as_of.as_of_date

    union all

    select
        'runaway_session' as alert_type,
        'session' as scope_type,
        runaway_sessions.session_id as scope_id,
        cast(runaway_sessions.started_at as date) as period_start_date,
        runaway_sessions.runaway_ratio as measured_value,
        runaway_sessions.requests as sample_requests,
        ' - workflow ' || runaway_sessions.workflow || ', user ' || runaway_sessions.user_id
        || ', ' || cast(runaway_sessions.requests as string) || ' calls, $'
        || cast(round(runaway_sessions.cost_usd, 2) as string) || ' from '
        || {{ time_of_day('runaway_sessions.started_at') }} || ' to '
        || {{ time_of_day('runaway_sessions.ended_at') }} || ' UTC' as detail
    from runaway_sessions
    inner join as_of on cast(runaway_sessions.ended_at as date) = as_of.as_of_date
),

judged as (
    select
        candidates.*,
        thresholds.warning_threshold,
        thresholds.critical_threshold,
        thresholds.unit,
        case
            when candidates.measured_value >= thresholds.critical_threshold then 'critical'
            when candidates.measured_value >= thresholds.warning_threshold then 'warning'
        end as severity,
        as_of.as_of_date
    from candidates
    inner join thresholds on candidates.alert_type = thresholds.alert_type
    cross join as_of
    where
        thresholds.min_requests is null
        or candidates.sample_requests >= thresholds.min_requests
),

final as (
    select
        cast(md5(concat_ws('|', alert_type, scope_type, scope_id, period_start_date)) as string)
            as alert_key,
        cast(as_of_date as date) as as_of_date,
        cast(alert_type as string) as alert_type,
        cast(scope_type as string) as scope_type,
        cast(scope_id as string) as scope_id,
        cast(period_start_date as date) as period_start_date,
        cast(severity as string) as severity,
        cast(case severity when 'critical' then 2 else 1 end as integer) as severity_rank,
        cast(measured_value as double) as measured_value,
        cast(
            case severity when 'critical' then critical_threshold else warning_threshold end
            as double
        ) as threshold_value,
        cast(unit as string) as unit,
        cast(sample_requests as bigint) as sample_requests,
        cast(
            alert_type || ' ' || severity || ': ' || scope_type || ' ' || scope_id || ' at '
            || case
                when unit = 'ms' then cast(round(measured_value) as bigint) || ' ms'
                when unit = 'x' then cast(round(measured_value, 1) as string) || 'x its p95'
                else cast(round(measured_value * 100, 1) as string) || '%'
            end
            || ' (threshold '
            || case
                when unit = 'ms'
                    then cast(round(case severity
                        when 'critical' then critical_threshold
                        else warning_threshold
                    end) as bigint) || ' ms'
                when unit = 'x'
                    then cast(case severity
                        when 'critical' then critical_threshold
                        else warning_threshold
                    end as string) || 'x'
                else cast(round(case severity
                    when 'critical' then critical_threshold
                    else warning_threshold
                end * 100, 1) as string) || '%'
            end
            || ')'
            || coalesce(detail, '')
            as string
        ) as message
    from judged
    where severity is not null
)

select * from final
