{#- Helpers of the monitoring marts (budgets, anomalies, alerts). -#}

{#- The as-of day of the monitoring marts: var as_of_date when set, otherwise the last
    usage_date in `daily_relation` (a relation or an import CTE name). Never the clock,
    so the same data always gives the same marts. -#}
{% macro monitoring_as_of_date(daily_relation) -%}
    {%- if var('as_of_date', none) -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select max(usage_date) as as_of_date from {{ daily_relation }})
    {%- endif -%}
{%- endmacro %}

{#- Budget status of a utilization ratio (spend / limit). -#}
{% macro budget_status(utilization) -%}
    case
        when {{ utilization }} >= 1 then 'over'
        when {{ utilization }} >= {{ var('budget_critical_utilization') }} then 'critical'
        when {{ utilization }} >= {{ var('budget_warning_utilization') }} then 'warning'
        else 'ok'
    end
{%- endmacro %}
