{#-
    Fails the build when a landed file of the current refresh window (the latest landing
    day and the look-back) has more rejected rows than var reject_rate_threshold (default
    0.05) of its rows. Raises an error naming each offending file, so `dbt build` stops
    the models downstream and the message says which file to fix. Rejected rows stay in
    fct_rejected_events for inspection.
-#}
{% test reject_rate_within_threshold(model, threshold=none) %}
    {%- set limit = threshold if threshold is not none else var('reject_rate_threshold', 0.05) -%}
    with

    rows as (
        select * from {{ model }}
        where landing_date >= (
            select max(landing_date) - {{ var('lookback_days') }} from {{ model }}
        )
    ),

    per_file as (
        select
            source_file,
            count(*) as landed_rows,
            count(*) filter (where not is_accepted) as rejected_rows
        from rows
        group by source_file
    ),

    offending as (
        select *
        from per_file
        where rejected_rows > {{ limit }} * landed_rows
    )

    -- error() sits in the filter so that it runs even under dbt's count(*) wrapper.
    select source_file
    from offending
    where {{ raise_error_sql(
        "'reject rate above ' || cast(" ~ limit ~ " * 100 as string) || '% in '
        || source_file || ' (' || rejected_rows || ' of ' || landed_rows
        || ' rows rejected; see fct_rejected_events)'"
    ) }} is null
{% endtest %}
