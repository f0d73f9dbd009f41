{#-
    The select list of a mart's final CTE, from its contract: every column of the model's
    yml, in the yml's order, cast to its data_type (one owner for a mart's column names,
    order and types: the contract dbt enforces). `expressions` gives the SQL of the columns
    computed in the final select (name -> expression); the others are read by name from
    the CTE the final select reads.
    A dbt unit test compiles the model without its columns: there the list is `*` and the
    computed columns (a unit test compares the columns its `expect` rows name).
-#}
{% macro contract_columns(expressions={}) -%}
    {%- set columns = model.columns.values() | list -%}
    {%- if columns %}
        {%- for column in columns %}
        {%- set data_type = (column.data_type | lower).replace(' ', '').replace(',', ', ') %}
        cast({{ expressions.get(column.name, column.name) }} as {{ data_type }})
            as {{ column.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    {%- else %}
        *
        {%- for name, expression in expressions.items() %},
        {{ expression }} as {{ name }}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
