-- Cheaper models that do the same job as well: for each workflow x task_type, every pair
-- (current model, cheaper candidate) that passes the quality guard, with the estimated
-- monthly savings of moving the current model's traffic to the candidate. The method is
-- in the model description (_efficiency__models.yml). Reads the daily mart only.

{%- set measures = [
    'requests', 'successful_requests', 'unpriced_requests', 'total_cost_usd',
    'scored_requests', 'quality_score_sum', 'quality_score_sq_sum', 'quality_judged_requests',
    'passed_quality_requests',
] %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

anchor as (
    select max(usage_date) as window_end_date from daily
),

windowed as (
    select daily.*
    from daily
    cross join anchor
    where
        daily.usage_date > anchor.window_end_date - {{ var('analysis_window_days') }}
        and daily.workflow != '(unattributed)'
),

period as (
    select
        min(usage_date) as window_start_date,
        max(usage_date) as window_end_date,
        {{ days_between('min(usage_date)', 'max(usage_date)') }} + 1 as period_days
    from windowed
),

per_model as (
    select
        workflow,
        task_type,
        provider,
        model,
        {{ sum_measures(measures) }}
    from windowed
    group by workflow, task_type, provider, model
),

-- Only fully priced models with successes and enough scored requests can be compared.
model_stats as (
    select
        workflow,
        task_type,
        provider,
        model,
        requests,
        successful_requests,
        total_cost_usd,
        scored_requests,
        total_cost_usd / successful_requests as cost_per_successful_request_usd,
        cast(quality_score_sum as double) / scored_requests as avg_quality_score,
        greatest(
            (
                cast(quality_score_sq_sum as double)
                - cast(quality_score_sum as double) * cast(quality_score_sum as double)
                / scored_requests
            ) / (scored_requests - 1),
            0
        ) as quality_score_variance,
        case
            when quality_judged_requests > 0
                then cast(passed_quality_requests as double) / quality_judged_requests
        end as pass_rate
    from per_model
    where
        successful_requests > 0
        and unpriced_requests = 0
        and total_cost_usd is not null
        and scored_requests >= greatest({{ var('substitution_min_scored_requests') }}, 2)
),

pairs as (
    select
        cur.workflow,
        cur.task_type,
        cur.provider as current_provider,
        cur.model as current_model,
        cand.provider as candidate_provider,
        cand.model as candidate_model,
        cur.requests as current_requests,
        cur.successful_requests as current_successful_requests,
        cur.total_cost_usd as current_cost_usd,
        cur.scored_requests as current_scored_requests,
        cand.scored_requests as candidate_scored_requests,
        cur.cost_per_successful_request_usd as current_cost_per_successful_request_usd,
        cand.cost_per_successful_request_usd as candidate_cost_per_successful_request_usd,
        cur.avg_quality_score as current_avg_quality_score,
        cand.avg_quality_score as candidate_avg_quality_score,
        cur.pass_rate as current_pass_rate,
        cand.pass_rate as candidate_pass_rate,
        cand.avg_quality_score - cur.avg_quality_score as quality_difference,
        sqrt(
            cur.quality_score_variance / cur.scored_requests
            + cand.quality_score_variance / cand.scored_requests
        ) as quality_difference_standard_error
    from model_stats as cur
    inner join model_stats as cand
        on
            cur.workflow = cand.workflow
            and cur.task_type = cand.task_type
            and cur.cost_per_successful_request_usd > cand.cost_per_successful_request_usd
),

guarded as (
    select
        *,
        quality_difference
        - {{ var('substitution_confidence_z') }} * quality_difference_standard_error
            as quality_difference_lower_bound
    from pairs
    where
        quality_difference
        - {{ var('substitution_confidence_z') }} * quality_difference_standard_error
        >= -{{ var('substitution_quality_tolerance') }}
),

estimated as (
    select
        guarded.*,
        period.window_start_date,
        period.window_end_date,
        period.period_days,
        (
            guarded.current_cost_per_successful_request_usd
            - guarded.candidate_cost_per_successful_request_usd
        )
        * guarded.current_successful_requests * 30.0 / period.period_days
            as estimated_monthly_savings_usd
    from guarded
    cross join period
),

ranked as (
    select
        *,
        row_number() over (
            partition by workflow, task_type, current_provider, current_model
            order by
                estimated_monthly_savings_usd desc, candidate_provider asc, candidate_model asc
        ) = 1 as is_best_candidate
    from estimated
),

final as (
    select
        cast(md5(concat_ws(
            '|', workflow, task_type, current_provider, current_model,
            candidate_provider, candidate_model
        )) as string) as model_substitution_key,
        cast(window_start_date as date) as window_start_date,
        cast(window_end_date as date) as window_end_date,
        cast(period_days as integer) as period_days,
        cast(workflow as string) as workflow,
        cast(task_type as string) as task_type,
        cast(current_provider as string) as current_provider,
        cast(current_model as string) as current_model,
        cast(candidate_provider as string) as candidate_provider,
        cast(candidate_model as string) as candidate_model,
        cast(current_requests as bigint) as current_requests,
        cast(current_successful_requests as bigint) as current_successful_requests,
        cast(current_cost_usd as decimal(38, 12)) as current_cost_usd,
        cast(current_scored_requests as bigint) as current_scored_requests,
        cast(candidate_scored_requests as bigint) as candidate_scored_requests,
        cast(current_cost_per_successful_request_usd as decimal(38, 12))
            as current_cost_per_successful_request_usd,
        cast(candidate_cost_per_successful_request_usd as decimal(38, 12))
            as candidate_cost_per_successful_request_usd,
        cast(
            candidate_cost_per_successful_request_usd / current_cost_per_successful_request_usd
            as double
        ) as candidate_cost_ratio,
        cast(current_avg_quality_score as double) as current_avg_quality_score,
        cast(candidate_avg_quality_score as double) as candidate_avg_quality_score,
        cast(quality_difference as double) as quality_difference,
        cast(quality_difference_standard_error as double) as quality_difference_standard_error,
        cast(quality_difference_lower_bound as double) as quality_difference_lower_bound,
        cast(current_pass_rate as double) as current_pass_rate,
        cast(candidate_pass_rate as double) as candidate_pass_rate,
        cast(estimated_monthly_savings_usd as decimal(38, 12)) as estimated_monthly_savings_usd,
        cast(is_best_candidate as boolean) as is_best_candidate
    from ranked
)

select * from final
