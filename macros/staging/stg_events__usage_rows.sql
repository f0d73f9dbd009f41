{#- The SQL of the staging view stg_events__usage, over `landed_files` (a read_text relation of
    landing/events files): the view passes every landed file, int_request_rows_parsed
    the files of its refresh window (landing_window_files). -#}
{% macro stg_events__usage_rows(landed_files) -%}
-- One row per non-blank line of every landed canonical events file.
-- Lines are parsed here (JSON -> typed columns) and judged: `rejection_reason` is null for
-- a usable event and names the first problem otherwise. Nothing is dropped: downstream,
-- accepted rows become requests and the rest become fct_rejected_events.

with

source as (
    select * from {{ landed_files }}
),

lines as (
    {{ landed_lines('source') }}
),

non_blank as (
    select
        source_file,
        landing_date,
        line_number,
        {{ strip_carriage_return('raw_line') }} as raw_line
    from lines
    where {{ is_content_line('raw_line') }}
),

parsed as (
    select
        *,
        {{ is_json_object('raw_line') }} as is_json_object,
        case
            when {{ is_json_object('raw_line') }}
                then {{ parse_event_record('raw_line') }}
        end as j
    from non_blank
),

typed as (
    select
        source_file,
        landing_date,
        line_number,
        raw_line,
        is_json_object,
        case when is_json_object then {{ json_text('raw_line', '$._ingest_error') }} end
            as ingest_error,
        nullif(trim(j.request_id), '') as request_id,
        j.occurred_at as occurred_at_raw,
        {{ try_to_utc_timestamp('j.occurred_at') }} as occurred_at,
        lower(nullif(trim(j.provider), '')) as provider,
        nullif(trim(j.model), '') as model_reported,
        nullif(j.client, '') as client,
        nullif(j.team, '') as team,
        nullif(j.user_id, '') as user_id,
        nullif(j.workflow, '') as workflow,
        nullif(j.feature, '') as feature,
        lower(nullif(j.task_type, '')) as task_type,
        nullif(j.session_id, '') as session_id,
        nullif(j.prompt_version, '') as prompt_version,
        nullif(j.environment, '') as environment,
        {%- for col in events_token_columns() %}
            j.{{ col }} as {{ col }}_raw,
            try_cast(j.{{ col }} as bigint) as {{ col }},
        {%- endfor %}
        lower(coalesce(nullif(j.service_tier, ''), 'standard')) as service_tier,
        try_cast(j.latency_ms as bigint) as latency_ms,
        try_cast(j.ttft_ms as bigint) as ttft_ms,
        lower(coalesce(nullif(j.status, ''), 'success')) as status,
        nullif(j.error_type, '') as error_type,
        try_cast(j.http_status as integer) as http_status,
        j.quality_score as quality_score_raw,
        try_cast(j.quality_score as double) as quality_score,
        try_cast(j.passed_quality as boolean) as passed_quality,
        try_cast(j.reported_cost_usd as decimal(38, 12)) as reported_cost_usd,
        j.metadata as metadata
    from parsed
),

judged as (
    select
        *,
        case
            when not is_json_object then 'malformed_json'
            when ingest_error is not null then ingest_error
            when request_id is null then 'missing_request_id'
            when occurred_at_raw is null then 'missing_occurred_at'
            when occurred_at is null then 'invalid_occurred_at'
            when provider is null then 'missing_provider'
            when model_reported is null then 'missing_model'
            {%- for col in events_token_columns() %}
                when {{ col }}_raw is not null and {{ col }} is null then 'invalid_{{ col }}'
                when {{ col }} < 0 then 'negative_{{ col }}'
            {%- endfor %}
            when
                coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0)
                > coalesce(input_tokens, 0) then 'cached_tokens_exceed_input'
            when coalesce(cache_write_1h_tokens, 0) > coalesce(cache_write_tokens, 0)
                then 'cache_write_1h_exceeds_cache_write'
            when coalesce(reasoning_tokens, 0) > coalesce(output_tokens, 0)
                then 'reasoning_tokens_exceed_output'
            when status not in ('success', 'error', 'timeout', 'rate_limited', 'cancelled')
                then 'unknown_status'
            when service_tier not in ('standard', 'batch', 'flex', 'priority')
                then 'unknown_service_tier'
            when quality_score_raw is not null and quality_score is null
                then 'invalid_quality_score'
            when quality_score < 0 or quality_score > 1 then 'quality_score_out_of_range'
            when latency_ms < 0 or ttft_ms < 0 then 'negative_latency'
            when occurred_at < timestamp '2020-01-01' then 'timestamp_before_2020'
            when
                occurred_at > {{ future_skew_limit() }} then 'timestamp_in_future'
        end as rejection_reason
    from typed
),

renamed as (
    select
        source_file,
        landing_date,
        line_number,
        raw_line,
        rejection_reason,
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
        coalesce(input_tokens, 0) as input_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(cache_write_1h_tokens, 0) as cache_write_1h_tokens,
        coalesce(output_tokens, 0) as output_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        service_tier,
        latency_ms,
        ttft_ms,
        status,
        error_type,
        http_status,
        quality_score,
        passed_quality,
        reported_cost_usd,
        metadata
    from judged
)

select * from renamed
{%- endmacro %}
