{{ config(**incremental_by_file()) }}

-- One row per non-blank line of every landed task outcome file (contract task_outcome.v1
-- of packages/aiusage-tracking: task_id, workflow, occurred_at, outcome, value_usd), typed
-- and judged: rejection_reason is null for a usable record and names the first problem
-- otherwise. Nothing is dropped: accepted rows become fct_task_outcomes, the rest
-- fct_rejected_events, and every row is counted in rpt_landing_accounting.
-- A table, incremental by landed file like stg_events__usage_events: each file is parsed
-- once (macro landed_files_to_read) and a changed file's rows are replaced; the raw line
-- is kept for rejected rows only.

with

source as (
    select * from {{ landed_files_to_read(source('outcomes', 'task_outcomes')) }}
),

parsed as (
    {{ landed_json_lines('source') }}
),

typed as (
    select
        source_file,
        landing_date,
        line_number,
        raw_line,
        {{ landed_file_columns() }},
        j is not null as is_json_object,
        {{ json_text('j', '$._ingest_error') }} as ingest_error,
        nullif(trim({{ json_text('j', '$.task_id') }}), '') as task_id,
        nullif(trim({{ json_text('j', '$.workflow') }}), '') as workflow,
        nullif({{ json_text('j', '$.occurred_at') }}, '') as occurred_at_raw,
        {{ try_to_utc_timestamp(json_text('j', '$.occurred_at')) }} as occurred_at,
        lower(nullif(trim({{ json_text('j', '$.outcome') }}), '')) as outcome,
        nullif({{ json_text('j', '$.value_usd') }}, '') as value_usd_raw,
        try_cast({{ json_text('j', '$.value_usd') }} as decimal(38, 12)) as value_usd
    from parsed
),

judged as (
    select
        *,
        case
            when not is_json_object then 'malformed_json'
            when ingest_error is not null then ingest_error
            when task_id is null then 'missing_task_id'
            when workflow is null then 'missing_workflow'
            when occurred_at_raw is null then 'missing_occurred_at'
            when occurred_at is null then 'invalid_occurred_at'
            when outcome is null then 'missing_outcome'
            when outcome not in ('success', 'failure') then 'unknown_outcome'
            when value_usd_raw is not null and value_usd is null then 'invalid_value_usd'
            when value_usd < 0 then 'negative_value_usd'
            when occurred_at < timestamp '2020-01-01' then 'timestamp_before_2020'
            when occurred_at > {{ future_skew_limit() }} then 'timestamp_in_future'
        end as rejection_reason
    from typed
),

renamed as (
    select
        {{ landed_row_columns() }},
        task_id,
        workflow,
        occurred_at,
        outcome,
        value_usd
    from judged
)

select * from renamed
