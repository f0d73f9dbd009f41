{#- Fails on each of `columns` that holds nulls (one row per such column: its name and its
    null rows): the `not_null` tests of a seed's required columns in one query and one
    node. A seed cannot hold contract constraints, and each test node costs a dbt node
    (~30 ms of dbt's Python) and a Dagster check on every build that loads the seed,
    whatever its size. The failing rows name the columns
    (`dbt test --select <seed> --store-failures`). -#}
{% test not_null_columns(model, columns) %}
    {%- for column in columns %}
    select '{{ column }}' as column_name, count(*) as null_rows
    from {{ model }}
    where {{ column }} is null
    having count(*) > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{% endtest %}
