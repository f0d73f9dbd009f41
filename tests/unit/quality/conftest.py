"""Shared batches of the quality tests: a valid price seed and a valid batch of events."""

from __future__ import annotations

import pandas as pd
import pytest

from aiusage.pricing.seed import PRICE_FIELDS
from aiusage.quality import gx

# The seed's columns the rows below fill; the others are absent, as in a seed written before
# those prices existed (absent optional columns are nulls).
ABSENT = {
    "valid_from_is_estimated",
    "tier_cache_write_5m_usd_per_mtok",
    "tier_cache_write_1h_usd_per_mtok",
    "reasoning_usd_per_mtok",
}
PRICE_COLUMNS = [f for f in PRICE_FIELDS if f not in ABSENT]


def price_rows() -> list[list[str]]:
    # As read from the CSV: all strings, empty = null.
    return [
        # consecutive windows of one model: [2024-05-13, 2024-10-01) then open-ended
        [
            "openai",
            "gpt-4o",
            "2024-05-13",
            "2024-10-01",
            "5",
            "15",
            "2.5",
            "",
            "",
            "",
            "",
            "",
            "",
            "openai.com/pricing",
        ],
        [
            "openai",
            "gpt-4o",
            "2024-10-01",
            "",
            "2.5",
            "10",
            "1.25",
            "",
            "",
            "",
            "",
            "",
            "",
            "openai.com/pricing",
        ],
        [
            "anthropic",
            "claude-sonnet-4",
            "2025-05-22",
            "",
            "3",
            "15",
            "0.3",
            "3.75",
            "6",
            "200000",
            "6",
            "22.5",
            "0.6",
            "anthropic.com/pricing",
        ],
        [
            "google",
            "gemini-2.5-pro",
            "2025-06-17",
            "",
            "1.25",
            "10",
            "0.31",
            "",
            "",
            "200000",
            "2.5",
            "15",
            "",
            "",
        ],
        ["mistral", "mistral-large", "2024-11-18", "", "2", "6", "", "", "", "", "", "", "", ""],
    ]


@pytest.fixture
def prices() -> pd.DataFrame:
    return pd.DataFrame(price_rows(), columns=PRICE_COLUMNS)


@pytest.fixture
def events() -> pd.DataFrame:
    n = 40
    return pd.DataFrame(
        {
            "request_id": [f"req_{i:03d}" for i in range(n)],
            "occurred_at": [f"2025-03-01T10:{i:02d}:00Z" for i in range(n)],
            "provider": ["openai", "anthropic"] * (n // 2),
            "model": ["gpt-4o", "claude-sonnet-4"] * (n // 2),
            "input_tokens": [1000] * n,
            "cache_read_tokens": [600] * n,
            "cache_write_tokens": [200] * n,
            "cache_write_1h_tokens": [100] * n,
            "output_tokens": [300] * n,
            "reasoning_tokens": [50] * n,
            "service_tier": ["standard", None, "batch", "priority"] * (n // 4),
            "latency_ms": [1200] * n,
            "ttft_ms": [None, 300] * (n // 2),
            "status": ["success", "error", "timeout", "rate_limited", "cancelled"] * (n // 5),
            "quality_score": [0.0, 0.5, 1.0, None] * (n // 4),
            "metadata": [{"k": "v"}] * n,
        }
    )


def failed_columns(result: gx.SuiteResult) -> set:
    return {
        tuple(f["column"]) if isinstance(f["column"], list) else f["column"] for f in result.failed
    }
