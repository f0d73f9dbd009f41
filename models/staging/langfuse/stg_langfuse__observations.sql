-- One row per non-blank line of every landed Langfuse observations export, in canonical
-- columns and judged (rejection_reason null = usable). Both spellings of the export are
-- read (snake_case and the public API's camelCase). Token convention: Langfuse keeps
-- usage_details keys disjoint (its integrations subtract cached tokens from `input` and
-- reasoning tokens from `output`, and price each key apart), so
--   input_tokens  = input + cache read (input_cached_tokens | cache_read_input_tokens |
--                   input_cache_read) + cache creation (input_cache_creation |
--                   cache_creation_input_tokens)
--   output_tokens = output + reasoning (output_reasoning_tokens | output_reasoning).
-- Provider: metadata.provider / ls_provider, else a provider/ prefix or the model family.
-- Observations other than generations are quarantined as not_a_generation.
-- The SQL is the macro stg_langfuse__observations_rows (macros/staging/), shared with
-- int_request_rows_parsed, which runs it over the files of its refresh window only.

{{ stg_langfuse__observations_rows(source('landing', 'langfuse_observations')) }}
