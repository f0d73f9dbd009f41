-- Accepted rows of every per-request source (canonical events, LiteLLM SpendLogs, Langfuse
-- generations), in canonical columns: one row per accepted landed line. Not deduplicated:
-- fct_llm_requests deduplicates on (provider, request_id), so that its filter on
-- landing_date pushes down through this view to the stored staging rows.

with

request_rows as (
    select * from {{ ref('int_request_rows_unioned') }}
),

final as (
    select
        source_system,
        landed_row_key,
        source_file,
        landing_date,
        line_number,
        {{ events_canonical_columns() | join(',\n        ') }}
    from request_rows
    where rejection_reason is null
)

select * from final
