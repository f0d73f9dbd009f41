{{ config(materialized=rollup_materialization()) }}

-- Cost and usage per team and day (seed 000's cost_by_team, at a grain any date window
-- can be summed from). Reads the daily mart, never the request fact.

{%- set measures = [
    'requests', 'successful_requests', 'unpriced_requests', 'total_tokens', 'input_tokens',
    'output_tokens', 'total_cost_usd', 'scored_requests', 'quality_score_sum',
] %}

with

daily as (
    select * from {{ ref('fct_daily_usage') }}
),

aggregated as (
    select
        usage_date,
        team,
        {{ sum_measures(measures) }},
        count(distinct user_id) as active_users
    from daily
    group by usage_date, team
),

final as (
    select
        cast(md5(usage_date || '|' || team) as string) as cost_by_team_key,
        cast(usage_date as date) as usage_date,
        cast(team as string) as team,
        {{ measure_columns(measures) }},
        cast({{ ratio('quality_score_sum', 'scored_requests') }} as double) as avg_quality_score,
        cast(active_users as bigint) as active_users
    from aggregated
)

select * from final
