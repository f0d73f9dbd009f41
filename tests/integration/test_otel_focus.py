"""OTLP files through `aiusage ingest otel` and a dbt build: one priced request per LLM call
(OpenLLMetry, OpenInference and LiteLLM shapes of one call, Claude Code's events per
developer, the real samples of ../shared/data/otel/ converted to OTLP envelopes), every
landed row accounted for; then `aiusage export focus` on that dbt-built warehouse: its
BilledCost total is the warehouse's cost of record, unpriced usage left out and counted.
The focus-validator run on a generated warehouse is at the end (slow_ci: make test-slow)."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from aiusage.cli import main
from aiusage.focus import focus_rows, run_validator, write_export
from aiusage.ingest import ingest
from aiusage.otel import load_mapping
from tests.support import otlp
from tests.support.cli_env import dbt_env, run_dbt

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parents[2]
SHARED_OTEL = PROJECT.parent / "shared" / "data" / "otel"
DAY = date(2026, 11, 18)
MAPPING = load_mapping(PROJECT / "otel_attribution.yml")

# o4-mini list prices (seeds/model_prices.csv): input 1.10, cache read 0.275, output 4.40
# per million tokens; the call: 1,200 input (1,024 cached), 300 output.
O4_MINI_CALL_COST = (
    Decimal(176) * Decimal("1.10") + Decimal(1024) * Decimal("0.275") + 300 * Decimal("4.40")
) / 1_000_000  # 0.0017952
# Claude Code (claude-sonnet-4-5: 3.00 in, 0.30 cache read, 3.75 cache write, 15.00 out;
# claude-haiku-4-5: 1.00 in, 5.00 out)
CLAUDE_COSTS = {
    ("ana@example.com", "claude-sonnet-4-5"): (
        12 * Decimal(3) + 18000 * Decimal("0.30") + 2500 * Decimal("3.75") + 410 * 15
    )
    / 1_000_000,
    ("ana@example.com", "claude-haiku-4-5"): (300 * Decimal(1) + 50 * 5) / Decimal(1_000_000),
    ("bo@example.com", "claude-sonnet-4-5"): (2000 * Decimal(3) + 4000 * Decimal("3.75") + 100 * 15)
    / 1_000_000,
}


def _unpriced_call() -> dict:
    return otlp.traces(
        {"service.name": "lab"},
        "opentelemetry.instrumentation.openai",
        [
            otlp.span("4ef7651916cd43dd8448eb211c80319c", "e000000000000001", "chat",
                      "2026-11-17T12:00:00Z", "2026-11-17T12:00:01Z",
                      {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                       "gen_ai.request.model": "mystery-model-1", "gen_ai.response.id": "unp-1",
                       "gen_ai.usage.input_tokens": 777, "gen_ai.usage.output_tokens": 23})
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("otel_wh")
    landing = root / "landing"
    env = dbt_env(root, PROJECT, AIUSAGE_PUBLISHED_DIR=str(root / "published"))
    files = {
        "openllmetry.json": [otlp.openllmetry_call("chatcmpl-openllmetry")],
        "openinference.json": [otlp.openinference_call("resp-openinference")],
        "litellm.json": [otlp.litellm_call("chatcmpl-litellm")],
        "claude-code.jsonl": [otlp.claude_code_logs(), otlp.claude_code_metrics()],
        "unpriced.json": [_unpriced_call()],
    }
    paths = []
    for name, documents in files.items():
        otlp.write_jsonl(root / name, documents)
        paths.append(root / name)
    broken = root / "broken.jsonl"
    bulk = [otlp.litellm_call(f"chatcmpl-bulk-{i}") for i in range(25)]
    for document in bulk:  # 25 good lines and a broken one: below the 5% reject-rate gate
        document["resourceSpans"][0]["resource"]["attributes"] = otlp.attrs(
            {"service.name": "bulk"}
        )
    broken.write_text("".join(json.dumps(d) + "\n" for d in bulk) + "{oops\n")
    paths.append(broken)
    samples = {}
    if SHARED_OTEL.exists():
        dump = json.loads((SHARED_OTEL / "openinference-vercel-v6_all-spans.json").read_text())
        otlp.write_jsonl(root / "vercel.json", [otlp.vercel_dump_to_otlp(dump)])
        paths.append(root / "vercel.json")
        samples["vercel"] = dump
        for name in ("langfuse_pydantic-ai-tools-2025-12-04", "langfuse_openai-agents-2025-09-30"):
            trace = json.loads((SHARED_OTEL / f"{name}.trace.json").read_text())
            otlp.write_jsonl(root / f"{name}.json", [otlp.langfuse_trace_to_otlp(trace)])
            paths.append(root / f"{name}.json")
            samples[name] = trace
    summary = ingest(landing, "otel", paths, DAY, otel_mapping=MAPPING)
    result = run_dbt(env, PROJECT, "build", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return env, root, summary, samples


def _query(env, sql, params=None):
    with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_three_instrumentations_land_as_one_priced_request_each(warehouse):
    env, *_ = warehouse
    rows = _query(
        env,
        """select request_id, team, workflow, input_tokens, cache_read_tokens, output_tokens,
                  reasoning_tokens, latency_ms, total_cost_usd, source_system
           from fct_llm_requests where model = 'o4-mini' and workflow != 'bulk'
           order by workflow""",
    )
    assert [r[2] for r in rows] == ["litellm-proxy", "support-bot", "weather-agent"]
    for row in rows:
        assert row[3:8] == (1200, 1024, 300, 256, 2500)
        assert row[8] == O4_MINI_CALL_COST
        assert row[9] == "events"  # landed as canonical events
    assert [r[1] for r in rows] == ["team-platform", "support", "growth"]
    # the wrapper spans, the raw-request child and the tools are not requests
    (count,) = _query(env, "select count(*) from fct_llm_requests where model = 'o4-mini'")[0]
    assert count == 3 + 25


def test_claude_code_events_are_requests_of_the_developer(warehouse):
    env, *_ = warehouse
    rows = _query(
        env,
        """select user_id, model, team, workflow, status, total_cost_usd, reported_cost_usd
           from fct_llm_requests where workflow = 'claude-code' order by occurred_at""",
    )
    assert len(rows) == 4
    for user, model, team, _workflow, status, cost, _reported in rows[:3]:
        assert team == "platform" and status == "success"
        assert cost == CLAUDE_COSTS[(user, model)]
    assert rows[0][6] == Decimal("0.0212475")  # the tool's own estimate, kept apart
    assert rows[3][0] == "bo@example.com" and rows[3][4] == "error"
    by_user = dict(
        _query(
            env,
            """select user_id, sum(total_cost_usd) from fct_llm_requests
               where workflow = 'claude-code' group by 1""",
        )
    )
    assert (
        by_user["ana@example.com"]
        == CLAUDE_COSTS[("ana@example.com", "claude-sonnet-4-5")]
        + (CLAUDE_COSTS[("ana@example.com", "claude-haiku-4-5")])
    )


def test_every_landed_otel_row_is_accounted_for(warehouse):
    env, _root, summary, _ = warehouse
    landed = {str(f.landed): f.rows for f in summary.files}
    rows = _query(
        env,
        """select source_file, landed_rows, accepted_rows, duplicate_rows, rejected_rows
           from rpt_landing_accounting""",
    )
    seen = {r[0]: r for r in rows if r[0] in landed}
    assert set(seen) == set(landed)
    for file, (_, total, accepted, duplicates, rejected) in seen.items():
        assert total == landed[file] == accepted + duplicates + rejected
    reasons = _query(
        env,
        "select rejection_reason from fct_rejected_events where source_file like '%otel-broken%'",
    )
    assert reasons == [("malformed_otlp_json",)]


def test_real_samples_land_with_the_tokens_they_carry(warehouse):
    env, _root, _summary, samples = warehouse
    if not samples:
        pytest.skip(f"{SHARED_OTEL} absent: the shared real samples are not on this machine")
    dump = samples["vercel"]
    calls = [s for s in dump if s["name"].split(".")[-1] in ("doGenerate", "doStream", "doEmbed")]
    expected_input = sum(
        s["attributes"].get("gen_ai.usage.input_tokens", s["attributes"].get("ai.usage.tokens", 0))
        for s in calls
    )
    expected_output = sum(s["attributes"].get("gen_ai.usage.output_tokens", 0) for s in calls)
    got = _query(
        env,
        """select count(*), sum(input_tokens), sum(output_tokens), bool_and(is_priced)
           from fct_llm_requests where workflow = 'vercel-ai-sdk-tests'""",
    )[0]
    assert got == (5, expected_input, expected_output, True)  # the embedding priced too
    for name in ("langfuse_pydantic-ai-tools-2025-12-04", "langfuse_openai-agents-2025-09-30"):
        trace = samples[name]
        generations = [o for o in trace["observations"] if o["type"] == "GENERATION"]
        # the request id: the span's gen_ai.response.id, else otel:<trace id>:<span id>
        metadata = [
            json.loads(g["metadata"]) if isinstance(g["metadata"], str) else g["metadata"]
            for g in generations
        ]
        ids = [
            m["attributes"].get("gen_ai.response.id") or f"otel:{trace['trace']['id']}:{g['id']}"
            for g, m in zip(generations, metadata, strict=True)
        ]
        rows = _query(
            env,
            f"""select sum(input_tokens), sum(output_tokens), count(*), bool_and(is_priced)
                from fct_llm_requests where request_id in ({", ".join("?" for _ in ids)})""",
            ids,
        )[0]
        assert rows == (
            sum(g["usageDetails"]["input"] for g in generations),
            sum(g["usageDetails"]["output"] for g in generations),
            len(generations),
            True,
        )


def test_focus_export_bills_the_warehouse_cost_and_leaves_unpriced_usage_out(warehouse, tmp_path):
    env, *_ = warehouse
    output = tmp_path / "focus.csv"
    runner_env = {k: env[k] for k in ("AIUSAGE_DUCKDB_PATH", "AIUSAGE_PUBLISHED_DIR")}
    result = CliRunner().invoke(
        main,
        ["export", "focus", "--version", "1.2", "--output", str(output),
         "--start-date", "2026-11-17", "--end-date", "2026-11-17"],
        env=runner_env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "left out: 1 unpriced requests (800 tokens)" in result.stderr
    rows = list(csv.DictReader(output.open()))
    ((cost_of_record, priced),) = _query(
        env,
        """select sum(total_cost_usd), count(*) from fct_llm_requests
           where is_priced and usage_date = '2026-11-17'""",
    )
    assert sum(Decimal(r["BilledCost"]) for r in rows) == cost_of_record
    assert not any(Decimal(r["BilledCost"]) == 0 and r["ConsumedQuantity"] == "0" for r in rows)
    assert {r["ServiceCategory"] for r in rows} == {"AI and Machine Learning"}
    assert all("mystery" not in r["SkuId"] for r in rows)
    support = {r["SkuMeter"]: r for r in rows if r["SubAccountId"] == "support"}
    assert set(support) == {"Input Tokens", "Cache Read Input Tokens", "Output Tokens"}
    uncached = support["Input Tokens"]
    assert (uncached["ConsumedQuantity"], uncached["ConsumedUnit"]) == ("176", "Tokens")
    assert Decimal(uncached["ListCost"]) == Decimal(176) * Decimal("1.10") / 1_000_000
    assert (uncached["ListUnitPrice"], uncached["PricingUnit"]) == ("1.1", "1000000 Tokens")
    assert uncached["PricingQuantity"] == "0.000176"
    assert uncached["SkuPriceId"] == "openai/o4-mini/2025-04-16/standard/input"
    assert (uncached["ProviderName"], uncached["ChargePeriodStart"]) == (
        "OpenAI",
        "2026-11-17T00:00:00Z",
    )
    assert json.loads(uncached["Tags"]) == {"team": "support", "workflow": "support-bot"}
    assert Decimal(support["Output Tokens"]["BilledCost"]) == Decimal("0.00132")
    assert (
        json.loads(support["Cache Read Input Tokens"]["SkuPriceDetails"])["TokenCacheAction"]
        == "Read"
    )
    # the same export as Parquet: decimals, same total
    export = focus_rows(Path(env["AIUSAGE_DUCKDB_PATH"]), date(2026, 11, 17), date(2026, 11, 17))
    write_export(export, tmp_path / "focus.parquet")
    table = pq.read_table(tmp_path / "focus.parquet")
    assert sum(table.column("BilledCost").to_pylist()) == cost_of_record
    assert export.requests == priced and export.unpriced_requests == 1


@pytest.mark.slow_ci
def test_focus_export_of_a_generated_warehouse_passes_focus_validator(sample_warehouse, tmp_path):
    validator = PROJECT / ".venv-focus" / "bin" / "focus-validator"
    if not validator.exists():
        pytest.fail("focus-validator is not installed: make focus-validator (make test-slow does)")
    settings, _summary = sample_warehouse
    export = focus_rows(settings.duckdb_path, date.min, date.max)
    output = tmp_path / "focus.csv"
    write_export(export, output)
    ((cost_of_record, unpriced),) = _query(
        {"AIUSAGE_DUCKDB_PATH": str(settings.duckdb_path)},
        "select sum(total_cost_usd) filter (where is_priced), count(*) filter (where not is_priced)"
        " from fct_llm_requests",
    )
    assert export.billed_cost == cost_of_record and export.unpriced_requests == unpriced > 0
    verdict, output_text = run_validator(validator, output)
    assert verdict.total > 500 and verdict.passed > 100, output_text
    # Fail: N of its Total line, less the one branch of the OR requirement on InvoiceId
    # nullability (InvoiceId-C-003-C: -004 null OR -005 not null) that the data cannot meet
    # both ways: the validator reports the requirement itself as passed
    assert verdict.failed_requirements == [], output_text
    assert verdict.failed == len(verdict.unmet_branches) <= 1
