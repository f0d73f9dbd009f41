{#- Fails for every usage_date on which `model` and `compare_model` disagree on requests,
    total tokens or total cost (null costs as 0): a mart that re-aggregates another one must
    add up to it exactly. `compare_requests` counts the compared model's requests
    (count(*) on the request fact).

    `refreshed_days_only` (for a `model` incremental by usage day, fct_daily_usage): the days
    compared are the usage days the latest run of `model` replaced (macro
    tested_usage_window; every day on a full build or a first build), since the other days
    were compared by the runs that wrote them. A cheap global invariant covers the rest: the
    requests and tokens of both models in total (a row of usage_date null when they differ:
    a day the refresh changed in the compared model but not in `model`). -#}
{% test daily_totals_match(
    model, compare_model, compare_requests='sum(requests)', refreshed_days_only=false
) %}
    {%- set days = tested_usage_window(model) if refreshed_days_only else 'true' %}
    with

    model_totals as (
        select
            usage_date,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            coalesce(sum(total_cost_usd), 0) as total_cost_usd
        from {{ model }}
        where {{ days }}
        group by usage_date
    ),

    compared_totals as (
        select
            usage_date,
            {{ compare_requests }} as requests,
            sum(total_tokens) as total_tokens,
            coalesce(sum(total_cost_usd), 0) as total_cost_usd
        from {{ compare_model }}
        where {{ days }}
        group by usage_date
    )

    select
        coalesce(model_totals.usage_date, compared_totals.usage_date) as usage_date,
        model_totals.requests as model_requests,
        compared_totals.requests as compared_requests
    from model_totals
    full outer join compared_totals on model_totals.usage_date = compared_totals.usage_date
    where
        model_totals.usage_date is null
        or compared_totals.usage_date is null
        or model_totals.requests != compared_totals.requests
        or model_totals.total_tokens != compared_totals.total_tokens
        or model_totals.total_cost_usd != compared_totals.total_cost_usd
    {%- if days != 'true' %}
    union all
    select
        cast(null as date) as usage_date,
        model_total.requests as model_requests,
        compared_total.requests as compared_requests
    from
        (
            select
                sum(requests) as requests,
                sum(total_tokens) as total_tokens
            from {{ model }}
        ) as model_total,
        (
            select
                {{ compare_requests }} as requests,
                sum(total_tokens) as total_tokens
            from {{ compare_model }}
        ) as compared_total
    where
        model_total.requests is distinct from compared_total.requests
        or model_total.total_tokens is distinct from compared_total.total_tokens
    {%- endif %}
{% endtest %}
