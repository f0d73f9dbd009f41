"""`aiusage ingest otel`: OTLP/JSON spans and log records to canonical events, one per LLM
or embedding call (aiusage.otel). Hand-built OTLP files of three instrumentations of one
call, Claude Code's log events, and the real samples of ../shared/data/otel/ (span dumps
and Langfuse exports, converted to OTLP envelopes here: tests/support/otlp.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiusage.cli import main
from aiusage.errors import IngestError
from aiusage.ingest import ingest
from aiusage.otel import load_mapping
from tests.support import otlp

PROJECT = Path(__file__).resolve().parents[2]
SHARED_OTEL = PROJECT.parent / "shared" / "data" / "otel"
MAPPING = load_mapping(PROJECT / "otel_attribution.yml")


def land(tmp_path, name, documents, mapping=MAPPING):
    path = tmp_path / name
    otlp.write_jsonl(path, documents)
    summary = ingest(tmp_path / "landing", "otel", [path], otel_mapping=mapping)
    landed = summary.files[0].landed
    return summary, [json.loads(line) for line in landed.read_text().splitlines()]


@pytest.mark.parametrize(
    ("shape", "request_id", "team", "user", "workflow"),
    [
        (otlp.openllmetry_call, "chatcmpl-1", "support", None, "support-bot"),
        (otlp.openinference_call, None, "growth", "ana@example.com", "weather-agent"),
        (otlp.litellm_call, "chatcmpl-3", "team-platform", "u-42", "litellm-proxy"),
    ],
)
def test_three_instrumentations_of_one_call_land_as_one_request_each(
    tmp_path, shape, request_id, team, user, workflow
):
    summary, events = land(tmp_path, "spans.json", [shape(f"chatcmpl-{shape.__name__}")])
    assert len(events) == 1 and summary.rows == 1 and summary.invalid_rows == 0
    event = events[0]
    call = otlp.CALL
    assert event["provider"] == "openai"
    assert event["model"] == "o4-mini-2025-04-16"  # the response's model
    assert event["input_tokens"] == call["input"]  # cached included, nothing subtracted
    assert event["cache_read_tokens"] == call["cached"]
    assert event["output_tokens"] == call["output"]
    assert event["reasoning_tokens"] == call["reasoning"]
    assert event["latency_ms"] == call["latency_ms"]
    assert event["occurred_at"] == "2026-11-17T09:00:00.000000Z"
    assert event["status"] == "success"
    assert event.get("team") == team and event.get("user_id") == user
    assert event["workflow"] == workflow  # service.name unless mapped otherwise
    if request_id is None:  # OpenInference carries no response id attribute
        assert event["request_id"] == "otel:1bf7651916cd43dd8448eb211c80319c:b000000000000002"
    else:
        assert event["request_id"] == f"chatcmpl-{shape.__name__}"
    # the wrappers (workflow/task, AGENT, the gateway's raw request) and tools are counted
    note = summary.files[0].note
    assert "1 LLM calls" in note and "0 embeddings" in note


def test_span_kinds_are_counted(tmp_path):
    summary, _ = land(
        tmp_path,
        "all.jsonl",
        [otlp.openllmetry_call("a"), otlp.openinference_call("b"), otlp.litellm_call("c")],
    )
    note = summary.files[0].note
    # wrappers: OpenLLMetry's workflow span and OpenInference's AGENT span (both carry the
    # summed tokens); other: OpenLLMetry's task span; tools: one each; LiteLLM's raw request
    assert note.startswith("9 spans, 3 LLM calls, 0 embeddings, 2 wrappers, ")
    assert "1 raw-request children, 2 tool spans, 1 other spans" in note


def test_current_gen_ai_names_cache_writes_errors_and_conversation(tmp_path):
    trace = "3df7651916cd43dd8448eb211c80319c"
    spans = [
        otlp.span(
            trace,
            "d000000000000001",
            "invoke_agent planner",
            "2026-11-17T08:00:00Z",
            "2026-11-17T08:00:09Z",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
        ),
        otlp.span(
            trace,
            "d000000000000002",
            "chat claude-sonnet-4-5",
            "2026-11-17T08:00:01Z",
            "2026-11-17T08:00:04.250Z",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "gen_ai.response.model": "claude-sonnet-4-5-20250929",
                "gen_ai.response.id": "msg_01",
                "gen_ai.conversation.id": "conv-9",
                "gen_ai.usage.input_tokens": 5000,
                "gen_ai.usage.cache_read.input_tokens": 3000,
                "gen_ai.usage.cache_creation.input_tokens": 1500,
                "gen_ai.usage.output_tokens": 700,
                "gen_ai.response.time_to_first_chunk": 0.42,
            },
            parent="d000000000000001",
        ),
        otlp.span(
            trace,
            "d000000000000003",
            "chat claude-sonnet-4-5",
            "2026-11-17T08:00:05Z",
            "2026-11-17T08:00:06Z",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "error.type": "RateLimitError",
                "http.response.status_code": 429,
            },
            parent="d000000000000001",
            status_code=2,
            message="429 Too Many Requests",
        ),
        otlp.span(
            trace,
            "d000000000000004",
            "execute_tool search",
            "2026-11-17T08:00:04.3Z",
            "2026-11-17T08:00:04.9Z",
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
            parent="d000000000000001",
        ),
        otlp.span(
            trace,
            "d000000000000005",
            "embeddings text-embedding-3-small",
            "2026-11-17T08:00:00.1Z",
            "2026-11-17T08:00:00.3Z",
            {
                "gen_ai.operation.name": "embeddings",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "text-embedding-3-small",
                "gen_ai.usage.input_tokens": 64,
            },
            parent="d000000000000001",
        ),
    ]
    doc = otlp.traces(
        {
            "service.name": "planner-svc",
            "aiusage.workflow": "planning",
            "aiusage.feature": "roadmap",
        },
        "opentelemetry.instrumentation.anthropic",
        spans,
    )
    path = tmp_path / "traces.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    summary = ingest(tmp_path / "landing", "otel", [path], otel_mapping=MAPPING)
    events = [json.loads(x) for x in summary.files[0].landed.read_text().splitlines()]
    assert [e["request_id"] for e in events] == [
        "msg_01",
        f"otel:{trace}:d000000000000003",
        f"otel:{trace}:d000000000000005",
    ]
    ok, failed, embedding = events
    assert (ok["input_tokens"], ok["cache_read_tokens"], ok["cache_write_tokens"]) == (
        5000,
        3000,
        1500,
    )
    assert (ok["output_tokens"], ok["latency_ms"], ok["ttft_ms"]) == (700, 3250, 420)
    assert ok["session_id"] == "conv-9" and ok["model"] == "claude-sonnet-4-5-20250929"
    assert ok["workflow"] == "planning" and ok["feature"] == "roadmap"  # mapped before service.name
    assert (failed["status"], failed["http_status"], failed["error_type"]) == (
        "rate_limited",
        429,
        "RateLimitError",
    )
    assert failed["output_tokens"] == 0 and failed["model"] == "claude-sonnet-4-5"
    assert (embedding["model"], embedding["input_tokens"], embedding["output_tokens"]) == (
        "text-embedding-3-small",
        64,
        0,
    )
    assert "1 tool spans" in summary.files[0].note


def test_claude_code_api_events_land_per_developer_and_metrics_are_not_added(tmp_path):
    summary, events = land(
        tmp_path, "claude.jsonl", [otlp.claude_code_logs(), otlp.claude_code_metrics()]
    )
    assert len(events) == 4
    assert "4 Claude Code api events, 2 other log records, 4 metric points" in (
        summary.files[0].note
    )
    first, second, third, error = events
    assert first["user_id"] == "ana@example.com" and third["user_id"] == "bo@example.com"
    assert first["team"] == "platform" and first["workflow"] == "claude-code"
    assert first["session_id"] == "s-1" and first["provider"] == "anthropic"
    # input = uncached 12 + cache reads 18,000 + cache writes 2,500
    assert (first["input_tokens"], first["cache_read_tokens"], first["cache_write_tokens"]) == (
        20512,
        18000,
        2500,
    )
    assert first["output_tokens"] == 410 and first["reported_cost_usd"] == 0.0212475
    # written when the answer came (10:00:05), 5,000 ms after it started
    assert first["occurred_at"] == "2026-11-17T10:00:00.000000Z" and first["latency_ms"] == 5000
    assert second["input_tokens"] == 300 and third["input_tokens"] == 6000
    assert (error["status"], error["http_status"], error["input_tokens"]) == ("error", 529, 0)
    assert len({e["request_id"] for e in events}) == 4
    # the same file landed again is skipped; the ids are stable
    again = ingest(tmp_path / "landing", "otel", [tmp_path / "claude.jsonl"], otel_mapping=MAPPING)
    assert again.files_skipped == 1


def test_unreadable_lines_land_as_quarantine_rows_and_non_otlp_files_are_refused(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(otlp.litellm_call("x")) + "\n{not json\n")
    summary = ingest(tmp_path / "landing", "otel", [path], otel_mapping=MAPPING)
    rows = [json.loads(x) for x in summary.files[0].landed.read_text().splitlines()]
    assert rows[1] == {"_ingest_error": "malformed_otlp_json", "_raw": "{not json"}
    assert (summary.rows, summary.invalid_rows) == (2, 1)
    events = tmp_path / "events.jsonl"
    events.write_text('{"request_id": "r"}\n')
    with pytest.raises(IngestError, match="not OTLP/JSON"):
        ingest(tmp_path / "landing", "otel", [events], otel_mapping=MAPPING)
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(IngestError, match="not csv"):
        ingest(tmp_path / "landing", "otel", [tmp_path / "x.csv"], otel_mapping=MAPPING)


def test_attribution_mapping_is_configurable_and_checked(tmp_path):
    custom = tmp_path / "mapping.yml"
    custom.write_text("fields:\n  team: [service.namespace]\n  workflow: gen_ai.agent.name\n")
    doc = otlp.openllmetry_call("r1")
    doc["resourceSpans"][0]["resource"]["attributes"] += otlp.attrs({"service.namespace": "ops"})
    _, events = land(tmp_path, "t.json", [doc], mapping=load_mapping(custom))
    assert events[0]["team"] == "ops" and "workflow" not in events[0]
    custom.write_text("fields:\n  squad: [team]\n")
    with pytest.raises(IngestError, match="unknown event field 'squad'"):
        load_mapping(custom)


def test_cli_lands_otel_into_events_and_says_what_it_read(tmp_path):
    path = tmp_path / "claude.jsonl"
    otlp.write_jsonl(path, [otlp.claude_code_logs()])
    env = {"AIUSAGE_LANDING_DIR": str(tmp_path / "landing")}
    result = CliRunner().invoke(main, ["ingest", "otel", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "/events/dt=" in result.output and "otel-claude." in result.output
    assert "read: 0 spans" in result.output and "4 Claude Code api events" in result.output
    result = CliRunner().invoke(
        main, ["ingest", "otel", str(path), "--mapping", str(tmp_path / "none.yml")], env=env
    )
    assert result.exit_code != 0 and "no OTel attribution mapping" in result.output


# -- the real samples ----------------------------------------------------------------------


def _sample(name):
    path = SHARED_OTEL / name
    if not path.exists():
        pytest.skip(f"{path} absent: the shared real samples are not on this machine")
    return json.loads(path.read_text())


def test_vercel_ai_sdk_sample_lands_its_provider_calls(tmp_path):
    dump = _sample("openinference-vercel-v6_all-spans.json")
    summary, events = land(tmp_path, "vercel.json", [otlp.vercel_dump_to_otlp(dump)])
    # expected from the dump itself: the provider calls are the do* spans
    calls = [s for s in dump if s["name"].split(".")[-1] in ("doGenerate", "doStream", "doEmbed")]
    assert len(events) == len(calls) == 5
    for event, call in zip(events, calls, strict=True):
        a = call["attributes"]
        expected_input = a.get("gen_ai.usage.input_tokens", a.get("ai.usage.tokens"))
        assert event["input_tokens"] == expected_input
        assert event["output_tokens"] == a.get("gen_ai.usage.output_tokens", 0)
        start = call["startTime"][0] * 1000 + call["startTime"][1] / 1e6
        end = call["endTime"][0] * 1000 + call["endTime"][1] / 1e6
        assert event["latency_ms"] == round(end - start)
        assert event["provider"] == "openai"
    stream = events[3]
    assert stream["ttft_ms"] == round(calls[3]["attributes"]["ai.response.msToFirstChunk"])
    assert events[4]["model"] == "text-embedding-3-small"
    assert "5 wrappers" in summary.files[0].note  # the outer ai.* spans carry ai.usage.*


@pytest.mark.parametrize(
    "name",
    [
        "langfuse_pydantic-ai-tools-2025-12-04.trace.json",
        "langfuse_openai-agents-2025-09-30.trace.json",
    ],
)
def test_langfuse_exported_traces_land_one_request_per_generation(tmp_path, name):
    trace = _sample(name)
    _, events = land(tmp_path, "trace.json", [otlp.langfuse_trace_to_otlp(trace)])
    # expected from Langfuse's own reading of the trace: its GENERATION observations
    generations = [o for o in trace["observations"] if o["type"] == "GENERATION"]
    assert len(events) == len(generations)
    by_span = {e["metadata"]["span_id"]: e for e in events}
    for generation in generations:
        event = by_span[generation["id"]]
        usage = generation["usageDetails"]
        assert event["input_tokens"] == usage["input"]
        assert event["output_tokens"] == usage["output"]
        assert event["model"].startswith(generation["model"].split("-20")[0])


ATTRIBUTE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
)
KEYS = st.sampled_from(
    [
        "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.response.model",
        "gen_ai.request.model", "gen_ai.response.id", "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
        "llm.token_count.prompt", "openinference.span.kind", "error.type",
        "http.response.status_code", "ai.response.msToFirstChunk", "team", "event.name",
        "duration_ms", "model", "input_tokens", "event.timestamp",
    ]
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spans=st.lists(
        st.tuples(
            st.dictionaries(KEYS, ATTRIBUTE_VALUES, max_size=8),
            st.integers(min_value=-5, max_value=2**80),
            st.integers(min_value=-5, max_value=2**80),
        ),
        max_size=6,
    ),
    operation=st.sampled_from(["chat", "embeddings", "execute_tool", None]),
)
def test_hostile_attributes_never_crash_and_each_call_lands_one_row(spans, operation):
    from aiusage.otel import classify, convert, read_otlp

    raw = []
    for number, (attributes, start, end) in enumerate(spans):
        if operation:
            attributes = {**attributes, "gen_ai.operation.name": operation}
        raw.append({
            "traceId": "t", "spanId": f"s{number}", "name": "x",
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
            "attributes": otlp.attrs(attributes), "status": {"code": 2},
        })  # fmt: skip
    text = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": raw}]}]})
    text += "\n" + json.dumps(
        otlp.logs(
            {},
            "s",
            [("2026-11-17T10:00:00Z", "claude_code.api_request", spans[0][0] if spans else {})],
        )
    )  # noqa: E501
    conversion = convert(Path("h.jsonl"), text, MAPPING)
    kinds = classify(read_otlp(Path("h.jsonl"), text).spans)
    calls = sum(kind in ("llm", "embedding") for kind in kinds)
    assert len(conversion.events) == calls + 1  # and the Claude Code event
    for event in conversion.events:
        json.dumps(event)  # every row is one JSON line
