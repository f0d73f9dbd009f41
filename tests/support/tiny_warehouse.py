"""A hand-made DuckDB warehouse with a few fct_daily_usage rows whose report figures are
computed by hand in the tests (the columns are those of the real mart that delivery reads)."""

from __future__ import annotations

from pathlib import Path

import duckdb

DAILY_COLUMNS = """
    usage_date date, client varchar, team varchar, user_id varchar, workflow varchar,
    task_type varchar, provider varchar, model varchar, service_tier varchar,
    requests bigint, successful_requests bigint, error_requests bigint,
    timeout_requests bigint, rate_limited_requests bigint, cancelled_requests bigint,
    unpriced_requests bigint, input_tokens bigint, uncached_input_tokens bigint,
    cache_read_tokens bigint, cache_write_tokens bigint, output_tokens bigint,
    reasoning_tokens bigint, total_tokens bigint, total_cost_usd decimal(38, 12),
    latency_requests bigint, latency_ms_sum bigint, ttft_requests bigint, ttft_ms_sum bigint,
    scored_requests bigint, quality_score_sum decimal(38, 6),
    quality_judged_requests bigint, passed_quality_requests bigint
"""

# date, client, team, user, workflow, task, provider, model, tier,
# requests, ok, error, timeout, rate_limited, cancelled, unpriced,
# input, uncached, cache_read, cache_write, output, reasoning, total, cost,
# latency_n, latency_sum, ttft_n, ttft_sum, scored, quality_sum, judged, passed
DAILY_ROWS = [
    ("2026-11-20", "acme", "search", "u1", "docs-qa", "rag", "openai", "gpt-4o", "standard",
     10, 8, 1, 1, 0, 0, 0, 1000, 600, 300, 100, 200, 0, 1200, "1.50",
     10, 5000, 10, 1000, 5, "4.0", 4, 3),
    ("2026-11-19", "acme", "legal", "u2", "legal-research", "rag", "anthropic",
     "claude-sonnet-4-5", "standard",
     4, 4, 0, 0, 0, 0, 0, 400, 400, 0, 0, 100, 0, 500, "2.00",
     4, 2000, 0, None, 0, None, 0, 0),
    ("2026-11-19", "globex", "search", "u3", "docs-qa", "rag", "google",
     "gemini-3-pro-preview", "standard",
     2, 1, 0, 0, 1, 0, 2, 50, 50, 0, 0, 10, 0, 60, None,
     2, 400, 0, None, 0, None, 0, 0),
    ("2026-11-10", "acme", "search", "u1", "docs-qa", "rag", "openai", "gpt-4o", "standard",
     5, 5, 0, 0, 0, 0, 0, 80, 80, 0, 0, 20, 0, 100, "1.75",
     5, 1000, 5, 500, 0, None, 0, 0),
]  # fmt: skip

REJECTED_ROWS = [
    ("2026-11-18", "malformed_json"),
    ("2026-11-18", "malformed_json"),
    ("2026-11-01", "missing_request_id"),
]


def build_tiny_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(f"create table fct_daily_usage ({DAILY_COLUMNS})")
        con.executemany(f"insert into fct_daily_usage values ({', '.join(['?'] * 32)})", DAILY_ROWS)
        con.execute(
            "create table fct_rejected_events (landing_date date, rejection_reason varchar)"
        )
        con.executemany("insert into fct_rejected_events values (?, ?)", REJECTED_ROWS)
    return path
