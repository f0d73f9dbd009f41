{#-
    Model identity: from what a request carries (provider, model_reported) to the price
    list's (price_provider, model). One definition, used by int_reported_models_resolved; each rule
    is documented in docs/pricing.md ("Model identity") and has a dbt unit test.
    Ids are compared lowercase. Patterns avoid backslashes (Spark unescapes them).

    1. Route: a gateway or platform prefix in the id (LiteLLM: openrouter/, bedrock/
       (converse/, invoke/), vertex_ai/, azure/, azure_ai/) or a provider synonym
       (bedrock -> aws, vertex_ai/vertex/gemini -> google, azure_openai -> azure) gives the
       provider whose price list is tried first; the prefix is removed from the id.
    2. Paths: Vertex resource names (projects/../locations/../publishers/<publisher>/models/
       <id>) and Gemini API names (models/<id>) keep the last segment; the publisher is the
       model's vendor.
    3. Bedrock ids: a cross-region prefix (us., eu., apac., au., jp., ca., us-gov.) reads as
       genai-prices' regional. prefix (global. is kept: it is priced apart); the
       <vendor>.<model>-v<n>:<m> id names the vendor and, without its version suffix, the
       vendor's model.
    4. Vendor: an aggregator's <vendor>/<model> slug (OpenRouter) names the vendor through
       seed model_vendor_prefixes; an Azure deployment name maps to its model through a
       model_aliases row of provider azure, the vendor being openai.
    5. Normalized id (both sides): lowercase, without a variant (:free, :beta, :thinking,
       ...), a Vertex @date, a date snapshot (-2024-07-18, -20240620), a -latest or a
       three-digit revision (-001), and with dots between digits as hyphens
       (claude-3.5-sonnet = claude-3-5-sonnet). A normalized id shared by two models of a
       provider is not used.
    Lookup order, first hit wins: the route provider's exact id (model or alias), its
    normalized id, then the vendor's exact id, its normalized id. An exact id keeps its
    own price (openai/gpt-4o-mini:free is free at OpenRouter, not gpt-4o-mini's price).
-#}

{#- Providers that resell other vendors' models at their own prices: a request priced
    from their list has price_basis gateway. -#}
{% macro gateway_providers() -%}
    {{ return(['openrouter', 'aws', 'azure']) }}
{%- endmacro %}

{% macro is_gateway_provider(provider) -%}
    {{ provider }} in ('{{ gateway_providers() | join("', '") }}')
{%- endmacro %}

{% macro route_provider(provider, model_id) -%}
    case
        when {{ model_id }} like 'openrouter/%' then 'openrouter'
        when {{ model_id }} like 'bedrock/%' then 'aws'
        when {{ model_id }} like 'vertex_ai/%' then 'google'
        when {{ model_id }} like 'azure/%' or {{ model_id }} like 'azure_ai/%' then 'azure'
        when {{ provider }} in ('bedrock', 'aws_bedrock', 'amazon_bedrock') then 'aws'
        when {{ provider }} in ('vertex_ai', 'vertex', 'gemini', 'google_vertex') then 'google'
        when {{ provider }} in ('azure_openai', 'azure_ai') then 'azure'
        else {{ provider }}
    end
{%- endmacro %}

{#- Rules 1 and 2: the id without its gateway prefix and resource path. -#}
{% macro routed_model_id(model_id) -%}
    {{ regex_replace_all(
        regex_replace_all(
            model_id,
            '^(openrouter|bedrock|vertex_ai|azure|azure_ai)/((converse|invoke)/)?',
            ''
        ),
        '^((projects/[^/]+/locations/[^/]+/)?publishers/[^/]+/)?models/',
        ''
    ) }}
{%- endmacro %}

{% macro path_publisher(model_id) -%}
    nullif(regexp_extract({{ model_id }}, 'publishers/([^/]+)/models/', 1), '')
{%- endmacro %}

{#- Rule 3: a Bedrock id as genai-prices spells it (regional. for a cross-region prefix or
    none, global. kept). -#}
{% macro bedrock_price_id(model_id) -%}
    case
        when {{ model_id }} like 'global.%' or {{ model_id }} like 'regional.%'
            then {{ model_id }}
        else 'regional.' || {{ regex_replace_all(
            model_id, '^(us|eu|apac|au|jp|ca|us-gov)[.]', ''
        ) }}
    end
{%- endmacro %}

{#- Rule 3: the vendor namespace and the vendor's model of a Bedrock id. -#}
{% macro bedrock_vendor(model_id) -%}
    nullif(regexp_extract(
        {{ model_id }}, '^((us|eu|apac|au|jp|ca|us-gov|global|regional)[.])?([a-z0-9-]+)[.]', 3
    ), '')
{%- endmacro %}

{% macro bedrock_vendor_model(model_id) -%}
    {{ regex_replace_all(
        regex_replace_all(
            model_id, '^((us|eu|apac|au|jp|ca|us-gov|global|regional)[.])?[a-z0-9-]+[.]', ''
        ),
        '(-v[0-9]+)?(:[0-9]+)?$',
        ''
    ) }}
{%- endmacro %}

{#- Rule 5. -#}
{% macro normalized_model_id(model_id) -%}
    {{ regex_replace_all(
        regex_replace_all(
            regex_replace_all(
                regex_replace_all(model_id, ':[a-z][a-z0-9-]*$', ''),
                '(@[0-9a-z-]+|-[0-9]{4}-[0-9]{2}-[0-9]{2}|-20[0-9]{6}|-latest|-[0-9]{3})$',
                ''
            ),
            '([0-9])[.]([0-9])',
            '{1}-{2}'
        ),
        '([0-9])[.]([0-9])',
        '{1}-{2}'
    ) }}
{%- endmacro %}
