{#- Rows of `model` for which `expression` is not true (a dbt_utils-free expression test). -#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}
