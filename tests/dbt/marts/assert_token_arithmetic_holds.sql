-- Cached tokens are part of the prompt and reasoning tokens part of the output, and no
-- count is negative: a request breaking this would be billed twice (or lose tokens).
-- Returns offending rows.
select
    request_key,
    input_tokens,
    cache_read_tokens,
    cache_write_tokens,
    cache_write_1h_tokens,
    output_tokens,
    reasoning_tokens
from {{ ref('fct_llm_requests') }}
where
    -- a row-level check: a refresh can only break it in the rows it rewrote
    -- (macro tested_landing_window; every row in a first build or a full refresh)
    ({{ tested_landing_window(ref('fct_llm_requests')) }})
    and (
        cache_read_tokens + cache_write_tokens > input_tokens
        or cache_write_1h_tokens > cache_write_tokens
        or reasoning_tokens > output_tokens
        or uncached_input_tokens != input_tokens - cache_read_tokens - cache_write_tokens
        or total_tokens != input_tokens + output_tokens
        or least(
            input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
            output_tokens, reasoning_tokens
        ) < 0
    )
