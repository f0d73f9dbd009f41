{#- Least squares in SQL (rpt_bill_reconciliation fits bills to unit prices): the normal
    equations of three unknowns solved by Cramer's rule. det3 is the determinant of the
    3 x 3 matrix [[a, b, c], [d, e, f], [g, h, i]] (engine-neutral arithmetic). -#}
{% macro det3(a, b, c, d, e, f, g, h, i) -%}
    (({{ a }}) * (({{ e }}) * ({{ i }}) - ({{ f }}) * ({{ h }}))
    - ({{ b }}) * (({{ d }}) * ({{ i }}) - ({{ f }}) * ({{ g }}))
    + ({{ c }}) * (({{ d }}) * ({{ h }}) - ({{ e }}) * ({{ g }})))
{%- endmacro %}
