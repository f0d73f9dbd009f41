{#- Helpers shared by the staging models of the landed sources (issue: ingestion): the
    stored row's identity and verdict, token and model conventions, the rejection rules of
    the per-request sources and the content hash that tells re-deliveries apart. -#}

{#- The first columns of every staging model's stored row: the landed row's key (one per
    file and line: the staging primary key, read by fct_landed_rows and
    fct_rejected_events), where it was landed, its verdict, and its text when it is
    rejected (the quarantine shows it; an accepted row keeps its typed columns only). -#}
{% macro landed_row_columns() -%}
    md5(source_file || '|' || line_number) as landed_row_key,
    source_file,
    landing_date,
    line_number,
    case when rejection_reason is not null then raw_line end as raw_line,
    rejection_reason,
    {{ landed_file_columns() }}
{%- endmacro %}

{#- The first columns of a typed CTE over landed_json_lines (the JSON per-request sources):
    where the line came from, its text and its file's stamp, whether it is a JSON object
    (column `json`, null when it is not) and the error `aiusage ingest` recorded on it. -#}
{% macro landed_json_line_columns(json='j') -%}
    source_file,
    landing_date,
    line_number,
    raw_line,
    {{ landed_file_columns() }},
    {{ json }} is not null as is_json_object,
    {{ json_text(json, '$._ingest_error') }} as ingest_error
{%- endmacro %}

{#- The landed file's stamp on each of its rows (macro landed_files_to_read): its size, its
    modification time when it was read, the md5 of its content, and when it was loaded. A
    refresh re-reads a file only when its size or modification time differ from the stamp
    stored here; the models downstream re-read the landing days of the rows loaded since
    their own last run (macro landing_cutoff_date). -#}
{% macro landed_file_columns(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {{ prefix }}file_size,
    {{ prefix }}file_modified_at,
    {{ prefix }}file_content_hash,
    {{ prefix }}loaded_at
{%- endmacro %}

{#- The canonical event columns of a per-request staging row (events_contract.sql), with
    absent token and tool-call counts as 0: the rejection rules have already told an absent count from an
    invalid one. -#}
{% macro canonical_event_columns() -%}
    {%- for column in events_canonical_columns() %}
    {% if column in events_token_columns() + events_tool_count_columns() -%}
        coalesce({{ column }}, 0) as {{ column }}
    {%- else -%}
        {{ column }}
    {%- endif -%}
    {{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The pricing dimensions of the event contract (served tier, speed, inference geo,
    tool-call counts with their `_raw` text) as nulls, for a per-request source whose
    records carry none of them. -#}
{% macro unreported_pricing_dimensions() -%}
    cast(null as string) as service_tier_served,
    {%- for col in events_pricing_dimensions() %}
    cast(null as string) as {{ col }},
    {%- endfor %}
    {%- for col in events_tool_count_columns() %}
    cast(null as string) as {{ col }}_raw,
    cast(null as bigint) as {{ col }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- A token (or tool-call) count from its text: null when absent or not an integer, the
    integer otherwise; the staging model keeps the text (`_raw`) so that a non-integer
    becomes a rejection reason (`invalid_<count>`) instead of a silent zero or a rounded
    count. An integral value written with a fraction or an exponent (`12.0`, `1e3`: JSON
    Schema's "integer" accepts them) or as a string (`"12"`, CSV exports) is that integer;
    `12.7` is null (a cast to an integer type would round it to 13, on DuckDB as on Spark).
    Plain digits (every count of a normal file) are cast directly; any other text is read
    exactly as a decimal of 18 places (20 integer digits cover bigint), then kept only when
    it has no fraction and fits a bigint. The direct path matters: the exact one costs about
    0.4 us a value on DuckDB (5M counts: 2.1 s against 0.23 s), CPU seconds of a 1M full
    build's staging parse. -#}
{% macro token_value(text_expression, absent_as_zero=false) -%}
    {%- set exact = 'try_cast(' ~ text_expression ~ ' as decimal(38, 18))' -%}
    case
        {%- if absent_as_zero %}
        when {{ text_expression }} is null then cast(0 as bigint)
        {%- endif %}
        when {{ regex_matches(text_expression, '^-?[0-9]{1,18}$') }}
            then cast({{ text_expression }} as bigint)
        when {{ exact }} = floor({{ exact }}) then try_cast({{ exact }} as bigint)
    end
{%- endmacro %}

{#- A count a source may leave out (a usage bucket's cache counts): 0 when the text is
    absent, else token_value (null when it is not an integer, so the rule
    `invalid_<count>` still sees it: a coalesce to 0 would hide it). -#}
{% macro token_value_or_zero(text_expression) -%}
    {{ token_value(text_expression, absent_as_zero=true) }}
{%- endmacro %}

{#- Provider from a model id when the source carries none (Langfuse): a provider/ prefix
    wins, then the well-known model families. -#}
{% macro provider_from_model(model_expression) -%}
    {%- set model_lower = 'lower(' ~ model_expression ~ ')' -%}
    case
        when {{ model_expression }} like '%/%'
            then lower(split_part({{ model_expression }}, '/', 1))
        when {{ regex_matches(
            model_lower, '^(gpt-|o[1-9]|chatgpt-|text-embedding-|davinci|babbage|codex-)'
        ) }}
            then 'openai'
        when {{ model_lower }} like 'claude%' then 'anthropic'
        when {{ model_lower }} like 'gemini%' then 'google'
        when {{ model_lower }} like 'mistral%' or {{ model_lower }} like 'codestral%'
            then 'mistral'
        when {{ model_lower }} like 'command%' then 'cohere'
        when {{ model_lower }} like 'grok%' then 'xai'
        when {{ model_lower }} like 'deepseek%' then 'deepseek'
    end
{%- endmacro %}

{#- The model id without a provider/ prefix. -#}
{% macro model_without_provider(model_expression) -%}
    case
        when {{ model_expression }} like '%/%'
            then substr({{ model_expression }}, instr({{ model_expression }}, '/') + 1)
        else {{ model_expression }}
    end
{%- endmacro %}

{#- The rejection rules of every per-request source (canonical events, LiteLLM SpendLogs,
    Langfuse observations), after its own parsing rules: the `when` clauses of a case, in
    the order that decides which reason a row gets (its first problem). Expects the
    canonical columns in scope, `occurred_at_raw`, a `<count>_raw` text column per token
    and tool-call count and `quality_score_raw` (null where a source carries no quality score). -#}
{% macro request_rejection_rules() -%}
    when request_id is null then 'missing_request_id'
    when occurred_at_raw is null then 'missing_occurred_at'
    when occurred_at is null then 'invalid_occurred_at'
    when provider is null then 'missing_provider'
    when model_reported is null then 'missing_model'
    {%- for col in events_token_columns() %}
    when {{ col }}_raw is not null and {{ col }} is null then 'invalid_{{ col }}'
    when {{ col }} < 0 then 'negative_{{ col }}'
    {%- endfor %}
    when coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0)
        > coalesce(input_tokens, 0) then 'cached_tokens_exceed_input'
    when coalesce(cache_write_1h_tokens, 0) > coalesce(cache_write_tokens, 0)
        then 'cache_write_1h_exceeds_cache_write'
    when coalesce(reasoning_tokens, 0) > coalesce(output_tokens, 0)
        then 'reasoning_tokens_exceed_output'
    when status not in ('success', 'error', 'timeout', 'rate_limited', 'cancelled')
        then 'unknown_status'
    when service_tier not in ('standard', 'batch', 'flex', 'priority')
        then 'unknown_service_tier'
    when service_tier_served not in ('standard', 'batch', 'flex', 'priority')
        then 'unknown_service_tier_served'
    {%- for col in events_tool_count_columns() %}
    when {{ col }}_raw is not null and {{ col }} is null then 'invalid_{{ col }}'
    when {{ col }} < 0 then 'negative_{{ col }}'
    {%- endfor %}
    when quality_score_raw is not null and quality_score is null
        then 'invalid_quality_score'
    when quality_score < 0 or quality_score > 1 then 'quality_score_out_of_range'
    when latency_ms < 0 or ttft_ms < 0 then 'negative_latency'
    when billed_cost_usd_raw is not null and billed_cost_usd is null
        then 'invalid_billed_cost_usd'
    when billed_cost_usd < 0 then 'negative_billed_cost_usd'
    when occurred_at < timestamp '2020-01-01' then 'timestamp_before_2020'
    when occurred_at > {{ future_skew_limit() }} then 'timestamp_in_future'
{%- endmacro %}

{#- Hash of the canonical fields of a delivery: two copies of one request with different
    hashes are a conflict (the latest delivery is kept). -#}
{% macro canonical_content_hash() -%}
    {%- set fields = [
        'request_id', 'provider', 'model_reported', 'occurred_at', 'client', 'team',
        'user_id', 'workflow', 'feature', 'task_type', 'session_id', 'prompt_version',
        'environment', 'input_tokens', 'cache_read_tokens', 'cache_write_tokens',
        'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens', 'service_tier',
        'latency_ms', 'ttft_ms', 'status', 'error_type', 'http_status', 'quality_score',
        'passed_quality', 'reported_cost_usd', 'task_id',
    ] -%}
    {{ content_hash(
        fields, decimal_fields=['reported_cost_usd'], optional_fields=['billed_cost_usd'],
        optional_text_fields=['service_tier_served'] + events_pricing_dimensions(),
        optional_count_fields=events_tool_count_columns(),
    ) }}
{%- endmacro %}

{#- Hash of the fields of a task outcome record (stg_outcomes__task_outcomes): two copies
    of one task's outcome with different hashes are a conflict (the latest is kept). -#}
{% macro outcome_content_hash() -%}
    {{ content_hash(
        ['task_id', 'workflow', 'occurred_at', 'outcome', 'value_usd'],
        decimal_fields=['value_usd'],
    ) }}
{%- endmacro %}

{#- md5 of `fields` joined by '|', a null marked apart from any text; decimals as text
    without trailing zeros (macro decimal_as_text). Fields added to the contract later,
    `optional_fields` (decimals), `optional_text_fields` (as text) and
    `optional_count_fields` (counts, 0 = absent), enter the hash as name=value only when
    set: concat_ws skips a null, so
    the hash of a row without them is the hash it had before they existed. -#}
{% macro content_hash(
    fields, decimal_fields=[], optional_fields=[], optional_text_fields=[],
    optional_count_fields=[]
) -%}
    md5(concat_ws(
        '|'
        {%- for f in fields %},
        coalesce(
            {{ decimal_as_text(f) if f in decimal_fields else 'cast(' ~ f ~ ' as string)' }},
            {{ hash_null_marker(2) }}
        )
        {%- endfor %}
        {%- for f in optional_fields %},
        '{{ f }}=' || {{ decimal_as_text(f) }}
        {%- endfor %}
        {%- for f in optional_text_fields %},
        '{{ f }}=' || cast({{ f }} as string)
        {%- endfor %}
        {%- for f in optional_count_fields %},
        '{{ f }}=' || cast(nullif({{ f }}, 0) as string)
        {%- endfor %}
    ))
{%- endmacro %}

{#- The key of a request record: one per (provider, request_id). fct_llm_requests' request_key
    and the record_key of its landed rows (fct_landed_rows), which its delivery counts join
    on. `relation` qualifies the columns in a join. -#}
{% macro request_record_key(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    md5({{ prefix }}provider || '|' || {{ prefix }}request_id)
{%- endmacro %}

{#- Whether the non-null values of `expression` in a group are not all the same: what
    `count(distinct expression) > 1` says, from a min and a max, in the same aggregate as
    the group's other columns (a distinct count is a second aggregation over every
    (group, value) pair: 11 s against 8 s for the 10M landed rows' delivery counts). -#}
{% macro has_more_than_one_value(expression) -%}
    coalesce(min({{ expression }}) <> max({{ expression }}), false)
{%- endmacro %}

{#- Delivery counts of the records in `records` (a CTE with one row per record, its key in
    column `key`): how many accepted landed rows of `source_systems` describe each record,
    over every landing day (`landed_rows` is fct_landed_rows), and whether they carry more
    than one content (is_conflicting). The semi-join keeps the aggregate proportional to
    the records of the refresh, not to the history. Pass the narrowest CTE that has the
    keys: a CTE that the model reads again (with_delivery_counts) is materialised by DuckDB,
    in memory. A build from nothing (not is_incremental) counts every record, without the semi-join: its
    records are all of them, and at 10M events the materialised keys and the semi-join's
    hash table took the memory the build's joins needed.
    In a refresh the accepted-row and source conditions are inside the aggregates (and the
    records without such a row are dropped by `having`), not in the where clause: with
    them in the where clause DuckDB estimated the filtered history smaller than the
    refresh's keys and built the semi-join's hash table on the history (10M landed rows:
    2.6 s against 0.3 s, same rows). The refresh's rows are found by key alone (macro
    landed_rows_with_keys: their landing days from fct_landed_rows' record-day index,
    then the keys on those days, then the rows by row id; filtering the scan that reads the
    four columns decoded all four for every landed row, 10M landed rows: 0.76 s against
    0.3 s). -#}
{% macro delivery_counts(landed_rows, records, key, source_systems) -%}
    {%- set counted -%}
        is_accepted and source_system in ('{{ source_systems | join("', '") }}')
    {%- endset -%}
    {%- if is_incremental() %}
    select
        record_key,
        count(case when {{ counted }} then 1 end) as delivery_count,
        {{ has_more_than_one_value('case when ' ~ counted ~ ' then content_hash end') }}
            as is_conflicting
    from {{ landed_rows }}
    where {{ landed_rows_with_keys(landed_rows, records, key) }}
    group by record_key
    having count(case when {{ counted }} then 1 end) > 0
    {%- else %}
    select
        record_key,
        count(*) as delivery_count,
        {{ has_more_than_one_value('content_hash') }} as is_conflicting
    from {{ landed_rows }}
    where {{ counted }}
    group by record_key
    {%- endif %}
{%- endmacro %}

{#- Every landed row of `landed_rows` (fct_landed_rows) that describes a record of `records`
    (a CTE with columns record_kind and record_key), with the record's kind; `record_kind`
    is the SQL of a landed row's kind over its column source_system. The rows are found by
    key alone (macro landed_rows_with_keys). -#}
{% macro deliveries_of_records(landed_rows, records, record_kind) -%}
    select
        landed.*,
        {{ records }}.record_kind
    from {{ landed_rows }} as landed
    inner join {{ records }}
        on
            landed.record_key = {{ records }}.record_key
            and ({{ record_kind | replace('source_system', 'landed.source_system') }})
            = {{ records }}.record_kind
    where {{ landed_rows_with_keys(landed_rows, records, 'record_key', 'landed') }}
{%- endmacro %}

{#- The records of `records` (a CTE, its key in column `key`) with delivery_count and
    is_conflicting (copies with more than one content), from `deliveries` (a CTE of macro
    delivery_counts over the same records). -#}
{% macro with_delivery_counts(records, key, deliveries='deliveries') -%}
    select
        {{ records }}.*,
        {{ deliveries }}.delivery_count,
        {{ deliveries }}.is_conflicting
    from {{ records }}
    left join {{ deliveries }} on {{ records }}.{{ key }} = {{ deliveries }}.record_key
{%- endmacro %}
