{{ config(**incremental_by_file()) }}

-- One row per non-blank line of every landed canonical events file. Lines are parsed here
-- (JSON -> typed canonical columns) and judged: rejection_reason is null for a usable event
-- and names the first problem otherwise (macro request_rejection_rules). Nothing is
-- dropped: downstream, accepted rows become requests and the rest fct_rejected_events.
-- A table, incremental by landed file: parsing the landed JSON is the costliest step of a
-- refresh, so each file is parsed once, ever. A refresh reads only the files it has not
-- read as they are now (macro landed_files_to_read compares each file's size and
-- modification time with the stamp stored on its rows) and replaces the rows of those
-- files. Requests, landed rows and the quarantine read the stored rows. Stored: the canonical
-- columns, and the raw line of rejected rows only; the event's free-form metadata stays in
-- the landed file (no model reads it).

with

source as (
    select * from {{ landed_files_to_read(source('events', 'usage')) }}
),

lines as (
    {{ landed_lines('source') }}
),

parsed as (
    select
        *,
        {{ is_json_object('raw_line') }} as is_json_object,
        case
            when {{ is_json_object('raw_line') }}
                then {{ parse_event_record('raw_line') }}
        end as j
    from lines
),

typed as (
    select
        source_file,
        landing_date,
        line_number,
        raw_line,
        {{ landed_file_columns() }},
        is_json_object,
        j['_ingest_error'] as ingest_error,
        nullif(trim(j['request_id']), '') as request_id,
        j['occurred_at'] as occurred_at_raw,
        {{ try_to_utc_timestamp("j['occurred_at']") }} as occurred_at,
        lower(nullif(trim(j['provider']), '')) as provider,
        nullif(trim(j['model']), '') as model_reported,
        nullif(j['client'], '') as client,
        nullif(j['team'], '') as team,
        nullif(j['user_id'], '') as user_id,
        nullif(j['workflow'], '') as workflow,
        nullif(j['feature'], '') as feature,
        lower(nullif(j['task_type'], '')) as task_type,
        nullif(j['session_id'], '') as session_id,
        nullif(j['prompt_version'], '') as prompt_version,
        nullif(j['environment'], '') as environment,
        {%- for col in events_token_columns() %}
            j['{{ col }}'] as {{ col }}_raw,
            {{ token_value("j['" ~ col ~ "']") }} as {{ col }},
        {%- endfor %}
        lower(coalesce(nullif(j['service_tier'], ''), 'standard')) as service_tier,
        try_cast(j['latency_ms'] as bigint) as latency_ms,
        try_cast(j['ttft_ms'] as bigint) as ttft_ms,
        lower(coalesce(nullif(j['status'], ''), 'success')) as status,
        nullif(j['error_type'], '') as error_type,
        try_cast(j['http_status'] as integer) as http_status,
        j['quality_score'] as quality_score_raw,
        try_cast(j['quality_score'] as double) as quality_score,
        try_cast(j['passed_quality'] as boolean) as passed_quality,
        try_cast(j['reported_cost_usd'] as decimal(38, 12)) as reported_cost_usd,
        j['billed_cost_usd'] as billed_cost_usd_raw,
        try_cast(j['billed_cost_usd'] as decimal(38, 12)) as billed_cost_usd,
        lower(nullif(trim(j['service_tier_served']), '')) as service_tier_served,
        {%- for col in events_pricing_dimensions() %}
            lower(nullif(trim(j['{{ col }}']), '')) as {{ col }},
        {%- endfor %}
        {%- for col in events_tool_count_columns() %}
            j['{{ col }}'] as {{ col }}_raw,
            {{ token_value("j['" ~ col ~ "']") }} as {{ col }},
        {%- endfor %}
        nullif(trim(j['task_id']), '') as task_id,
        false as is_proxy_cache_hit
    from parsed
),

judged as (
    select
        *,
        case
            when not is_json_object then 'malformed_json'
            when ingest_error is not null then ingest_error
            {{ request_rejection_rules() }}
        end as rejection_reason
    from typed
),

renamed as (
    select
        {{ landed_row_columns() }},
        {{ canonical_event_columns() }}
    from judged
)

select * from renamed
