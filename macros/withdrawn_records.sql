{#- Records that a refresh withdraws from the facts merged by key (DuckDB): fct_llm_requests
    (request_key), fct_provider_usage (usage_key) and fct_task_outcomes (task_outcome_key).

    A refresh of such a fact merges the records of its landing window by key (delete+insert
    on the key). A landed file changed in place (re-read, its older rows replaced in staging
    and in fct_landed_rows) may no longer hold a record whose latest delivery it was: the
    window has no row of that key, so the merge alone would leave the old row in the fact,
    counted in every mart, though a build from nothing on the same landing would not have
    it. Such a record is withdrawn: its row leaves the fact and, if an older landing day
    (before the window) delivered it too, the latest of those older deliveries takes its
    place (the model reads them, macro withdrawn_record_keys); else the record is gone.

    The table `<fact>__withdrawn` beside each fact logs what its refreshes withdrew: the dbt
    invocation, the record's key, the landing day of the withdrawn row and the landing day
    of the record's latest older delivery, the row the model puts back (older_landing_date;
    null when there is none). The fact's landing-day watermark (macro
    record_landing_watermark) then logs the first landing day its run rewrote as the
    earliest of those days, so that publish fingerprints the day a row came
    back to and the tests of the refreshed days check it (macro withdrawal_rewritten_from).

    The request fact's log (macro withdraw_requests_no_longer_landed) also names the usage
    days the refresh took requests from: a withdrawn row's, those of the request's older
    deliveries, and the usage day a request re-delivered under another usage day (another
    occurred_at) moved from (is_withdrawn false): the merge replaces its row, and the day it
    leaves is named by no row any more. The models by usage day recompute those days (macro
    usage_days_loaded_since). The provider usage and task outcome facts feed only marts
    rebuilt whole: their logs name no day.

    Like the record-day index, a log is the fact's own table, not a model; publish leaves it
    out. Spark rebuilds these facts whole (it never keeps a withdrawn row): nothing to log
    there. -#}
{% macro withdrawn_records_relation(fact) -%}
    {{ return(side_table(fact, 'withdrawn')) }}
{%- endmacro %}

{#- The log of `fact` as dbt's relation cache knows it, or none when it does not exist (a
    fact never refreshed, or Spark). -#}
{% macro existing_withdrawal_log(fact) -%}
    {%- set log = withdrawn_records_relation(fact) -%}
    {{ return(adapter.get_relation(log.database, log.schema, log.identifier)) }}
{%- endmacro %}

{#- Creates the withdrawal log `log` if it does not exist (columns: the invocation,
    `key_columns` (SQL column definitions), landing_date, `extra_columns`,
    older_landing_date; a request log from before older_landing_date gets the column) and
    adds it to dbt's relation cache, where the models after the fact in this run look it
    up. -#}
{% macro create_withdrawal_log(log, key_columns, extra_columns='') -%}
    {%- do adapter.cache_added(log.incorporate(type='table')) -%}
    create table if not exists {{ log }} (
        invocation_id varchar,
        {{ key_columns }},
        landing_date date,
        {%- if extra_columns %}
        {{ extra_columns }},
        {%- endif %}
        older_landing_date date
    );
    alter table {{ log }} add column if not exists older_landing_date date
{%- endmacro %}

