{#-
    The select list of a mart's final CTE, from its contract: every column of the model's
    yml, in the yml's order, cast to its data_type (one owner for a mart's column names,
    order and types: the contract dbt enforces). `expressions` gives the SQL of the columns
    computed in the final select (name -> expression); the others are read by name from
    the CTE the final select reads. Columns are known when the model compiles (at parse
    time dbt only collects refs, and the list is empty).
-#}
{% macro contract_columns(expressions={}) -%}
    {%- set columns = model.columns.values() | list if execute else [] -%}
    {%- for column in columns %}
        cast({{ expressions.get(column.name, column.name) }} as {{ column.data_type }})
            as {{ column.name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
