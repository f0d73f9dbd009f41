{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy(),
        partition_by=incremental_partition_by('landing_date'),
        unique_key='rejected_event_key',
        on_schema_change='fail',
    )
}}

-- Quarantine: every landed row of every source that could not be used, with where it came
-- from (file, line or row number) and why.

with

rejected as (
    select * from {{ ref('int_landed_rows_unioned') }}
    where rejection_reason is not null and {{ in_landing_window() }}
),

final as (
    select
        cast(landed_row_key as string) as rejected_event_key,
        cast(source_system as string) as source_system,
        cast(source_file as string) as source_file,
        cast(landing_date as date) as landing_date,
        cast(line_number as bigint) as line_number,
        cast(rejection_reason as string) as rejection_reason,
        cast(request_id as string) as request_id,
        cast(raw_line as string) as raw_line
    from rejected
)

select * from final
