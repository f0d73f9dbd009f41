-- One row per non-blank line of every landed canonical events file.
-- Lines are parsed here (JSON -> typed columns) and judged: `rejection_reason` is null for
-- a usable event and names the first problem otherwise. Nothing is dropped: downstream,
-- accepted rows become requests and the rest become fct_rejected_events.
-- The SQL is the macro stg_events__usage_rows (macros/staging/), shared with
-- int_request_rows_parsed, which runs it over the files of its refresh window only.

{{ stg_events__usage_rows(source('landing', 'events')) }}
