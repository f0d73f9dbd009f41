"""Small warehouses for the readers' tests, built from the dbt manifest's contracts.

Every mart of the manifest becomes a table with its contract's columns and types (empty
unless rows are given), so a test that fills a few rows sees the marts exactly as a dbt
build leaves them: a renamed or retyped column in a contract fails the test that uses it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

from aiusage.project import ensure_manifest, mart_contracts
from aiusage.settings import Settings


@cache
def contracts() -> dict[str, dict[str, str]]:
    return mart_contracts(ensure_manifest(Settings.from_env(), match_environment=False))


def contract_warehouse(path: Path, rows: dict[str, list[dict]] | None = None) -> Path:
    """A DuckDB file holding every mart as an empty table of its contract, then `rows`
    ({mart: [{column: value}]}) inserted; a column a row leaves out is null, a column the
    contract does not have is an error."""
    rows = rows or {}
    unknown = set(rows) - set(contracts())
    if unknown:
        raise KeyError(f"not marts of the manifest: {sorted(unknown)}")
    with duckdb.connect(str(path)) as con:
        for mart, columns in contracts().items():
            body = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
            con.execute(f'create table "{mart}" ({body})')
            for row in rows.get(mart, []):
                extra = set(row) - set(columns)
                if extra:
                    raise KeyError(f"{mart} has no column(s) {sorted(extra)} in its contract")
                names = list(row)
                con.execute(
                    f'insert into "{mart}" ({", ".join(names)}) '
                    f"values ({', '.join('?' * len(names))})",
                    [row[name] for name in names],
                )
    return path


def _daily(usage_date, client, team, user, workflow, task, provider, model, requests, ok,
           error, timeout, rate_limited, unpriced, input_tokens, uncached, cache_read,
           cache_write, output, cost, latency_n, latency_sum, ttft_n, ttft_sum, scored,
           quality_sum, judged, passed, *, feature) -> dict:  # fmt: skip
    return {
        "daily_usage_key": f"{usage_date}|{team}|{user}|{model}",
        "usage_date": usage_date,
        "client": client,
        "team": team,
        "user_id": user,
        "workflow": workflow,
        "feature": feature,
        "task_type": task,
        "provider": provider,
        "model": model,
        "service_tier": "standard",
        "requests": requests,
        "successful_requests": ok,
        "error_requests": error,
        "timeout_requests": timeout,
        "rate_limited_requests": rate_limited,
        "cancelled_requests": 0,
        "unpriced_requests": unpriced,
        "input_tokens": input_tokens,
        "uncached_input_tokens": uncached,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "output_tokens": output,
        "reasoning_tokens": 0,
        "total_tokens": input_tokens + output,
        "total_cost_usd": cost,
        "latency_requests": latency_n,
        "latency_ms_sum": latency_sum,
        "ttft_requests": ttft_n,
        "ttft_ms_sum": ttft_sum,
        "scored_requests": scored,
        "quality_score_sum": quality_sum,
        "quality_judged_requests": judged,
        "passed_quality_requests": passed,
    }


# A few days of usage whose report figures the tests compute by hand.
# date, client, team, user, workflow, task, provider, model, requests, ok, error, timeout,
# rate_limited, unpriced, input, uncached, cache_read, cache_write, output, cost,
# latency_n, latency_sum, ttft_n, ttft_sum, scored, quality_sum, judged, passed; feature
# ('(unattributed)' as fct_daily_usage writes an event without one)
DAILY_USAGE = [
    _daily("2026-11-20", "acme", "search", "u1", "docs-qa", "rag", "openai", "gpt-4o",
           10, 8, 1, 1, 0, 0, 1000, 600, 300, 100, 200, "1.50", 10, 5000, 10, 1000, 5, "4.0",
           4, 3, feature="answer-search"),
    _daily("2026-11-19", "acme", "legal", "u2", "legal-research", "rag", "anthropic",
           "claude-sonnet-4-5", 4, 4, 0, 0, 0, 0, 400, 400, 0, 0, 100, "2.00", 4, 2000, 0, None,
           0, None, 0, 0, feature="contract-review"),
    _daily("2026-11-19", "globex", "search", "u3", "docs-qa", "rag", "google",
           "gemini-3-pro-preview", 2, 1, 0, 0, 1, 2, 50, 50, 0, 0, 10, None, 2, 400, 0, None, 0,
           None, 0, 0, feature="(unattributed)"),
    _daily("2026-11-10", "acme", "search", "u1", "docs-qa", "rag", "openai", "gpt-4o",
           5, 5, 0, 0, 0, 0, 80, 80, 0, 0, 20, "1.75", 5, 1000, 5, 500, 0, None, 0, 0,
           feature="answer-search"),
]  # fmt: skip

UNPRICED_USAGE = [
    {
        "unpriced_usage_key": "u-2026-11-19",
        "usage_date": "2026-11-19",
        "provider": "google",
        "model": "gemini-3-pro-preview",
        "unpriced_reason": "unknown_model",
        "requests": 2,
        "reported_model_ids": 1,
        "input_tokens": 50,
        "output_tokens": 10,
        "total_tokens": 60,
        "first_seen_at": "2026-11-19 08:00:00",
        "last_seen_at": "2026-11-19 09:00:00",
    }
]

REJECTED_EVENTS = [
    {"rejected_event_key": key, "source_system": "events", "source_file": "/x/events.jsonl",
     "landing_date": day, "line_number": line, "rejection_reason": reason}
    for key, day, line, reason in [
        ("r1", "2026-11-18", 3, "malformed_json"),
        ("r2", "2026-11-18", 9, "malformed_json"),
        ("r3", "2026-11-01", 2, "missing_request_id"),
    ]
]  # fmt: skip


def _request(
    key, usage_date, client, team, user, workflow, provider, model, status, tier, latency, ttft=None
):
    return {
        "request_key": key, "request_id": key, "usage_date": usage_date,
        "occurred_at": f"{usage_date} 12:00:00", "client": client, "team": team,
        "user_id": user, "workflow": workflow, "task_type": "rag", "provider": provider,
        "model": model, "status": status, "is_success": status == "success",
        "service_tier": tier, "latency_ms": latency, "ttft_ms": ttft,
    }  # fmt: skip


# The week's requests that carry the latency figures (percentiles come from the request
# fact): interactive (standard) successes, a batch and a flex success, a timeout.
LLM_REQUESTS = [
    *(_request(f"g{i}", "2026-11-20", "acme", "search", "u1", "docs-qa", "openai", "gpt-4o",
               "success", "standard", latency, ttft)
      for i, (latency, ttft) in enumerate([(100, 50), (200, 60), (300, 70), (400, 80)])),
    _request("g-batch", "2026-11-20", "acme", "search", "u1", "docs-qa", "openai", "gpt-4o",
             "success", "batch", 600_000),
    _request("g-timeout", "2026-11-20", "acme", "search", "u1", "docs-qa", "openai", "gpt-4o",
             "timeout", "standard", 30_000),
    _request("c1", "2026-11-19", "acme", "legal", "u2", "legal-research", "anthropic",
             "claude-sonnet-4-5", "success", "standard", 1000),
    _request("c2", "2026-11-19", "acme", "legal", "u2", "legal-research", "anthropic",
             "claude-sonnet-4-5", "success", "standard", 2000),
    _request("c-flex", "2026-11-19", "acme", "legal", "u2", "legal-research", "anthropic",
             "claude-sonnet-4-5", "success", "flex", 9000),
    _request("m1", "2026-11-19", "globex", "search", "u3", "docs-qa", "google",
             "gemini-3-pro-preview", "success", "standard", 400, 100),
]  # fmt: skip


def small_warehouse(path: Path) -> Path:
    """The marts with DAILY_USAGE, LLM_REQUESTS, UNPRICED_USAGE and REJECTED_EVENTS, every
    other mart empty: a warehouse whose report figures are known by hand."""
    return contract_warehouse(
        path,
        {
            "fct_daily_usage": DAILY_USAGE,
            "fct_llm_requests": LLM_REQUESTS,
            "rpt_unpriced_usage": UNPRICED_USAGE,
            "fct_rejected_events": REJECTED_EVENTS,
        },
    )
