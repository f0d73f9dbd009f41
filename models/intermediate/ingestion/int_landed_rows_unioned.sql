-- Every landed row (line of a JSONL file, result of a usage page) of every source, with
-- its verdict: the key of the record it describes (request, usage bucket or task outcome),
-- the hash of its canonical content, or the rejection reason. The basis of row accounting
-- (landed = accepted + duplicates + rejected) and of the quarantine.

with

request_rows as (
    select * from {{ ref('int_request_rows_unioned') }}
),

report_rows as (
    select * from {{ ref('int_usage_report_rows_unioned') }}
),

outcome_rows as (
    select * from {{ ref('stg_outcomes__task_outcomes') }}
),

landed_requests as (
    select
        source_system,
        landed_row_key,
        source_file,
        landing_date,
        line_number,
        raw_line,
        rejection_reason,
        request_id,
        case
            when rejection_reason is null then {{ request_record_key() }}
        end as record_key,
        case when rejection_reason is null then {{ canonical_content_hash() }} end
            as content_hash
    from request_rows
),

landed_reports as (
    select
        source_system,
        landed_row_key,
        source_file,
        landing_date,
        line_number,
        raw_line,
        rejection_reason,
        cast(null as string) as request_id,
        usage_key as record_key,
        content_hash
    from report_rows
),

landed_outcomes as (
    select
        'outcomes' as source_system,
        landed_row_key,
        source_file,
        landing_date,
        line_number,
        raw_line,
        rejection_reason,
        cast(null as string) as request_id,
        case when rejection_reason is null then md5(task_id) end as record_key,
        case when rejection_reason is null then {{ outcome_content_hash() }} end
            as content_hash
    from outcome_rows
),

final as (
    select * from landed_requests
    union all
    select * from landed_reports
    union all
    select * from landed_outcomes
)

select * from final
