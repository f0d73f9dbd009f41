"""OTLP/JSON envelopes for tests, as the OpenTelemetry Collector's file exporter writes them
(the protobuf JSON mapping of opentelemetry-proto: attributes as {key, value: AnyValue},
64-bit integers and nanosecond times as strings); and converters from the span dumps of
the real samples in ../shared/data/otel/ (which are not OTLP envelopes) to envelopes."""

from __future__ import annotations

import json
from datetime import datetime


def any_value(value) -> dict:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": attrs(value)}}
    return {"stringValue": str(value)}


def attrs(mapping: dict) -> list[dict]:
    return [{"key": k, "value": any_value(v)} for k, v in mapping.items()]


def nanos(iso: str) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return str(int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000)


def span(
    trace_id: str,
    span_id: str,
    name: str,
    start: str,
    end: str,
    attributes: dict,
    parent: str | None = None,
    status_code: int = 0,
    message: str | None = None,
) -> dict:
    out = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": nanos(start),
        "endTimeUnixNano": nanos(end),
        "attributes": attrs(attributes),
        "status": {"code": status_code, **({"message": message} if message else {})},
    }
    if parent:
        out["parentSpanId"] = parent
    return out


def traces(resource: dict, scope: str, spans: list[dict]) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs(resource)},
                "scopeSpans": [{"scope": {"name": scope, "version": "1.0"}, "spans": spans}],
            }
        ]
    }


def logs(resource: dict, scope: str, records: list[tuple[str, str, dict]]) -> dict:
    """records: (time ISO, body, attributes)."""
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": attrs(resource)},
                "scopeLogs": [
                    {
                        "scope": {"name": scope},
                        "logRecords": [
                            {
                                "timeUnixNano": nanos(time),
                                "observedTimeUnixNano": nanos(time),
                                "body": {"stringValue": body},
                                "attributes": attrs(attributes),
                            }
                            for time, body, attributes in records
                        ],
                    }
                ],
            }
        ]
    }


def write_jsonl(path, documents: list[dict]) -> None:
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))


# -- the real samples of ../shared/data/otel/ as OTLP envelopes ----------------------------


def vercel_dump_to_otlp(dump: list[dict]) -> dict:
    """openinference-vercel-v6_all-spans.json: a JSON array of span dumps (flat attribute
    dicts, [sec, nsec] times, spanContext) -> one OTLP traces object."""

    def ns(pair) -> str:
        return str(pair[0] * 1_000_000_000 + pair[1])

    spans = []
    for item in dump:
        spans.append(
            {
                "traceId": item["spanContext"]["traceId"],
                "spanId": item["spanContext"]["spanId"],
                "name": item["name"],
                "startTimeUnixNano": ns(item["startTime"]),
                "endTimeUnixNano": ns(item["endTime"]),
                "attributes": attrs(item["attributes"]),
                "status": {"code": item["status"]["code"]},
            }
        )
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs({"service.name": "vercel-ai-sdk-tests"})},
                "scopeSpans": [{"scope": {"name": "ai"}, "spans": spans}],
            }
        ]
    }


def langfuse_trace_to_otlp(trace: dict) -> dict:
    """A Langfuse trace export (observations keeping the original OTel attributes,
    resourceAttributes and scope in metadata) -> one OTLP traces object, one resource and
    scope block per distinct (resource, scope), parent links and times kept."""
    blocks: dict[str, dict] = {}
    trace_id = trace["trace"]["id"]
    for observation in trace["observations"]:
        metadata = observation.get("metadata") or {}
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        resource = metadata.get("resourceAttributes") or {}
        scope = (metadata.get("scope") or {}).get("name", "")
        key = json.dumps([resource, scope], sort_keys=True)
        block = blocks.setdefault(
            key,
            {
                "resource": {"attributes": attrs(resource)},
                "scopeSpans": [{"scope": {"name": scope}, "spans": []}],
            },
        )
        attributes = {
            k: (json.loads(v) if isinstance(v, str) and v[:1] == "[" else v)
            for k, v in (metadata.get("attributes") or {}).items()
        }
        out = {
            "traceId": trace_id,
            "spanId": observation["id"],
            "name": observation["name"],
            "startTimeUnixNano": nanos(observation["startTime"]),
            "endTimeUnixNano": nanos(observation["endTime"]),
            "attributes": attrs(attributes),
            "status": {"code": 2 if observation.get("level") == "ERROR" else 0},
        }
        if observation.get("parentObservationId"):
            out["parentSpanId"] = observation["parentObservationId"]
        block["scopeSpans"][0]["spans"].append(out)
    return {"resourceSpans": list(blocks.values())}


# -- one call (o4-mini, 1,200 input tokens of which 1,024 cached, 300 output of which 256
# reasoning, 2.5 s) as three instrumentations report it -----------------------------------

CALL = {
    "start": "2026-11-17T09:00:00Z",
    "end": "2026-11-17T09:00:02.500Z",
    "input": 1200,
    "cached": 1024,
    "output": 300,
    "reasoning": 256,
    "latency_ms": 2500,
}


