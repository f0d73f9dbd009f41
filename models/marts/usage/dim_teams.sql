-- One row per team seen in the usage (including '(unattributed)', so every fact row
-- joins), with when it was first and last active and how many users and workflows it has.

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        team,
        min(usage_date) as first_usage_date,
        max(usage_date) as last_usage_date,
        {{ count_attributed('user_id') }} as users,
        {{ count_attributed('workflow') }} as workflows
    from daily
    group by team
),

final as (
    select
        cast(team as string) as team,
        cast(team != '(unattributed)' as boolean) as is_attributed,
        cast(first_usage_date as date) as first_usage_date,
        cast(last_usage_date as date) as last_usage_date,
        cast(users as bigint) as users,
        cast(workflows as bigint) as workflows
    from aggregated
)

select * from final
