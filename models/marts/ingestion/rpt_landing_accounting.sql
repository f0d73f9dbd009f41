{{
    config(
        materialized=incremental_materialization(by_partition=false),
        incremental_strategy=incremental_strategy(),
        unique_key='source_file',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }}"
            " where landing_date >= {{ landing_cutoff_date(this) }}{% endif %}"
        ),
    )
}}

-- Row accounting per landed file: landed rows = accepted + duplicates + rejected.
-- accepted: rows kept as the latest delivery of their record;
-- duplicates: earlier deliveries of a record delivered again (in any file);
-- conflicting duplicates: duplicates whose content differs from the kept delivery.
-- A record is a request, a provider usage bucket or a task outcome (record_kind).
-- Incremental: a refresh recounts the files it can change, not the history: the files of
-- its landing window (the pre-hook first drops the window's days, so a file no longer
-- landed leaves no row), and every older file holding a record delivered again in the
-- window (that delivery turns the older row into a duplicate). The ranking reads every
-- delivery of the records of those files; other files keep their counts. A window of a
-- day on 10M landed rows: 0.35 s, against 1.6-1.9 s when the scans that read the rows
-- also matched their keys (one thread; docs/performance.md, twenty-first round).

{#- The kind of record a landed row describes: records of different kinds never share a
    key (a request, a provider usage bucket, a task outcome). -#}
{%- set record_kind = (
    "case when source_system in ('openai_usage', 'anthropic_usage') then 'usage_bucket'"
    ~ " when source_system = 'outcomes' then 'task_outcome' else 'request' end"
) %}

with

{% if is_incremental() %}
    {%- set cutoff = landing_cutoff_date(this) %}
    {%- set landed_rows = ref('fct_landed_rows') %}
    -- No CTE over the whole fct_landed_rows: read several times, DuckDB would materialize
    -- it (every landed row, every refresh). The deliveries of a set of records are found
    -- by key alone (macro landed_rows_with_keys), then read: one scan of fct_landed_rows'
    -- record-day index a refresh, and none more unless a record of the window was
    -- delivered before.
    window_records as (
        select distinct
            {{ record_kind }} as record_kind,
            record_key
        from {{ landed_rows }}
        where landing_date >= {{ cutoff }} and record_key is not null
    ),

    -- every delivery of the window's records, in any landing day
    window_deliveries as (
        {{ deliveries_of_records(landed_rows, 'window_records', record_kind) }}
    ),

    older_recounted_files as (
        select distinct window_deliveries.source_file
        from window_deliveries
        where window_deliveries.landing_date < {{ cutoff }}
    ),

    -- the other records of those older files: the ranking needs their deliveries too
    other_records as (
        select
            {{ record_kind }} as record_kind,
            record_key
        from {{ landed_rows }}
        where
            landing_date < {{ cutoff }}
            and record_key is not null
            and source_file in (select older_recounted_files.source_file from older_recounted_files)
        except
        select
            window_records.record_kind,
            window_records.record_key
        from window_records
    ),

    scoped_rows as (
        select * from window_deliveries
        union all
        {{ deliveries_of_records(landed_rows, 'other_records', record_kind) }}
        -- the rows without a record key, of the window and of the recounted older files: two
        -- branches, so that the first reads the window's row groups only and the second is
        -- skipped when no older file is recounted (one `or` scanned every landed row)
        union all
        select
            *,
            {{ record_kind }} as record_kind
        from {{ landed_rows }}
        where record_key is null and landing_date >= {{ cutoff }}
        union all
        select
            *,
            {{ record_kind }} as record_kind
        from {{ landed_rows }}
        where
            record_key is null
            and landing_date < {{ cutoff }}
            and source_file in (select older_recounted_files.source_file from older_recounted_files)
    ),

    recounted_files as (
        select source_file
        from {{ landed_rows }}
        where landing_date >= {{ cutoff }}
        union
        select older_recounted_files.source_file
        from older_recounted_files
    ),
{% else %}
    scoped_rows as (
        select
            *,
            {{ record_kind }} as record_kind
        from {{ ref('fct_landed_rows') }}
    ),
{% endif %}

ranked as (
    select
        *,
        is_accepted and row_number() over (
            partition by record_kind, record_key
            order by {{ latest_delivery_first() }}
        ) = 1 as is_kept,
        first_value(content_hash) over (
            partition by record_kind, record_key
            order by {{ latest_delivery_first() }}
        ) as kept_content_hash
    from scoped_rows
),

per_file as (
    select
        source_file,
        any_value(source_system) as source_system,
        any_value(landing_date) as landing_date,
        count(*) as landed_rows,
        count(*) filter (where is_kept) as accepted_rows,
        count(*) filter (where is_accepted and not is_kept) as duplicate_rows,
        count(*) filter (
            where is_accepted and not is_kept and content_hash <> kept_content_hash
        ) as conflicting_duplicate_rows,
        count(*) filter (where not is_accepted) as rejected_rows
    from ranked
    {%- if is_incremental() %}
        -- the other files' rows were read for the ranking only
        where source_file in (select recounted_files.source_file from recounted_files)
    {%- endif %}
    group by source_file
),

final as (
    select
        cast(source_file as string) as source_file,
        cast(source_system as string) as source_system,
        cast(landing_date as date) as landing_date,
        cast(landed_rows as bigint) as landed_rows,
        cast(accepted_rows as bigint) as accepted_rows,
        cast(duplicate_rows as bigint) as duplicate_rows,
        cast(conflicting_duplicate_rows as bigint) as conflicting_duplicate_rows,
        cast(rejected_rows as bigint) as rejected_rows,
        cast(round(rejected_rows / landed_rows, 6) as decimal(9, 6)) as reject_rate
    from per_file
)

select * from final
