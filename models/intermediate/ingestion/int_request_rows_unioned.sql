-- Every landed row of the per-request sources (canonical events, LiteLLM SpendLogs,
-- Langfuse generations, OpenRouter responses and generation records) in one relation:
-- their staging rows (same columns: the landed row's key, place and verdict, the raw line
-- of rejected rows, the canonical event columns) with the source that delivered them.
-- Accepted rows become requests (int_usage_events_unioned); every row is counted
-- (int_landed_rows_unioned).

{%- set sources = [
    ('events', 'events'),
    ('litellm_spend_logs', 'litellm'),
    ('langfuse_observations', 'langfuse'),
    ('openrouter', 'openrouter'),
] %}

with

events as (
    select * from {{ ref('stg_events__usage_events') }}
),

litellm as (
    select * from {{ ref('stg_litellm__spend_logs') }}
),

langfuse as (
    select * from {{ ref('stg_langfuse__observations') }}
),

openrouter as (
    select * from {{ ref('stg_openrouter__generations') }}
),

final as (
    {%- for source_system, rows in sources %}
        select
            '{{ source_system }}' as source_system,
            *
        from {{ rows }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
