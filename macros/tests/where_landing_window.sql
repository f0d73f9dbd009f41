{#-
    dbt wraps a test's relation in get_where_subquery to apply the test's `where` config;
    overriding it is dbt's documented way to give `where` custom logic (the where config
    cannot call ref() or run a query). Here the placeholder __landing_window__ in a where
    config stands for the landing days of the tested relation's latest refresh window:
    landing_date >= landing_cutoff_date(relation) (its latest landing day minus var
    lookback_days, or var backfill_start), computed when the test runs.

    Used by the unique tests of the keys of the tables a refresh replaces by whole landing
    days (the staging models) and of the views over them: the key is md5(file | line) and a
    file belongs to one landing day, so a refresh can only break uniqueness within the days
    it rewrites, and testing those keeps the test's cost proportional to the refresh, not
    to the history (older days were tested by the refreshes that wrote them). Their
    not_null tests need no window: the filter on a null key is pushed down to the scans.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__landing_window__' in where -%}
        {%- set where = where | replace(
            '__landing_window__', 'landing_date >= ' ~ landing_cutoff_date(relation)
        ) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) as dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
