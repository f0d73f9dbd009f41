{#- dbt-spark persists a contract's constraints (ALTER COLUMN ... SET NOT NULL) unless the
    model's file_format is set to something other than delta: an unset file_format counts
    as delta, and the plain parquet tables of the local `spark` target reject the ALTER.
    Constraints are persisted only on Delta tables (Databricks); elsewhere on Spark they are
    NOT_ENFORCED, and the parity test (make test-spark) checks the marts against DuckDB,
    which enforces them. Overrides the dbt-spark macro of the same name. -#}
{% macro spark__persist_constraints(relation, model) %}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced and config.get('file_format') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
    {%- endif -%}
{% endmacro %}
