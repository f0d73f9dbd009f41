{#- publish_by_rewritten_days: a refresh replaces whole landing days from its cutoff and
    writes no older row, so publish fingerprints only those days (aiusage.snapshot). -#}
{#- post_hook: the record-day index of the refresh's delivery lookups, replaced on the days
    the run rewrote (macros/engine/lookup.sql). -#}
{{ config(
    meta={'publish_by_rewritten_days': true},
    post_hook='{{ index_landed_record_days() }}',
    **incremental_by_day('landing_date')
) }}

-- One row per landed row of every source (a line of a JSONL file, a result of a usage
-- page): the record it describes and its content hash, or why it was rejected.
-- Incremental: each refresh replaces the landing days of the staging rows loaded since its
-- last run (macro landing_cutoff_date), so it holds every delivery ever landed; row
-- accounting and delivery counts are computed from it.

with

landed as (
    select * from {{ ref('int_landed_rows_unioned') }}
    where {{ in_landing_window() }}
),

final as (
    select
        cast(landed_row_key as string) as landed_row_key,
        cast(source_system as string) as source_system,
        cast(source_file as string) as source_file,
        cast(landing_date as date) as landing_date,
        cast(line_number as bigint) as line_number,
        cast(record_key as string) as record_key,
        cast(content_hash as string) as content_hash,
        cast(rejection_reason as string) as rejection_reason,
        cast(rejection_reason is null as boolean) as is_accepted
    from landed
)

select * from final
