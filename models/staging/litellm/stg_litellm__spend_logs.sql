-- One row per non-blank line of every landed LiteLLM_SpendLogs file, in canonical columns
-- and judged (rejection_reason null = usable). Token convention: prompt_tokens counts
-- every prompt token (LiteLLM reports the OpenAI way, cached included); cache counts live
-- in metadata.usage_object (a JSON string in SpendLogs): prompt_tokens_details.cached_tokens
-- or cache_read_input_tokens, cache_creation_input_tokens, and
-- completion_tokens_details.reasoning_tokens. Attribution: team_id, end_user (else user),
-- organization_id as client, and workflow, feature, task_type, prompt_version, environment
-- from the request's metadata.spend_logs_metadata.
-- The SQL is the macro stg_litellm__spend_logs_rows (macros/staging/), shared with
-- int_request_rows_parsed, which runs it over the files of its refresh window only.

{{ stg_litellm__spend_logs_rows(source('landing', 'litellm_spend_logs')) }}
