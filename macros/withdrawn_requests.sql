{#- Requests that a refresh withdraws from fct_llm_requests (DuckDB).

    A refresh of the request fact merges the requests of its landing window by key
    (delete+insert on request_key). A landed file changed in place (re-read, its older rows
    replaced in staging and in fct_landed_rows) may no longer hold a request whose latest
    delivery it was: the window has no row of that key, so the merge alone would leave the
    old row in the fact, counted in every mart, though a build from nothing on the same
    landing would not have it. Such a request is withdrawn: its row leaves the fact and, if
    an older landing day (before the window) delivered it too, the latest of those older
    deliveries takes its place (the model reads them, macro withdrawn_request_keys); else
    the request is gone.

    A request re-delivered under another usage day (another occurred_at) moves: the merge
    replaces its row, and the usage day it leaves is named by no row any more.

    The table `<fct_llm_requests>__withdrawn` beside the fact logs both: the dbt
    invocation, the request, a landing day of the refresh's window (the withdrawn row's, or
    the moved request's latest delivery's), a usage day it touches (a withdrawn row's own
    and those of the request's older deliveries, one of which replaces it; a moved row's
    old day) and is_withdrawn (false: moved). Models that recompute the usage days a
    refresh touched read it (macro usage_days_loaded_since), since no row of the fact names
    those days any more. Like the record-day index it is the fact's own table, not a model; publish leaves
    it out. Spark rebuilds the request fact whole (it never keeps a withdrawn row): nothing
    to log there. -#}
{% macro withdrawn_requests_relation(fact) -%}
    {{ return(side_table(fact, 'withdrawn')) }}
{%- endmacro %}

{#- The pre-hook of fct_llm_requests, before the refresh merges its window (the landing days
    from the cutoff of macro landing_cutoff_date):
    - withdrawn: a row of the fact on those days whose request no accepted row of those
      days delivers any more is logged (with the usage days of the request's older
      deliveries, one of which the model puts back) and deleted;
    - moved: a stored row of a request the window delivers again under another usage day
      (its latest delivery in the window has another occurred_at day) has its stored usage
      day logged: the merge replaces the row, and the day it leaves must be recomputed by
      the models by usage day though no row names it any more.
    The stored rows are read from the first landing day holding a delivery of one of the
    window's requests (fct_landed_rows' record-day index, macro landed_record_days_relation;
    inlined, so that the fact's landing_date zone maps skip older row groups): a new day of
    new requests reads no stored row before its own day. Nothing in a build from nothing. -#}
{% macro withdraw_requests_no_longer_landed() -%}
    {{ return(adapter.dispatch('withdraw_requests_no_longer_landed', 'aiusage')()) }}
{%- endmacro %}

{% macro default__withdraw_requests_no_longer_landed() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set log = withdrawn_requests_relation(this) -%}
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
    {#- the models after it in this run look the log up in dbt's relation cache -#}
    {%- do adapter.cache_added(log.incorporate(type='table')) -%}
    create table if not exists {{ log }} (
        invocation_id varchar,
        request_key varchar,
        provider varchar,
        request_id varchar,
        landing_date date,
        usage_date date,
        is_withdrawn boolean
    );
    insert into {{ log }}
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
        '{{ invocation_id }}', request_key, provider, request_id, landing_date, usage_date, true
    from withdrawn
    union
    select
        '{{ invocation_id }}',
        withdrawn.request_key,
        withdrawn.provider,
        withdrawn.request_id,
        withdrawn.landing_date,
        {{ to_reporting_date('older.occurred_at') }},
        true
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
        false
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

{#- SQL: a relation of the keys (request_key, provider, request_id) this refresh withdrew
    from the fact (macro withdraw_requests_no_longer_landed, its pre-hook), whose older
    deliveries the model reads again; the model calls it in a refresh only. -#}
{% macro withdrawn_request_keys() -%}
    {{ return(
        "(select distinct request_key, provider, request_id from "
        ~ withdrawn_requests_relation(this)
        ~ " where invocation_id = '" ~ invocation_id ~ "' and is_withdrawn)"
    ) }}
{%- endmacro %}

{#- SQL: the usage days (`cast(usage_date as string)`) that requests withdrawn from the
    request fact `fact`, or moved to another usage day, left on the landing days from
    `cutoff` on, or none when the fact has no log (a warehouse whose fact was never
    refreshed, or Spark). -#}
{% macro withdrawn_usage_days_query(fact, cutoff) -%}
    {%- set log = withdrawn_requests_relation(fact) -%}
    {%- if adapter.get_relation(log.database, log.schema, log.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
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
