-- Accepted per-request events of every per-request source, in canonical columns.
-- Deduplication happens in fct_llm_requests (per refresh batch and by unique key), so
-- that filters on landing_date push down to the landed-file scans through this view.

with

events as (
    select * from {{ ref('stg_events__usage') }}
    where rejection_reason is null
),

unioned as (
    select
        'events' as source_system,
        source_file,
        landing_date,
        line_number,
        request_id,
        occurred_at,
        provider,
        model_reported,
        client,
        team,
        user_id,
        workflow,
        feature,
        task_type,
        session_id,
        prompt_version,
        environment,
        input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cache_write_1h_tokens,
        output_tokens,
        reasoning_tokens,
        service_tier,
        latency_ms,
        ttft_ms,
        status,
        error_type,
        http_status,
        quality_score,
        passed_quality,
        reported_cost_usd
    from events
)

select * from unioned