def openllmetry_call(response_id: str) -> dict:
    """OpenLLMetry (Traceloop): a workflow span, a task span, the `openai.chat` span with
    the past GenAI names (gen_ai.system, prompt_tokens / completion_tokens) and a tool."""
    trace = "0af7651916cd43dd8448eb211c80319c"
    spans = [
        span(
            trace,
            "a000000000000001",
            "triage.workflow",
            CALL["start"],
            "2026-11-17T09:00:03Z",
            {
                "traceloop.span.kind": "workflow",
                "traceloop.entity.name": "triage",
                "gen_ai.usage.prompt_tokens": CALL["input"],
            },
        ),
        span(
            trace,
            "a000000000000002",
            "classify.task",
            CALL["start"],
            "2026-11-17T09:00:03Z",
            {"traceloop.span.kind": "task"},
            parent="a000000000000001",
        ),
        span(
            trace,
            "a000000000000003",
            "openai.chat",
            CALL["start"],
            CALL["end"],
            {
                "gen_ai.system": "OpenAI",
                "llm.request.type": "chat",
                "gen_ai.request.model": "o4-mini",
                "gen_ai.response.model": "o4-mini-2025-04-16",
                "gen_ai.response.id": response_id,
                "gen_ai.usage.prompt_tokens": CALL["input"],
                "gen_ai.usage.completion_tokens": CALL["output"],
                "gen_ai.usage.cache_read_input_tokens": CALL["cached"],
                "gen_ai.usage.reasoning_tokens": CALL["reasoning"],
                "llm.usage.total_tokens": CALL["input"] + CALL["output"],
                "gen_ai.openai.response.service_tier": "default",
            },
            parent="a000000000000002",
        ),
        span(
            trace,
            "a000000000000004",
            "lookup.tool",
            "2026-11-17T09:00:02.600Z",
            "2026-11-17T09:00:02.700Z",
            {"traceloop.span.kind": "tool"},
            parent="a000000000000001",
        ),
    ]
    return traces(
        {
            "service.name": "support-bot",
            "team": "support",
            "deployment.environment.name": "production",
        },
        "opentelemetry.instrumentation.openai",
        spans,
    )


def openinference_call(response_id: str) -> dict:
    """OpenInference: an AGENT span, the LLM span (llm.* names) and a TOOL span; the
    response id only in the invocation parameters (so the span ids identify the call)."""
    trace = "1bf7651916cd43dd8448eb211c80319c"
    spans = [
        span(
            trace,
            "b000000000000001",
            "Agent workflow",
            CALL["start"],
            "2026-11-17T09:00:03Z",
            {
                "openinference.span.kind": "AGENT",
                "llm.model_name": "o4-mini",
                "llm.token_count.prompt": CALL["input"],
            },
        ),
        span(
            trace,
            "b000000000000002",
            "response",
            CALL["start"],
            CALL["end"],
            {
                "openinference.span.kind": "LLM",
                "llm.system": "openai",
                "llm.provider": "openai",
                "llm.model_name": "o4-mini-2025-04-16",
                "llm.invocation_parameters": json.dumps({"id": response_id}),
                "llm.token_count.prompt": CALL["input"],
                "llm.token_count.completion": CALL["output"],
                "llm.token_count.total": CALL["input"] + CALL["output"],
                "llm.token_count.prompt_details.cache_read": CALL["cached"],
                "llm.token_count.completion_details.reasoning": CALL["reasoning"],
                "user.id": "ana@example.com",
            },
            parent="b000000000000001",
        ),
        span(
            trace,
            "b000000000000003",
            "get_weather",
            "2026-11-17T09:00:02.600Z",
            "2026-11-17T09:00:02.700Z",
            {"openinference.span.kind": "TOOL"},
            parent="b000000000000001",
        ),
    ]
    return traces(
        {"service.name": "weather-agent", "aiusage.team": "growth"},
        "openinference.instrumentation.openai",
        spans,
    )


