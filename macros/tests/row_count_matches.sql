{#- Fails when `model` and `compare_model` hold different numbers of rows (one row: both
    counts). A cheap global invariant beside the tests that a refresh runs on the rows it
    rewrote: fct_landed_rows holds each staging row once, so its count equals the staging
    rows' (a row lost, or written twice, in any landing day shows here). -#}
{% test row_count_matches(model, compare_model) %}
    select model_rows, compared_rows
    from
        (select count(*) as model_rows from {{ model }}) as counted
        cross join (select count(*) as compared_rows from {{ compare_model }}) as compared
    where model_rows <> compared_rows
{% endtest %}
