{#- Engine-specific SQL, text, hashing and errors (default__ = DuckDB, spark__ = Spark; see
    landing.sql). -#}

{#- True when the text matches the regular expression (anywhere). -#}
{% macro regex_matches(text, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'aiusage')(text, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(text, pattern) -%}
    regexp_matches({{ text }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_matches(text, pattern) -%}
    ({{ text }} rlike '{{ pattern }}')
{%- endmacro %}

{#- The text standing for null in hashed field lists: `backslashes` backslashes and N,
    the same string on every engine (Spark string literals treat the backslash as an
    escape, DuckDB's do not). -#}
{% macro hash_null_marker(backslashes=1) -%}
    {{ return(adapter.dispatch('hash_null_marker', 'aiusage')(backslashes)) }}
{%- endmacro %}

{% macro default__hash_null_marker(backslashes) -%}
    '{{ '\\' * backslashes }}N'
{%- endmacro %}

{% macro spark__hash_null_marker(backslashes) -%}
    '{{ '\\' * (2 * backslashes) }}N'
{%- endmacro %}

{#- A DECIMAL(38, 12) as plain text with its 12 decimals (Spark prints 0 as 0E-12 and
    values below 1e-6 in scientific notation). -#}
{% macro decimal_as_text(decimal_expression) -%}
    {{ return(adapter.dispatch('decimal_as_text', 'aiusage')(decimal_expression)) }}
{%- endmacro %}

{% macro default__decimal_as_text(decimal_expression) -%}
    cast({{ decimal_expression }} as string)
{%- endmacro %}

{% macro spark__decimal_as_text(decimal_expression) -%}
    replace(format_number({{ decimal_expression }}, 12), ',', '')
{%- endmacro %}

{#- `select *` without some columns. -#}
{% macro star_except(columns) -%}
    {{ return(adapter.dispatch('star_except', 'aiusage')(columns)) }}
{%- endmacro %}

{% macro default__star_except(columns) -%}
    * exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns) -%}
    * except ({{ columns | join(', ') }})
{%- endmacro %}

{#- Stops the query with `message` (a SQL text expression); used in a filter. -#}
{% macro raise_error_sql(message) -%}
    {{ return(adapter.dispatch('raise_error_sql', 'aiusage')(message)) }}
{%- endmacro %}

{% macro default__raise_error_sql(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro spark__raise_error_sql(message) -%}
    raise_error({{ message }})
{%- endmacro %}

{#- The sum of a double `expression` over a group, the same in every build: its values
    added in ascending order, one after the other (null when the group has none). A plain
    sum of doubles adds the partial sums of a parallel aggregate in whatever order the
    threads finish, so two builds of the same rows differed in the last bits, and a
    DECIMAL(38, 12) figure made from them in its last digit now and then
    (rpt_cost_change_drivers, rpt_budget_status). For the small groups of a mart's last
    step: every value of a group is held in one list. -#}
{% macro ordered_sum(expression) -%}
    case when count({{ expression }}) > 0 then
        {{ adapter.dispatch('ordered_sum', 'aiusage')(expression) }}
    end
{%- endmacro %}

{% macro default__ordered_sum(expression) -%}
    list_sum(list_sort(list(cast({{ expression }} as double)) filter (where {{ expression }} is not null)))
{%- endmacro %}

{% macro spark__ordered_sum(expression) -%}
    aggregate(
        array_sort(collect_list(cast({{ expression }} as double))),
        cast(0 as double),
        (total, value) -> total + value
    )
{%- endmacro %}

{#- The mean of a double `expression` over a group, the same in every build (ordered_sum
    over the count of its non-null values). -#}
{% macro ordered_avg(expression) -%}
    ({{ ordered_sum(expression) }}) / count({{ expression }})
{%- endmacro %}

{#- Continuous percentile (linear interpolation) of `column` at fraction `fraction`. -#}
{% macro percentile_cont(column, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'aiusage')(column, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{#- Spark has no quantile_cont: the standard ordered-set aggregate (Spark 3.3+). -#}
{% macro spark__percentile_cont(column, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}

{#- Continuous percentiles of `column` (percents: [50, 95, ...]) as doubles, each named by
    `name_format` with the percent in place of {} ('latency_p{}_ms' -> latency_p50_ms). -#}
{% macro percentile_columns(column, percents, name_format) -%}
    {%- set fractions = [] -%}
    {%- for percent in percents %}{% do fractions.append(percent / 100) %}{% endfor -%}
    {%- for percent in percents %}
    cast({{ percentile_among(column, fractions, loop.index0) }} as double)
        as {{ name_format.replace('{}', percent | string) }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The percentile of `column` at fractions[index], one of several taken of the column in
    the same aggregate. -#}
{% macro percentile_among(column, fractions, index) -%}
    {{ return(adapter.dispatch('percentile_among', 'aiusage')(column, fractions, index)) }}
{%- endmacro %}

{#- DuckDB: one quantile_cont over the list of fractions, the same expression in each column
    (DuckDB computes an aggregate written twice once). A quantile keeps every value of its
    group in memory, and does not spill: one per fraction held the column's values once per
    fraction, and under the build's memory limit, beside the other dbt thread's query, the
    10M-request rpt_token_distribution (nine of them) took 95 s instead of 1-2 s. -#}
{% macro default__percentile_among(column, fractions, index) -%}
    quantile_cont({{ column }}, [{{ fractions | join(', ') }}])[{{ index + 1 }}]
{%- endmacro %}

{#- Spark: one percentile_cont per fraction (it takes no list). -#}
{% macro spark__percentile_among(column, fractions, index) -%}
    {{ percentile_cont(column, fractions[index]) }}
{%- endmacro %}

{#- Every match of `pattern` replaced by `replacement`, in which {1}, {2}, ... stand for
    the groups (DuckDB writes them \1, Spark $1). Patterns avoid backslashes (Spark string
    literals unescape them): [0-9], not \d. -#}
{% macro regex_replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'aiusage')(text, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(text, pattern, replacement) -%}
    {%- set ns = namespace(r=replacement) -%}
    {%- for i in range(1, 10) -%}
        {%- set ns.r = ns.r | replace('{' ~ i ~ '}', '\\' ~ i) -%}
    {%- endfor -%}
    regexp_replace({{ text }}, '{{ pattern }}', '{{ ns.r }}', 'g')
{%- endmacro %}

{% macro spark__regex_replace_all(text, pattern, replacement) -%}
    {%- set ns = namespace(r=replacement) -%}
    {%- for i in range(1, 10) -%}
        {%- set ns.r = ns.r | replace('{' ~ i ~ '}', '$' ~ i) -%}
    {%- endfor -%}
    regexp_replace({{ text }}, '{{ pattern }}', '{{ ns.r }}')
{%- endmacro %}

{#- Aggregates: the value of `column` on the row of the group with the largest (value_at_max)
    or smallest (value_at_min) tuple of `order_columns`, compared column by column (a null
    after every value). Far cheaper than ranking whole rows with row_number(), which carries
    every column through a sort. `order_columns` must identify one row of the group (no
    ties), and `column` must not be null (Spark's max_by skips null values).
    DuckDB: the max (min) of one struct of the order columns then the value, read back as
    its last field. With no ties the value never decides the comparison, so this is
    arg_max(column, struct_pack(order_columns)), but DuckDB compares a struct in min/max
    through one binary sort key per row where arg_max compares struct keys field by field:
    int_daily_sessions_summed's full-build query alone on the 10M-event bench took 5.1-5.3 s
    against 7.5-8.2 s (docs/performance.md, thirty-second round). -#}
{% macro value_at_max(column, order_columns) -%}
    {{ return(adapter.dispatch('value_at_extreme', 'aiusage')(column, order_columns, 'max')) }}
{%- endmacro %}

{% macro value_at_min(column, order_columns) -%}
    {{ return(adapter.dispatch('value_at_extreme', 'aiusage')(column, order_columns, 'min')) }}
{%- endmacro %}

{#- SQL: a struct of the named expressions `fields` (name: expression, in order), never
    null itself: several values of one row taken by a single value_at_min or value_at_max
    (one comparison of the order columns per row instead of one per value), each read
    back as <column>.<name>. -#}
{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of', 'aiusage')(fields)) }}
{%- endmacro %}

{% macro default__struct_of(fields) -%}
    struct_pack(
        {%- for name, expression in fields.items() %}
        {{ name }} := {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- SQL: the field `name` of the struct `column` (macro struct_of). -#}
{% macro struct_field(column, name) -%}
    {{ return(adapter.dispatch('struct_field', 'aiusage')(column, name)) }}
{%- endmacro %}

{% macro default__struct_field(column, name) -%}
    struct_extract({{ column }}, '{{ name }}')
{%- endmacro %}

{% macro spark__struct_field(column, name) -%}
    {{ column }}.{{ name }}
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
    named_struct(
        {%- for name, expression in fields.items() %}
        '{{ name }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro default__value_at_extreme(column, order_columns, extreme) -%}
    struct_extract({{ extreme }}(struct_pack(
        {%- for order_column in order_columns %}
        order_{{ loop.index }} := {{ order_column }},
        {%- endfor %}
        extreme_value := {{ column }}
    )), 'extreme_value')
{%- endmacro %}

{% macro spark__value_at_extreme(column, order_columns, extreme) -%}
    {{ extreme }}_by({{ column }}, struct({{ order_columns | join(', ') }}))
{%- endmacro %}

{#- The value of `column` on the latest delivery of each group (macro
    latest_delivery_first's order); `relation` qualifies the order's columns in a join. -#}
{% macro latest_delivery_value(column, relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {{ value_at_max(column, [
        prefix ~ 'landing_date', prefix ~ 'source_file', prefix ~ 'line_number'
    ]) }}
{%- endmacro %}
