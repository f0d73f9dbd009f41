-- The pricing-dimension seeds (request_fees, price_multipliers, price_time_windows) give
-- each request at most one row per fee, dimension value and time: no two rows of one key
-- valid at the same instant, no two windows of one model covering the same minute while
-- both are valid. Values: a fee >= 0, a multiplier > 0, valid_to after valid_from, windows
-- as HH:MM with a start different from the end. Each failing row names its seed and why.

with

fees as (
    select
        'request_fees' as seed_name,
        provider || '/' || coalesce(model, '*') || '/' || fee as row_key,
        valid_from,
        valid_to,
        usd_per_unit < 0 as is_bad_value
    from {{ ref('request_fees') }}
),

multipliers as (
    select
        'price_multipliers' as seed_name,
        provider || '/' || coalesce(model, '*') || '/' || dimension || '=' || value as row_key,
        valid_from,
        valid_to,
        multiplier <= 0 as is_bad_value
    from {{ ref('price_multipliers') }}
),

keyed as (
    select * from fees
    union all
    select * from multipliers
),

-- in valid_from order, a row that starts before the previous row of its key ends
ordered as (
    select
        *,
        lag(valid_from) over (partition by seed_name, row_key order by valid_from)
            as previous_valid_from,
        lag(valid_to) over (partition by seed_name, row_key order by valid_from)
            as previous_valid_to
    from keyed
),

keyed_failures as (
    select
        seed_name,
        row_key,
        valid_from,
        case
            when is_bad_value then 'negative fee or non-positive multiplier'
            when valid_to <= valid_from then 'valid_to not after valid_from'
            else 'overlaps the previous row of its key'
        end as failure
    from ordered
    where
        is_bad_value
        or valid_to <= valid_from
        or (
            previous_valid_from is not null
            and (previous_valid_to is null or previous_valid_to > valid_from)
        )
),

windows as (
    select
        row_number() over (order by provider, model, valid_from, window_start_utc) as window_id,
        provider || '/' || model || ' ' || window_start_utc || '-' || window_end_utc
            as row_key,
        provider,
        model,
        valid_from,
        coalesce(valid_to, cast('9999-12-31 00:00:00' as timestamp)) as valid_until,
        window_start_utc,
        window_end_utc,
        multiplier,
        try_cast(substr(window_start_utc, 1, 2) as int) * 60
        + try_cast(substr(window_start_utc, 4, 2) as int) as start_minute,
        try_cast(substr(window_end_utc, 1, 2) as int) * 60
        + try_cast(substr(window_end_utc, 4, 2) as int) as end_minute
    from {{ ref('price_time_windows') }}
),

-- a window across midnight is two intervals of the day: [start, 1440) and [0, end)
intervals as (
    select
        *,
        start_minute as from_minute,
        case when end_minute > start_minute then end_minute else 1440 end as to_minute
    from windows
    union all
    select
        *,
        0 as from_minute,
        end_minute as to_minute
    from windows
    where end_minute < start_minute
),

window_failures as (
    select
        'price_time_windows' as seed_name,
        row_key,
        valid_from,
        case
            when multiplier <= 0 then 'non-positive multiplier'
            when valid_until <= valid_from then 'valid_to not after valid_from'
            else 'window_start_utc and window_end_utc must be distinct HH:MM times'
        end as failure
    from windows
    where
        multiplier <= 0
        or valid_until <= valid_from
        or window_start_utc not like '__:__'
        or window_end_utc not like '__:__'
        or start_minute is null
        or end_minute is null
        or start_minute >= 1440
        or end_minute >= 1440
        or start_minute = end_minute
    union all
    select distinct
        'price_time_windows' as seed_name,
        a.row_key,
        a.valid_from,
        'covers minutes of another window of its model valid at the same time' as failure
    from intervals as a
    inner join intervals as b
        on
            a.provider = b.provider
            and a.model = b.model
            and a.window_id != b.window_id
            and a.valid_from < b.valid_until
            and a.valid_until > b.valid_from
            and a.from_minute < b.to_minute
            and a.to_minute > b.from_minute
),

final as (
    select * from keyed_failures
    union all
    select * from window_failures
)

select * from final
