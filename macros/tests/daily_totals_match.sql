{#- Fails for every usage_date on which `model` and `compare_model` disagree on requests,
    total tokens or total cost (null costs as 0): a mart that re-aggregates another one must
    add up to it exactly. `compare_requests` counts the compared model's requests
    (count(*) on the request fact). -#}
{% test daily_totals_match(model, compare_model, compare_requests='sum(requests)') %}
    with

    model_totals as (
        select
            usage_date,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            coalesce(sum(total_cost_usd), 0) as total_cost_usd
        from {{ model }}
        group by usage_date
    ),

    compared_totals as (
        select
            usage_date,
            {{ compare_requests }} as requests,
            sum(total_tokens) as total_tokens,
            coalesce(sum(total_cost_usd), 0) as total_cost_usd
        from {{ compare_model }}
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
{% endtest %}
