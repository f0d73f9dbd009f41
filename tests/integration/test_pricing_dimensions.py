"""The pricing dimensions of docs/pricing.md end to end: canonical events that report the
tier served, fast mode, data residency, web searches and code-execution containers land,
are judged by staging, and are priced in fct_llm_requests with the shipped seeds.

Every expected cost is computed by hand from the shipped seed rows named beside it (list
prices of seeds/model_prices.csv, factors of seeds/service_tier_multipliers.csv,
price_multipliers.csv and price_time_windows.csv, fees of request_fees.csv), not from the
code under test; the dbt unit tests of int_usage_events_priced cover each rule on fixture
prices."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from aiusage.ingest import ingest
from tests.support.project import build_selection

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 18)
SELECTION = "+fct_llm_requests +fct_rejected_events +rpt_unpriced_usage"


def _event(request_id: str, provider: str, model: str, **fields) -> dict:
    return {
        "request_id": request_id,
        "occurred_at": "2026-11-17T12:00:00Z",
        "provider": provider,
        "model": model,
        "input_tokens": 1000,
        "output_tokens": 100,
        **fields,
    }


EVENTS = [
    # claude-opus-4-6 (5 / 25 per Mtok, cache read 0.50): 8,000 uncached x 5 + 2,000 reads x
    # 0.5 + 1,000 output x 25 = 0.04 + 0.001 + 0.025 = 0.066; fast (6) in the US (1.1):
    # x 6.6 = 0.4356; 3 searches at 0.01 = 0.03: 0.4656
    _event(
        "opus-fast-us",
        "anthropic",
        "claude-opus-4-6",
        input_tokens=10000,
        cache_read_tokens=2000,
        output_tokens=1000,
        speed="fast",
        inference_geo="us",
        web_search_requests=3,
    ),  # fmt: skip
    # gpt-5 (1.25 / 10): 0.00125 + 0.001 = 0.00225; priority asked, standard served (1.0);
    # one Code Interpreter container at 0.03: 0.03225
    _event(
        "gpt5-downgraded",
        "openai",
        "gpt-5",
        service_tier="priority",
        service_tier_served="standard",
        code_execution_containers=1,
    ),  # fmt: skip
    # served at priority: gpt-5's priority prices (2.50 / 20) are 2 x its list prices,
    # the shipped multiplier: 0.00225 x 2 = 0.0045
    _event("gpt5-priority", "openai", "gpt-5", service_tier_served="priority"),
    # gpt-4o-mini's priority prices (0.25 / 1.00) are 5/3 of its list prices: no exact
    # multiplier, none shipped, so it is not priced
    _event("mini-priority", "openai", "gpt-4o-mini", service_tier_served="priority"),
    # deepseek-v4-pro (0.66 / 1.98, its off-peak list price): 100,000 x 0.66 + 10,000 x
    # 1.98 = 0.066 + 0.0198 = 0.0858 off-peak (12:00 UTC), x 2 at 02:30 UTC (peak)
    _event(
        "deepseek-peak",
        "deepseek",
        "deepseek-v4-pro",
        occurred_at="2026-11-17T02:30:00Z",
        input_tokens=100000,
        output_tokens=10000,
    ),  # fmt: skip
    _event(
        "deepseek-off-peak", "deepseek", "deepseek-v4-pro", input_tokens=100000, output_tokens=10000
    ),  # fmt: skip
    # perplexity sonar (1 / 1): 0.001 + 0.0001 + 0.012 per request = 0.0131
    _event("sonar", "perplexity", "sonar"),
    # fast mode on a model without a fast price: not priced
    _event("sonnet-fast", "anthropic", "claude-sonnet-4-6", speed="fast"),
]
REJECTED = {
    "bad-tier": _event("bad-tier", "openai", "gpt-5", service_tier_served="gold"),
    "bad-searches": _event(
        "bad-searches", "anthropic", "claude-opus-4-6", web_search_requests="many"
    ),  # fmt: skip
    "negative-searches": _event(
        "negative-searches", "anthropic", "claude-opus-4-6", web_search_requests=-1
    ),  # fmt: skip
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("pricing_dimensions_wh")
    events = root / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in [*EVENTS, *REJECTED.values()]) + "\n")
    ingest(root / "landing", "events", [events], DAY)
    # three of ten rows are rejected on purpose: the reject-rate gate would stop it
    env = build_selection(root, root / "landing", SELECTION, reject_rate=0.6)
    with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
        requests = {
            row[0]: row[1:]
            for row in con.sql(
                "select request_id, service_tier, service_tier_requested, is_priced, "
                "unpriced_reason, token_price_multiplier, fee_cost_usd, computed_cost_usd, "
                "total_cost_usd from fct_llm_requests"
            ).fetchall()
        }
        rejected = dict(
            con.sql("select request_id, rejection_reason from fct_rejected_events").fetchall()
        )
    return requests, rejected


def test_each_dimension_prices_the_request_as_computed_by_hand(warehouse):
    requests, _ = warehouse
    d = Decimal
    expected = {
        # request: (tier served, tier requested, multiplier, fees, computed cost)
        "opus-fast-us": ("standard", "standard", d("6.6"), d("0.03"), d("0.4656")),
        "gpt5-downgraded": ("standard", "priority", d("1"), d("0.03"), d("0.03225")),
        "gpt5-priority": ("priority", "standard", d("2"), d("0"), d("0.0045")),
        "deepseek-peak": ("standard", "standard", d("2"), d("0"), d("0.1716")),
        "deepseek-off-peak": ("standard", "standard", d("1"), d("0"), d("0.0858")),
        "sonar": ("standard", "standard", d("1"), d("0.012"), d("0.0131")),
    }
    for request_id, (tier, requested, multiplier, fees, cost) in expected.items():
        row = requests[request_id]
        assert row[:5] == (tier, requested, True, None, multiplier), request_id
        assert (row[5], row[6], row[7]) == (fees, cost, cost), request_id


def test_a_dimension_without_a_price_leaves_the_request_unpriced(warehouse):
    requests, _ = warehouse
    assert requests["mini-priority"][:4] == ("priority", "standard", False,
                                             "no_service_tier_multiplier")  # fmt: skip
    assert requests["sonnet-fast"][2:4] == (False, "no_speed_multiplier")
    for request_id in ("mini-priority", "sonnet-fast"):
        assert requests[request_id][5:] == (None, None, None), request_id  # never 0


def test_a_bad_served_tier_or_search_count_is_quarantined_with_its_reason(warehouse):
    requests, rejected = warehouse
    assert rejected == {
        "bad-tier": "unknown_service_tier_served",
        "bad-searches": "invalid_web_search_requests",
        "negative-searches": "negative_web_search_requests",
    }
    assert not set(REJECTED) & set(requests)
    assert len(requests) == len(EVENTS)
