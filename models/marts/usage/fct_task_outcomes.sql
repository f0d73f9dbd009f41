{#- pre_hook: the outcomes the refresh withdraws (no landed row of its window delivers them
    any more: a file changed in place) are logged and deleted (macros/withdrawn_records.sql);
    their older deliveries come back through `withdrawn_older_deliveries`. -#}
{{ config(
    pre_hook="{{ withdraw_records_no_longer_landed('task_outcome_key', task_outcome_deliveries()) }}",
    **incremental_by_key('task_outcome_key')
) }}

-- One row per task (task_id) with its outcome: whether the task the requests sharing its
-- task_id attempted was completed (success) or given up (failure). Deduplicated on
-- task_id: when a task's outcome is delivered more than once the latest delivery wins
-- (landing day, file, line), like fct_llm_requests; delivery_count counts every landed
-- copy and is_conflicting flags copies whose content differs (a task reported as failed,
-- then as completed, keeps the later record).
-- Incremental: each refresh re-reads the landing days of the staging rows loaded since its
-- last run (macro landing_cutoff_date) and merges by task_outcome_key; an outcome that a
-- file changed in place no longer holds is withdrawn (its older delivery, if any, comes
-- back), as in fct_llm_requests.

with

outcomes as (
    select * from {{ ref('stg_outcomes__task_outcomes') }}
    where rejection_reason is null and {{ in_landing_window() }}
),

{% if is_incremental() -%}
-- an outcome withdrawn by the pre-hook falls back to its latest delivery on an older landing
-- day, if any: what a build from nothing would keep (empty unless the refresh withdrew one)
withdrawn as (
    select * from {{ withdrawn_record_keys() }}
),

withdrawn_older_deliveries as (
    select
        *,
        md5(task_id) as task_outcome_key
    from {{ ref('stg_outcomes__task_outcomes') }}
    where
        rejection_reason is null
        and not ({{ in_landing_window() }})
        and md5(task_id) in (select withdrawn.record_key from withdrawn)
    qualify row_number() over (
        partition by task_id
        order by {{ latest_delivery_first() }}
    ) = 1
),
{%- endif %}

deduplicated as (
    select
        *,
        md5(task_id) as task_outcome_key
    from outcomes
    qualify
        row_number() over (
            partition by task_id
            order by {{ latest_delivery_first() }}
        ) = 1
    {{- union_withdrawn_older_deliveries() }}
),

deliveries as (
    {{ delivery_counts(
        ref('fct_landed_rows'), 'deduplicated', 'task_outcome_key', ['outcomes']
    ) }}
),

counted as (
    {{ with_delivery_counts('deduplicated', 'task_outcome_key') }}
),

final as (
    select
        cast(task_outcome_key as string) as task_outcome_key,
        cast(task_id as string) as task_id,
        cast(workflow as string) as workflow,
        cast(occurred_at as timestamp) as occurred_at,
        cast({{ to_reporting_date('occurred_at') }} as date) as outcome_date,
        cast(outcome as string) as outcome,
        cast(outcome = 'success' as boolean) as is_success,
        cast(value_usd as decimal(38, 12)) as value_usd,
        cast(source_file as string) as source_file,
        cast(landing_date as date) as landing_date,
        cast(line_number as bigint) as line_number,
        cast(delivery_count as bigint) as delivery_count,
        cast(is_conflicting as boolean) as is_conflicting
    from counted
)

select * from final
