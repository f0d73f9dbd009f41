{#- The additive measures of fct_daily_usage, and the helpers of the reports that
    re-aggregate them: a measure has one name and one type in every mart. -#}

{#- Name -> type of every additive measure of fct_daily_usage. -#}
{% macro daily_measure_types() -%}
    {%- set types = {} -%}
    {%- for name in [
        'requests', 'successful_requests', 'error_requests', 'timeout_requests',
        'rate_limited_requests', 'cancelled_requests', 'unpriced_requests',
        'input_tokens', 'uncached_input_tokens', 'cache_read_tokens', 'cache_write_tokens',
        'output_tokens', 'reasoning_tokens', 'total_tokens',
        'latency_requests', 'latency_ms_sum', 'ttft_requests', 'ttft_ms_sum',
        'scored_requests', 'quality_judged_requests', 'passed_quality_requests',
    ] -%}
        {%- do types.update({name: 'bigint'}) -%}
    {%- endfor -%}
    {%- for name in [
        'input_cost_usd', 'cache_read_cost_usd', 'cache_write_cost_usd', 'output_cost_usd',
        'total_cost_usd', 'reported_cost_usd', 'quality_score_sq_sum',
    ] -%}
        {%- do types.update({name: 'decimal(38, 12)'}) -%}
    {%- endfor -%}
    {%- do types.update({'quality_score_sum': 'decimal(38, 6)'}) -%}
    {{ return(types) }}
{%- endmacro %}

{#- The CTEs `requests` (the rows of fct_llm_requests on the usage days this refresh
    touched, macro touched_usage_days: an incremental model replaces exactly those days)
    and `aggregated` (those requests per usage day, per each of `attributed_columns` through
    attributed() and each of `columns` as it is, with the request measures `measures` and
    then `extra`, {name: aggregate expression}): the daily roll-ups of the request fact
    (fct_daily_usage, rpt_usage_by_prompt_version). -#}
{% macro touched_request_days_rolled_up(attributed_columns, measures, columns=[], extra={}) -%}
requests as (
    select * from {{ ref('fct_llm_requests') }}
    where {{ touched_usage_days() }}
),

aggregated as (
    select
        usage_date,
        {%- for column in attributed_columns %}
        {{ attributed(column) }} as {{ column }},
        {%- endfor %}
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        {{ request_measures(measures) }}
        {%- for name, expression in extra.items() %},
        {{ expression }} as {{ name }}
        {%- endfor %}
    from requests
    group by all
)
{%- endmacro %}

{#- The measures of a group of requests (rows of fct_llm_requests), as fct_daily_usage
    defines them: `<expression> as <measure>` for each measure (a select list). Reports
    that read the request fact at another grain use the same definitions, so they
    re-aggregate to fct_daily_usage exactly. -#}
{% macro request_measures(measures) -%}
    {%- set quality_score = 'cast(quality_score as decimal(18, 6))' -%}
    {%- set expressions = {
        'requests': 'count(*)',
        'successful_requests': 'count(*) filter (where is_success)',
        'error_requests': "count(*) filter (where status = 'error')",
        'timeout_requests': "count(*) filter (where status = 'timeout')",
        'rate_limited_requests': "count(*) filter (where status = 'rate_limited')",
        'cancelled_requests': "count(*) filter (where status = 'cancelled')",
        'unpriced_requests': 'count(*) filter (where not is_priced)',
        'latency_requests': 'count(latency_ms)',
        'latency_ms_sum': 'sum(latency_ms)',
        'ttft_requests': 'count(ttft_ms)',
        'ttft_ms_sum': 'sum(ttft_ms)',
        'scored_requests': 'count(quality_score)',
        'quality_score_sum': 'sum(' ~ quality_score ~ ')',
        'quality_score_sq_sum': 'sum(' ~ quality_score ~ ' * ' ~ quality_score ~ ')',
        'quality_judged_requests': 'count(passed_quality)',
        'passed_quality_requests': 'count(*) filter (where passed_quality)',
    } -%}
    {%- for measure in measures %}
    {{ expressions.get(measure, 'sum(' ~ measure ~ ')') }} as {{ measure }}
    {{- ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- `sum(<measure>) as <measure>` for each measure (a select list). -#}
{% macro sum_measures(measures) -%}
    {%- for measure in measures %}
    sum({{ measure }}) as {{ measure }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- `cast(<measure> as <its type>) as <measure>` for each measure (a select list). -#}
{% macro measure_columns(measures) -%}
    {%- set types = daily_measure_types() -%}
    {%- for measure in measures %}
    cast({{ measure }} as {{ types[measure] }}) as {{ measure }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- numerator / denominator, null when the denominator is not positive. -#}
{% macro ratio(numerator, denominator) -%}
    case when {{ denominator }} > 0 then {{ numerator }} / {{ denominator }} end
{%- endmacro %}

{#- One row per value of `group_columns` in `relation` (a daily mart or CTE): the value of
    `attribute` with the most requests, ties broken by name (a user's main team, a
    workflow's main task type, ...). Columns: the group columns, the attribute and its
    group_requests. -#}
{% macro most_requested(relation, group_columns, attribute) -%}
    select
        {{ group_columns | join(',\n        ') }},
        {{ attribute }},
        sum(requests) as group_requests
    from {{ relation }}
    group by {{ group_columns | join(', ') }}, {{ attribute }}
    qualify row_number() over (
        partition by {{ group_columns | join(', ') }}
        order by group_requests desc, {{ attribute }} asc
    ) = 1
{%- endmacro %}

{#- Attribution that a request leaves empty (client, team, user_id, workflow, feature,
    task_type, prompt_version) is grouped under '(unattributed)' in the marts, so every fact row joins
    a dimension row. -#}
{% macro attributed(column) -%}
    coalesce({{ column }}, '(unattributed)')
{%- endmacro %}

{#- The distinct attributed values of a column (active users, teams, workflows):
    '(unattributed)' is not one. -#}
{% macro count_attributed(column) -%}
    count(distinct {{ column }}) filter (where {{ column }} != '(unattributed)')
{%- endmacro %}