{#- The pre-hook of fct_provider_usage and fct_task_outcomes, before the refresh merges its
    window (the landing days from the cutoff of macro landing_cutoff_date): a row of the
    fact on those days whose record (column `key`) no accepted row of those days delivers
    any more is logged, with the landing day of its latest older delivery, and deleted.
    `deliveries` is the SQL of a relation of every accepted delivery of the fact's records
    (columns record_key, landing_date; every landing day): a view over staging, current
    whatever dbt selected. Nothing in a build from nothing. -#}
{% macro withdraw_records_no_longer_landed(key, deliveries) -%}
    {{ return(adapter.dispatch('withdraw_records_no_longer_landed', 'aiusage')(key, deliveries)) }}
{%- endmacro %}

{% macro default__withdraw_records_no_longer_landed(key, deliveries) -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set log = withdrawn_records_relation(this) -%}
    {%- set cutoff = landing_cutoff_date(this) -%}
    {{ create_withdrawal_log(log, 'record_key varchar') }};
    {#- the deliveries read twice, each filtered by landing day (a CTE read twice would be
        materialised whole, every landing day hashed) -#}
    insert into {{ log }} (invocation_id, record_key, landing_date, older_landing_date)
    with
    withdrawn as (
        select stored.{{ key }} as record_key, stored.landing_date
        from {{ this }} as stored
        where
            stored.landing_date >= {{ cutoff }}
            and not exists (
                select 1 from ({{ deliveries }}) as delivered
                where
                    delivered.record_key = stored.{{ key }}
                    and delivered.landing_date >= {{ cutoff }}
            )
    )
    select
        '{{ invocation_id }}',
        withdrawn.record_key,
        withdrawn.landing_date,
        max(older.landing_date)
    from withdrawn
    left join ({{ deliveries }}) as older
        on older.record_key = withdrawn.record_key and older.landing_date < {{ cutoff }}
    group by withdrawn.record_key, withdrawn.landing_date;
    delete from {{ this }}
    where {{ key }} in (
        select record_key from {{ log }} where invocation_id = '{{ invocation_id }}'
    )
{%- endmacro %}

{% macro spark__withdraw_records_no_longer_landed(key, deliveries) -%}
{%- endmacro %}

{#- SQL: every accepted delivery of a provider usage bucket (record_key: usage_key), for
    fct_provider_usage's pre-hook (its model declares the dependency). -#}
{% macro provider_usage_deliveries() -%}
    {{ return(
        "select usage_key as record_key, landing_date from "
        ~ ref('int_usage_report_rows_unioned') ~ " where rejection_reason is null"
    ) }}
{%- endmacro %}

{#- SQL: every accepted delivery of a task outcome (record_key: task_outcome_key,
    md5(task_id)), for fct_task_outcomes' pre-hook. -#}
{% macro task_outcome_deliveries() -%}
    {{ return(
        "select md5(task_id) as record_key, landing_date from "
        ~ ref('stg_outcomes__task_outcomes') ~ " where rejection_reason is null"
    ) }}
{%- endmacro %}

{#- SQL: the keys (column record_key) this refresh withdrew from the fact (macro
    withdraw_records_no_longer_landed, its pre-hook), whose older deliveries the model reads
    again; the model calls it in a refresh only. -#}
{% macro withdrawn_record_keys() -%}
    {{ return(
        "(select distinct record_key from " ~ withdrawn_records_relation(this)
        ~ " where invocation_id = '" ~ invocation_id ~ "')"
    ) }}
{%- endmacro %}

{#- SQL, in the CTE of a fact's deduplicated rows: `union all` the fact's CTE
    withdrawn_older_deliveries (the latest older delivery of each record its pre-hook
    withdrew) in a refresh; nothing in a build from nothing. The caller strips the
    whitespace before it (`{{- ... }}`). -#}
{% macro union_withdrawn_older_deliveries() -%}
    {%- if is_incremental() %}
    union all
    select * from withdrawn_older_deliveries
    {%- endif %}
{%- endmacro %}

{#- SQL: the first landing day the current run of an incremental model rewrote, from
    `cutoff` (SQL: the window's first day; null: every day): the window's first day, or an
    older day to which a withdrawn record's older delivery came back (its log's
    older_landing_date of this invocation). `cutoff` itself for a model without a log in
    dbt's relation cache (its pre-hook creates the log in a refresh and adds it there). -#}
{% macro withdrawal_rewritten_from(cutoff) -%}
    {%- set log = existing_withdrawal_log(this) -%}
    {%- if log is none -%}{{ return(cutoff) }}{%- endif -%}
    {{ return(
        "case when " ~ cutoff ~ " is null then null else least(" ~ cutoff
        ~ ", (select min(older_landing_date) from " ~ log
        ~ " where invocation_id = '" ~ invocation_id ~ "')) end"
    ) }}
{%- endmacro %}

{#- The pre-hook of fct_llm_requests, before the refresh merges its window (the landing days
    from the cutoff of macro landing_cutoff_date):
    - withdrawn: a row of the fact on those days whose request no accepted row of those
      days delivers any more is logged (with the usage days of the request's older
      deliveries and the landing day of the latest, which the model puts back) and
      deleted;
    - moved: a stored row of a request the window delivers again under another usage day
      (its latest delivery in the window has another occurred_at day) has its stored usage
      day logged: the merge replaces the row, and the day it leaves must be recomputed by
      the models by usage day though no row names it any more.
    The stored rows are read from the first landing day holding a delivery of one of the
    window's requests (fct_landed_rows' record-day index, macro landed_record_days_relation;
    inlined, so that the fact's landing_date zone maps skip older row groups): a new day of
    new requests reads no stored row before its own day. The same first day bounds the
    merge's delete (macro merge_from_first_stored_day: the pre-hook leaves it in a DuckDB
    variable of the model's connection). Nothing in a build from nothing. -#}
{% macro withdraw_requests_no_longer_landed() -%}
    {{ return(adapter.dispatch('withdraw_requests_no_longer_landed', 'aiusage')()) }}
{%- endmacro %}

{% macro default__withdraw_requests_no_longer_landed() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set log = withdrawn_records_relation(this) -%}
    {%- set cutoff = landing_cutoff_date(this) -%}
    {%- set events = ref('int_usage_events_unioned') -%}
    {%- set first_day_query -%}
        select cast(least({{ cutoff }}, min(record_days.landing_date)) as string)
        from {{ landed_record_days_relation(ref('fct_landed_rows')) }} as record_days
        where record_days.record_key_prefix in (
            select {{ record_key_prefix(request_record_key()) }}
            from {{ events }}
            where landing_date >= {{ cutoff }}
        )
    {%- endset -%}
    {%- set first_day = run_query(first_day_query).columns[0].values()[0] -%}
    set variable {{ first_stored_day_variable() }} = date '{{ first_day }}';
    {{ create_withdrawal_log(
        log,
        'request_key varchar, provider varchar, request_id varchar',
        'usage_date date, is_withdrawn boolean'
    ) }};
    insert into {{ log }} (
        invocation_id, request_key, provider, request_id, landing_date, usage_date,
        is_withdrawn, older_landing_date
    )
    with
    stored as (
        select request_key, provider, request_id, landing_date, usage_date
        from {{ this }}
        where landing_date >= date '{{ first_day }}'
    ),
    latest as (
        select
            {{ request_record_key() }} as request_key,
            max(landing_date) as landing_date,
            {{ latest_delivery_value(to_reporting_date('occurred_at')) }} as usage_date
        from {{ events }}
        where landing_date >= {{ cutoff }}
        group by provider, request_id
    ),
    withdrawn as (
        select stored.*
        from stored
        where
            stored.landing_date >= {{ cutoff }}
            and not exists (
                select 1 from latest where latest.request_key = stored.request_key
            )
    )
    select
        '{{ invocation_id }}',
        request_key,
        provider,
        request_id,
        landing_date,
        usage_date,
        true,
        null
    from withdrawn
    union
    select
        '{{ invocation_id }}',
        withdrawn.request_key,
        withdrawn.provider,
        withdrawn.request_id,
        withdrawn.landing_date,
        {{ to_reporting_date('older.occurred_at') }},
        true,
        max(older.landing_date) over (partition by withdrawn.request_key)
    from withdrawn
    inner join {{ events }} as older
        on withdrawn.provider = older.provider and withdrawn.request_id = older.request_id
    where older.landing_date < {{ cutoff }}
    union
    select
        '{{ invocation_id }}',
        stored.request_key,
        stored.provider,
        stored.request_id,
        latest.landing_date,
        stored.usage_date,
        false,
        null
    from stored
    inner join latest on stored.request_key = latest.request_key
    where stored.usage_date <> latest.usage_date;
    delete from {{ this }}
    where request_key in (
        select request_key from {{ log }}
        where invocation_id = '{{ invocation_id }}' and is_withdrawn
    )
{%- endmacro %}

{% macro spark__withdraw_requests_no_longer_landed() -%}
{%- endmacro %}

{#- The DuckDB variable (on the model's connection) in which the pre-hook of fct_llm_requests
    (macro withdraw_requests_no_longer_landed) leaves the first landing day holding a
    delivery of one of the window's requests: no stored row of a request the refresh merges
    lies before it (a stored row is one of its request's deliveries, all in fct_landed_rows'
    record-day index; a withdrawn request's row is deleted by the pre-hook itself). -#}
{% macro first_stored_day_variable() -%}
    {{ return('aiusage_first_stored_landing_day') }}
{%- endmacro %}

{#- The incremental_predicates of fct_llm_requests: its merge deletes the stored rows of the
    keys it inserts from that first landing day on (macro first_stored_day_variable), so the
    landing_date zone maps skip the older row groups instead of every stored key being
    compared (10M requests: 0.26-0.58 s a new day, docs/performance.md, fortieth round).
    Unset (no pre-hook ran on the connection), the whole table. None on Spark, where the
    model is rebuilt as a table. -#}
{% macro merge_from_first_stored_day() -%}
    {{ return(adapter.dispatch('merge_from_first_stored_day', 'aiusage')()) }}
{%- endmacro %}

{% macro default__merge_from_first_stored_day() -%}
    {{ return([
        "landing_date >= coalesce(getvariable('" ~ first_stored_day_variable()
        ~ "'), date '0001-01-01')"
    ]) }}
{%- endmacro %}

{% macro spark__merge_from_first_stored_day() -%}
    {{ return([]) }}
{%- endmacro %}

{#- SQL: a relation of the keys (request_key, provider, request_id) this refresh withdrew
    from the request fact (macro withdraw_requests_no_longer_landed, its pre-hook), whose
    older deliveries the model reads again; the model calls it in a refresh only. -#}
{% macro withdrawn_request_keys() -%}
    {{ return(
        "(select distinct request_key, provider, request_id from "
        ~ withdrawn_records_relation(this)
        ~ " where invocation_id = '" ~ invocation_id ~ "' and is_withdrawn)"
    ) }}
{%- endmacro %}

{#- SQL: the usage days (`cast(usage_date as string)`) that requests withdrawn from the
    request fact `fact`, or moved to another usage day, left on the landing days from
    `cutoff` on, or none when the fact has no log (a warehouse whose fact was never
    refreshed, or Spark). -#}
{% macro withdrawn_usage_days_query(fact, cutoff) -%}
    {%- set log = existing_withdrawal_log(fact) -%}
    {%- if log is none -%}{{ return(none) }}{%- endif -%}
    {{ return(
        "select cast(usage_date as string) from " ~ log ~ " where landing_date >= " ~ cutoff
    ) }}
{%- endmacro %}

{#- The post-hook of a model incremental by usage day (macro incremental_by_day): delete its
    rows of the usage days its run refreshed (macro tested_usage_window: the project's
    watermark post-hook has logged the run's cutoff) on which the request fact has no
    request any more. A merge by day replaces only the days its new rows name, and a day
    whose requests were all withdrawn or moved (macro withdraw_requests_no_longer_landed)
    names none. It reads the fact only when the log holds a request of the landing days
    the run re-read (one count on that small table otherwise; nothing when it does not
    exist), nothing in a build from nothing, nor on Spark (it never withdraws a request). -#}
{% macro remove_usage_days_without_requests() -%}
    {{ return(adapter.dispatch('remove_usage_days_without_requests', 'aiusage')()) }}
{%- endmacro %}

{% macro default__remove_usage_days_without_requests() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set fact = ref('fct_llm_requests') -%}
    {%- set cutoff = logged_cutoff(this.identifier) -%}
    {%- set withdrawn = withdrawn_usage_days_query(
        fact, "date '" ~ (cutoff or '0001-01-01') ~ "'"
    ) -%}
    {%- if withdrawn is none
        or run_query('select count(*) from (' ~ withdrawn ~ ') as withdrawn')
            .columns[0].values()[0] == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set refreshed = tested_usage_window(this) -%}
    delete from {{ this }}
    where
        ({{ refreshed }})
        and usage_date not in (
            select usage_date from {{ fact }} where {{ refreshed }}
        )
{%- endmacro %}

{% macro spark__remove_usage_days_without_requests() -%}
{%- endmacro %}
