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

    The table `<fct_llm_requests>__withdrawn` beside the fact logs each withdrawal: the
    dbt invocation, the request, the landing day of the withdrawn row and the usage days it
    touches (the withdrawn row's and those of the request's older deliveries, one of which
    replaces it). Models that recompute the usage days a refresh touched read it (macro
    usage_days_loaded_since), since a withdrawn row is no longer in the fact to name its
    day. Like the record-day index it is the fact's own table, not a model; publish leaves
    it out. Spark rebuilds the request fact whole (it never keeps a withdrawn row): nothing
    to log there. -#}
{% macro withdrawn_requests_relation(fact) -%}
    {{ return(side_table(fact, 'withdrawn')) }}
{%- endmacro %}

{#- The pre-hook of fct_llm_requests: log the rows of the fact on the landing days the
    refresh rewrites (from the cutoff of macro landing_cutoff_date) whose request no landed
    row of those days delivers any more, then delete them. Nothing in a build from nothing.
-#}
{% macro withdraw_requests_no_longer_landed() -%}
    {{ return(adapter.dispatch('withdraw_requests_no_longer_landed', 'aiusage')()) }}
{%- endmacro %}

{% macro default__withdraw_requests_no_longer_landed() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set log = withdrawn_requests_relation(this) -%}
    {%- set cutoff = landing_cutoff_date(this) -%}
    {%- set events = ref('int_usage_events_unioned') -%}
    create table if not exists {{ log }} (
        invocation_id varchar,
        request_key varchar,
        provider varchar,
        request_id varchar,
        landing_date date,
        usage_date date
    );
    insert into {{ log }}
    with
    withdrawn as (
        select fact.request_key, fact.provider, fact.request_id, fact.landing_date, fact.usage_date
        from {{ this }} as fact
        where
            fact.landing_date >= {{ cutoff }}
            and not exists (
                select 1
                from {{ events }} as landed
                where
                    landed.landing_date >= {{ cutoff }}
                    and landed.provider = fact.provider
                    and landed.request_id = fact.request_id
            )
    )
    select
        '{{ invocation_id }}', request_key, provider, request_id, landing_date, usage_date
    from withdrawn
    union
    select
        '{{ invocation_id }}',
        withdrawn.request_key,
        withdrawn.provider,
        withdrawn.request_id,
        withdrawn.landing_date,
        {{ to_reporting_date('older.occurred_at') }}
    from withdrawn
    inner join {{ events }} as older
        on withdrawn.provider = older.provider and withdrawn.request_id = older.request_id
    where older.landing_date < {{ cutoff }};
    delete from {{ this }}
    where request_key in (
        select request_key from {{ log }} where invocation_id = '{{ invocation_id }}'
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
        ~ " where invocation_id = '" ~ invocation_id ~ "')"
    ) }}
{%- endmacro %}

{#- SQL: the usage days (`cast(usage_date as string)`) of the requests withdrawn from the
    request fact `fact` on the landing days from `cutoff` on, or none when the fact has no
    withdrawal log (a build that never withdrew a request, or Spark). -#}
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
    whose requests were all withdrawn (macro withdraw_requests_no_longer_landed) names
    none. It reads the fact only when the withdrawal log holds a request of the landing days
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
