{#- Engine-specific SQL, JSON (default__ = DuckDB, spark__ = Spark; see landing.sql). -#}

{#- True when the text is a JSON object (a line that is not one is malformed_json). -#}
{% macro is_json_object(text) -%}
    {{ return(adapter.dispatch('is_json_object', 'aiusage')(text)) }}
{%- endmacro %}

{#- The regular expression stops at the first non-blank character; ltrim copied the line.
    JSON whitespace (space, tab, line feed, carriage return) may precede the brace. -#}
{% macro default__is_json_object(text) -%}
    (json_valid({{ text }}) and regexp_matches({{ text }}, '^[ \t\n\r]*\{'))
{%- endmacro %}

{% macro spark__is_json_object(text) -%}
    (json_object_keys({{ text }}) is not null)
{%- endmacro %}

{#- The text as a JSON value (DuckDB: the JSON type; Spark: the text itself). -#}
{% macro as_json(text) -%}
    {{ return(adapter.dispatch('as_json', 'aiusage')(text)) }}
{%- endmacro %}

{% macro default__as_json(text) -%}
    json({{ text }})
{%- endmacro %}

{% macro spark__as_json(text) -%}
    {{ text }}
{%- endmacro %}

{#- The line as a JSON object, or null when it is not one (-> malformed_json). -#}
{% macro json_object_or_null(text) -%}
    case when {{ is_json_object(text) }} then {{ as_json(text) }} end
{%- endmacro %}

{#- The JSON type (Spark keeps JSON as text). -#}
{% macro type_json() -%}
    {{ return(adapter.dispatch('type_json', 'aiusage')()) }}
{%- endmacro %}

{% macro default__type_json() -%}json{%- endmacro %}

{% macro spark__type_json() -%}string{%- endmacro %}

{#- The value at a JSONPath ('$.a.b') as text: strings unquoted, other values as JSON
    text; null when absent or JSON null. -#}
{% macro json_text(json_expression, path) -%}
    {{ return(adapter.dispatch('json_text', 'aiusage')(json_expression, path)) }}
{%- endmacro %}

{% macro default__json_text(json_expression, path) -%}
    ({{ json_expression }} ->> '{{ path }}')
{%- endmacro %}

{% macro spark__json_text(json_expression, path) -%}
    get_json_object({{ json_expression }}, '{{ path }}')
{%- endmacro %}

{#- The value at a JSONPath as JSON (objects stay objects). -#}
{% macro json_value(json_expression, path) -%}
    {{ return(adapter.dispatch('json_value', 'aiusage')(json_expression, path)) }}
{%- endmacro %}

{% macro default__json_value(json_expression, path) -%}
    ({{ json_expression }} -> '{{ path }}')
{%- endmacro %}

{% macro spark__json_value(json_expression, path) -%}
    get_json_object({{ json_expression }}, '{{ path }}')
{%- endmacro %}

{#- A field that is a JSON object, or a string holding one (CSV exports, LiteLLM). -#}
{% macro json_field_object(json_expression) -%}
    {{ return(adapter.dispatch('json_field_object', 'aiusage')(json_expression)) }}
{%- endmacro %}

{% macro default__json_field_object(json_expression) -%}
    case
        when json_type({{ json_expression }}) = 'OBJECT' then {{ json_expression }}
        when json_type({{ json_expression }}) = 'VARCHAR'
            and json_valid({{ json_expression }} ->> '$')
            and json_type(json({{ json_expression }} ->> '$')) = 'OBJECT'
            then json({{ json_expression }} ->> '$')
    end
{%- endmacro %}

{#- Spark: json_value already unquotes a string, so an object or a string holding one is
    the object's text. -#}
{% macro spark__json_field_object(json_expression) -%}
    case when {{ is_json_object(json_expression) }} then {{ json_expression }} end
{%- endmacro %}

{#- A canonical event line parsed into a struct of text fields (see events_contract.sql):
    j.<field> is the field's text (numbers and booleans as written), j._ingest_error the
    marker of a row `aiusage ingest` could not convert. -#}
{% macro parse_event_record(text) -%}
    {{ return(adapter.dispatch('parse_event_record', 'aiusage')(text)) }}
{%- endmacro %}

{% macro default__parse_event_record(text) -%}
    json_transform({{ text }}, '{{ events_json_structure() }}')
{%- endmacro %}

{% macro spark__parse_event_record(text) -%}
    {%- set fields = [] -%}
    {%- for f in events_text_fields() -%}{%- do fields.append('`' ~ f ~ '` string') -%}{%- endfor -%}
    {%- do fields.append('`_ingest_error` string') -%}
    from_json({{ text }}, '{{ fields | join(", ") }}')
{%- endmacro %}
