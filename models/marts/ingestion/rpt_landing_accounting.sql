-- Row accounting per landed file: landed rows = accepted + duplicates + rejected.
-- accepted: rows kept as the latest delivery of their record (request or usage bucket);
-- duplicates: earlier deliveries of a record delivered again (in any file);
-- conflicting duplicates: duplicates whose content differs from the kept delivery.

with

landed_rows as (
    select * from {{ ref('fct_landed_rows') }}
),

ranked as (
    select
        *,
        is_accepted and row_number() over (
            partition by source_system in ('openai_usage', 'anthropic_usage'), record_key
            order by landing_date desc, source_file desc, line_number desc
        ) = 1 as is_kept,
        first_value(content_hash) over (
            partition by source_system in ('openai_usage', 'anthropic_usage'), record_key
            order by landing_date desc, source_file desc, line_number desc
        ) as kept_content_hash
    from landed_rows
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
