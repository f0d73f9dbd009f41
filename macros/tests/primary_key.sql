{#- Fails on each value of `column_name` that is null or repeated (one row per such value,
    with its number of rows): dbt's `unique` and `not_null` tests of a key in one query and
    one node. The key of a view, or of a model without an enforced contract, cannot be a
    contract constraint (a table mart's key is: `constraints: [{type: not_null},
    {type: unique}]`, which DuckDB enforces when it writes the table); each test node costs
    a dbt node (~30 ms of dbt's Python) and a Dagster check on every refresh, whatever the
    data. Takes the `where` config like any generic test, including __landing_window__
    (macro get_where_subquery). -#}
{% test primary_key(model, column_name) %}
    select {{ column_name }} as key_value, count(*) as key_rows
    from {{ model }}
    group by {{ column_name }}
    having {{ column_name }} is null or count(*) > 1
{% endtest %}