def litellm_call(response_id: str) -> dict:
    """LiteLLM's OTel callback: the `litellm_request` span (gen_ai.* past names, the key's
    team and user in metadata.*) and its `raw_gen_ai_request` child (llm.openai.* raw
    fields, usage included): one call."""
    trace = "2cf7651916cd43dd8448eb211c80319c"
    usage = {
        "prompt_tokens": CALL["input"],
        "completion_tokens": CALL["output"],
        "prompt_tokens_details": {"cached_tokens": CALL["cached"]},
        "completion_tokens_details": {"reasoning_tokens": CALL["reasoning"]},
    }
    spans = [
        span(
            trace,
            "c000000000000001",
            "litellm_request",
            CALL["start"],
            CALL["end"],
            {
                "gen_ai.system": "openai",
                "gen_ai.request.model": "o4-mini",
                "gen_ai.response.model": "o4-mini-2025-04-16",
                "gen_ai.response.id": response_id,
                "llm.is_streaming": "False",
                "gen_ai.usage.prompt_tokens": CALL["input"],
                "gen_ai.usage.completion_tokens": CALL["output"],
                "gen_ai.usage.cache_read_input_tokens": CALL["cached"],
                "gen_ai.usage.reasoning_tokens": CALL["reasoning"],
                "llm.usage.total_tokens": CALL["input"] + CALL["output"],
                "metadata.user_api_key_team_id": "team-platform",
                "metadata.user_api_key_user_id": "u-42",
            },
        ),
        span(
            trace,
            "c000000000000002",
            "raw_gen_ai_request",
            CALL["start"],
            CALL["end"],
            {
                "llm.openai.model": "o4-mini",
                "gen_ai.request.model": "o4-mini",
                "llm.openai.usage": json.dumps(usage),
                "gen_ai.usage.prompt_tokens": CALL["input"],
                "gen_ai.usage.completion_tokens": CALL["output"],
            },
            parent="c000000000000001",
        ),
    ]
    return traces({"service.name": "litellm-proxy"}, "litellm", spans)


def claude_code_logs() -> dict:
    """Claude Code's log events (OTEL_LOGS_EXPORTER=otlp): two developers' api_request
    events, one api_error, a user_prompt and a tool_result; team from
    OTEL_RESOURCE_ATTRIBUTES. Anthropic's counts: input_tokens excludes the cache."""

    def request(email, session, stamp, model, inp, out, read, write, cost, ms):
        return (
            stamp,
            "claude_code.api_request",
            {
                "event.name": "api_request",
                "event.timestamp": stamp,
                "session.id": session,
                "user.email": email,
                "user.account_uuid": f"uuid-{email}",
                "organization.id": "org-1",
                "model": model,
                "input_tokens": inp,
                "output_tokens": out,
                "cache_read_tokens": read,
                "cache_creation_tokens": write,
                "cost_usd": cost,
                "duration_ms": ms,
            },
        )

    return logs(
        {"service.name": "claude-code", "team.id": "platform"},
        "com.anthropic.claude_code.events",
        [
            request(
                "ana@example.com",
                "s-1",
                "2026-11-17T10:00:05.000Z",
                "claude-sonnet-4-5-20250929",
                12,
                410,
                18000,
                2500,
                0.0212475,
                5000,
            ),
            request(
                "ana@example.com",
                "s-1",
                "2026-11-17T10:01:00.000Z",
                "claude-haiku-4-5-20251001",
                300,
                50,
                0,
                0,
                0.00055,
                800,
            ),
            request(
                "bo@example.com",
                "s-2",
                "2026-11-17T11:00:02.000Z",
                "claude-sonnet-4-5-20250929",
                2000,
                100,
                0,
                4000,
                0.0225,
                2000,
            ),
            (
                "2026-11-17T11:00:09.000Z",
                "claude_code.api_error",
                {
                    "event.name": "api_error",
                    "event.timestamp": "2026-11-17T11:00:09.000Z",
                    "session.id": "s-2",
                    "user.email": "bo@example.com",
                    "model": "claude-sonnet-4-5-20250929",
                    "error": "Overloaded",
                    "status_code": 529,
                    "duration_ms": 1200,
                    "attempt": 1,
                },
            ),
            (
                "2026-11-17T09:59:59.000Z",
                "claude_code.user_prompt",
                {
                    "event.name": "user_prompt",
                    "session.id": "s-1",
                    "prompt_length": 42,
                    "user.email": "ana@example.com",
                },
            ),
            (
                "2026-11-17T10:00:06.000Z",
                "claude_code.tool_result",
                {
                    "event.name": "tool_result",
                    "tool_name": "Read",
                    "success": "true",
                    "duration_ms": 12,
                    "user.email": "ana@example.com",
                },
            ),
        ],
    )


def claude_code_metrics() -> dict:
    """The metrics Claude Code exports beside its events (cost and token counters): never
    added to the requests."""

    def point(value, attributes):
        return {
            "asDouble": value,
            "attributes": attrs(attributes),
            "timeUnixNano": nanos("2026-11-17T11:00:00Z"),
        }

    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": attrs({"service.name": "claude-code"})},
                "scopeMetrics": [
                    {
                        "scope": {"name": "com.anthropic.claude_code"},
                        "metrics": [
                            {
                                "name": "claude_code.cost.usage",
                                "unit": "USD",
                                "sum": {
                                    "dataPoints": [
                                        point(0.0217975, {"user.email": "ana@example.com"}),
                                        point(0.0225, {"user.email": "bo@example.com"}),
                                    ]
                                },
                            },
                            {
                                "name": "claude_code.token.usage",
                                "unit": "tokens",
                                "sum": {
                                    "dataPoints": [
                                        point(312.0, {"type": "input"}),
                                        point(560.0, {"type": "output"}),
                                    ]
                                },
                            },
                        ],
                    }
                ],
            }
        ]
    }
