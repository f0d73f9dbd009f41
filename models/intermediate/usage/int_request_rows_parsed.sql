{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy(),
        partition_by=incremental_partition_by('landing_date'),
        unique_key='landing_date',
        on_schema_change='fail',
    )
}}

-- Every landed row of the per-request sources (canonical events, LiteLLM SpendLogs,
-- Langfuse generations), parsed and judged once and stored: the staging views parse JSON
-- on every read, and three models need the result (requests, landed rows, quarantine).
-- Incremental: each refresh replaces the landing days of its look-back window, so the
-- JSON of a landed file is parsed once per refresh that re-reads it, never again after.
-- raw_line is kept for rejected rows only (the quarantine shows it).
-- The rows are the staging views' SQL (macros stg_*_rows) run over the landed files of
-- the refresh window only (landing_window_files): a view over every landed file cannot be
-- pruned by landing day on DuckDB, so reading through it would cost the whole history.
-- depends_on: {{ ref('stg_events__usage') }}
-- depends_on: {{ ref('stg_litellm__spend_logs') }}
-- depends_on: {{ ref('stg_langfuse__observations') }}

{%- set columns = [
    'source_file', 'landing_date', 'line_number', 'rejection_reason', 'request_id',
    'occurred_at', 'provider', 'model_reported', 'client', 'team', 'user_id', 'workflow',
    'feature', 'task_type', 'session_id', 'prompt_version', 'environment', 'input_tokens',
    'cache_read_tokens', 'cache_write_tokens', 'cache_write_1h_tokens', 'output_tokens',
    'reasoning_tokens', 'service_tier', 'latency_ms', 'ttft_ms', 'status', 'error_type',
    'http_status', 'quality_score', 'passed_quality', 'reported_cost_usd',
] %}
{%- set sources = [
    (stg_events__usage_rows, 'events'),
    (stg_litellm__spend_logs_rows, 'litellm_spend_logs'),
    (stg_langfuse__observations_rows, 'langfuse_observations'),
] %}

with

{% for staging_rows, system in sources %}
    {{ system }} as (
        select *
        from (
            {{ staging_rows(landing_window_files(system, this if is_incremental() else none)) }}
        ) as staged
        {%- if is_incremental() %}
            where landing_date >= {{ landing_cutoff_date(this) }}
        {%- endif %}
    ),
{% endfor %}

unioned as (
    {%- for staging_rows, system in sources %}
        select
            '{{ system }}' as source_system,
            {%- for col in columns %}
                {{ col }},
            {%- endfor %}
            case when rejection_reason is not null then raw_line end as raw_line,
            case
                when rejection_reason is null then md5(provider || '|' || request_id)
            end as record_key,
            case when rejection_reason is null then {{ canonical_content_hash() }} end
                as content_hash
        from {{ system }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        md5(source_file || '|' || line_number) as landed_row_key,
        *
    from unioned
)

select * from final
