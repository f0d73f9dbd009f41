"""`aiusage ingest openrouter`: OpenRouter chat-completion responses and generation records
land as requests with their bill (billed_cost_usd) as the cost of record, to the cent.

The real samples of ../shared/data/openrouter/ (two pydantic-ai VCR cassettes with four
real responses, a real generation record and the API's example record) are read from
the files themselves: every expected bill, token count and id below is taken from them,
not from the code under test. Hand-written records add the cases the samples lack (BYOK,
a bill that is not a number, a response without usage, an enveloped JSONL line)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from aiusage.ingest import ingest
from tests.support.project import build_selection

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parents[2]
OPENROUTER = PROJECT.parent / "shared" / "data" / "openrouter"
DAY = date(2026, 11, 18)
CASSETTES = (
    "pydantic-ai/test_openrouter_usage.yaml",
    "pydantic-ai/test_openrouter_cache_messages_anthropic_real_api.yaml",
)
GENERATIONS = (
    "generation.real_response.wvanderp_Trick-question-bench.json",
    "generation.example_response.json",
)
SELECTION = (
    "+fct_llm_requests +fct_daily_usage +fct_rejected_events +rpt_landing_accounting "
    "+rpt_unpriced_usage"
)


def _responses() -> list[dict]:
    out = []
    for name in CASSETTES:
        cassette = yaml.safe_load((OPENROUTER / name).read_text())
        out += [i["response"]["parsed_body"] for i in cassette["interactions"]]
    return out


def _openrouter_slugs() -> list[str]:
    from genai_prices.data import providers

    from aiusage.pricing.sync import _equals_values

    (openrouter,) = [p for p in providers if p.id == "openrouter"]
    return sorted(
        {m.id for m in openrouter.models}
        | {v for m in openrouter.models for v in _equals_values(m.match)}
    )


def _hand_written() -> list[dict]:
    base = {
        "object": "chat.completion",
        "created": 1773011200,
        "model": "openai/gpt-4o-mini",
        "provider": "OpenAI",
    }
    usage = {"prompt_tokens": 1000, "completion_tokens": 100}
    return [
        # BYOK: OpenRouter charges its fee (cost), the provider bills the inference
        # (upstream_inference_cost) to the user's key: the bill is the sum, 0.00003 + 0.0006
        {
            **base,
            "id": "hw-byok",
            "usage": {
                **usage,
                "cost": 0.00003,
                "is_byok": True,
                "cost_details": {"upstream_inference_cost": 0.0006},
            },
        },  # fmt: skip
        # BYOK without the upstream cost: the bill is not known (never the fee alone)
        {**base, "id": "hw-byok-unknown", "usage": {**usage, "cost": 0.00003, "is_byok": True}},
        {**base, "id": "hw-bad-cost", "usage": {**usage, "cost": "n/a"}},
        {**base, "id": "hw-negative-cost", "usage": {**usage, "cost": -0.5}},
        {**base, "id": "hw-no-usage"},
    ]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    if not OPENROUTER.is_dir():
        pytest.skip(f"real samples absent: {OPENROUTER} not found (clone ../shared to run)")
    root = tmp_path_factory.mktemp("openrouter_wh")
    landing = root / "landing"
    responses = root / "responses.jsonl"
    responses.write_text("\n".join(json.dumps(r) for r in _responses()) + "\n")
    hand = root / "hand.jsonl"
    enveloped = json.loads((OPENROUTER / GENERATIONS[0]).read_text())
    enveloped["data"]["id"] = "hw-enveloped-line"
    hand.write_text(
        "\n".join(json.dumps(r) for r in _hand_written()) + "\n" + json.dumps(enveloped) + "\n"
    )
    summary = ingest(
        landing, "openrouter", [responses, hand, *(OPENROUTER / g for g in GENERATIONS)], DAY
    )
    assert summary.rows == 4 + 6 + 2
    # Every OpenRouter slug genai-prices knows (its models and their exact match rules),
    # one request each as an OpenRouter user lands them: the catalogue's coverage.
    slugs = root / "slugs.jsonl"
    slugs.write_text(
        "\n".join(
            json.dumps(
                {
                    "request_id": f"slug-{i}",
                    "occurred_at": "2026-11-20T12:00:00Z",
                    "provider": "openrouter",
                    "model": slug,
                    "input_tokens": 1000,
                    "output_tokens": 100,
                }
            )  # fmt: skip
            for i, slug in enumerate(_openrouter_slugs())
        )
        + "\n"
    )
    ingest(landing, "events", [slugs], DAY)
    # the hand-written file is half bad rows on purpose: the reject-rate gate would stop it
    env = build_selection(root, landing, SELECTION, reject_rate=0.6)
    return env


def _query(env, sql):
    with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
        return con.sql(sql).fetchall()


def _requests(env) -> dict[str, tuple]:
    rows = _query(
        env,
        "select request_id, provider, model_reported, input_tokens, cache_read_tokens, "
        "cache_write_tokens, output_tokens, reasoning_tokens, billed_cost_usd, "
        "total_cost_usd, cost_source, status, latency_ms, ttft_ms, user_id "
        "from fct_llm_requests",
    )
    return {row[0]: row[1:] for row in rows}


def test_real_responses_land_with_their_bill_to_the_cent(warehouse):
    requests = _requests(warehouse)
    for body in _responses():
        usage = body["usage"]
        row = requests[body["id"]]
        details = usage.get("prompt_tokens_details") or {}
        assert row[:7] == (
            "openrouter",
            body["model"],
            usage["prompt_tokens"],
            details.get("cached_tokens", 0),
            details.get("cache_write_tokens", 0),
            usage["completion_tokens"],
            usage["completion_tokens_details"]["reasoning_tokens"],
        )
        if "cost" in usage:  # usage accounting on: the bill is the cost of record
            bill = Decimal(str(usage["cost"]))
            assert row[7] == bill and row[8] == bill and row[9] == "billed"
        else:  # the first gpt-5-mini call asked for no accounting: no bill
            assert row[7] is None and row[9] != "billed"


def test_real_generation_records_land_with_their_bill_and_timings(warehouse):
    requests = _requests(warehouse)
    for name in GENERATIONS:
        record = json.loads((OPENROUTER / name).read_text())["data"]
        row = requests[record["id"]]
        assert row[:7] == (
            "openrouter",
            record["model"],
            record["native_tokens_prompt"],
            record["native_tokens_cached"],
            0,
            record["native_tokens_completion"],
            record["native_tokens_reasoning"],
        )
        assert not record["is_byok"]
        bill = Decimal(str(record["total_cost"]))
        assert (row[7], row[8], row[9]) == (bill, bill, "billed")
        assert row[10] == ("cancelled" if record["cancelled"] else "success")
        # latency = time to first token, then generation_time after it
        assert (row[11], row[12]) == (
            record["latency"] + record["generation_time"],
            record["latency"],
        )
        assert row[13] == record["external_user"]
    # an enveloped generation record on a JSONL line lands like a whole-file one
    assert requests["hw-enveloped-line"][7] == Decimal("0.00003452")


def test_the_total_bill_is_the_sum_of_the_files_to_the_cent(warehouse):
    expected = sum(
        (Decimal(str(b["usage"]["cost"])) for b in _responses() if "cost" in b["usage"]),
        Decimal(0),
    )
    expected += sum(
        Decimal(str(json.loads((OPENROUTER / g).read_text())["data"]["total_cost"]))
        for g in GENERATIONS
    )
    expected += Decimal("0.00003452") + Decimal("0.00063")  # enveloped copy, BYOK
    ((billed, total),) = _query(
        warehouse,
        "select sum(billed_cost_usd), sum(total_cost_usd) filter (where cost_source = 'billed') "
        "from fct_llm_requests",
    )
    assert billed == expected and total == expected
    ((daily,),) = _query(
        warehouse,
        "select sum(total_cost_usd) from fct_daily_usage where provider = 'openrouter'",
    )
    ((record,),) = _query(
        warehouse,
        "select sum(total_cost_usd) from fct_llm_requests where provider = 'openrouter'",
    )
    assert daily == record  # the marts sum the cost of record


def test_byok_bills_add_the_upstream_cost_and_bad_bills_are_quarantined(warehouse):
    requests = _requests(warehouse)
    assert requests["hw-byok"][7] == Decimal("0.00063")
    assert requests["hw-byok-unknown"][7] is None  # never the fee alone
    rejected = dict(
        _query(
            warehouse,
            "select request_id, rejection_reason from fct_rejected_events "
            "where source_system = 'openrouter'",
        )
    )
    assert rejected == {
        "hw-bad-cost": "invalid_billed_cost_usd",
        "hw-negative-cost": "negative_billed_cost_usd",
        "hw-no-usage": "missing_usage",
    }
    accounting = _query(
        warehouse,
        "select sum(landed_rows), sum(accepted_rows), sum(duplicate_rows), sum(rejected_rows) "
        "from rpt_landing_accounting where source_system = 'openrouter'",
    )
    assert accounting == [(12, 9, 0, 3)]


def test_billed_requests_reconcile_with_openrouter_own_prices(warehouse):
    """Every real billed request of a model genai-prices' OpenRouter list knows is priced at
    OpenRouter's price (price_basis gateway) and its computed cost is within 1% of the bill
    (here: equal to it, to the cent and below)."""
    rows = _query(
        warehouse,
        "select request_id, model_reported, price_basis, computed_cost_usd, billed_cost_usd "
        "from fct_llm_requests where billed_cost_usd is not null and request_id like 'gen-%'",
    )
    slugs = set(_openrouter_slugs())
    known = [r for r in rows if r[1] in slugs]
    assert len(known) == 4 and all(r[2] == "gateway" for r in known)
    for _, _, _, computed, billed in known:
        assert abs(computed - billed) <= Decimal("0.01") * billed
    # the OpenAPI example's model (sao10k/l3-stheno-8b) is in no price list: its bill is
    # its cost, it stays flagged unpriced
    assert [r[1] for r in rows if r[1] not in slugs] == ["sao10k/l3-stheno-8b"]


def test_genai_prices_openrouter_catalogue_resolves_and_prices(warehouse):
    ((total, priced),) = _query(
        warehouse,
        "select count(*), count(*) filter (where is_priced) from fct_llm_requests "
        "where request_id like 'slug-%'",
    )
    assert total == len(_openrouter_slugs())
    # measured 1,249 of 1,264 (98.8%): the rest are priced per request or by two token
    # tiers (not representable in the seed) or refused by the seed's rules
    assert priced / total >= 0.985
