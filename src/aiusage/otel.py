"""OpenTelemetry (OTLP/JSON) to canonical usage events: what `aiusage ingest otel` lands.

Input: OTLP/JSON as the OpenTelemetry Collector's ``file`` exporter writes it (one
``{"resourceSpans": [...]}`` / ``{"resourceLogs": [...]}`` / ``{"resourceMetrics": [...]}``
object per line, or one object per file; ``.gz`` too). Output: one canonical event (the
contract of ``usage_event.v1.schema.json``) per LLM or embedding call, landed under the
``events`` landing source, so that staging, pricing, deduplication and the quarantine are
the ones every other event goes through.

One request per LLM call, never two. Every span gets a kind:

- ``llm`` / ``embedding``: a model call (OpenTelemetry GenAI ``gen_ai.*`` names, current and
  past; OpenInference ``llm.*`` names; the Vercel AI SDK's ``ai.*.doGenerate`` /
  ``doStream`` / ``doEmbed`` spans). Embeddings are requests (priced); so are LLM calls.
- ``wrapper``: a span that would be a model call but has a model call below it in the same
  trace (an agent run or chain carrying the summed usage of its calls): not a request.
- ``raw_request``: a gateway's raw provider request child (LiteLLM ``raw_gen_ai_request``):
  the call is its parent; not a request.
- ``tool``: a tool execution (``execute_tool``, ``gen_ai.tool.name``, OpenInference or
  Traceloop kind TOOL): not a request, never priced.
- ``other``: agents, chains, workflows, HTTP, database spans: not requests.

Claude Code's ``claude_code.api_request`` log events become requests of the developer who
ran them (its ``cost_usd`` kept as ``reported_cost_usd``, the tool's own estimate);
``claude_code.api_error`` events become failed requests. Other log records and every
metric are counted and not landed: metrics aggregate the same requests and are never added
to them.

Attribution (team, user, workflow, feature, client, ...) comes from span and resource
attributes through the mapping of ``otel_attribution.yml`` (project root; ``--mapping``
chooses another file): for each event field, attribute keys tried in order, each looked up
in the span's (or log record's) attributes first, then the resource's. ``service.name``
is the default workflow.

A span with a model call's kind but unusable values (no model, a negative count) still
lands: the build quarantines it with the usual reason. An unreadable line of the file lands
as ``{"_ingest_error": "malformed_otlp_json"}`` and is quarantined with its line number.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from aiusage.errors import IngestError

ATTRIBUTION_FIELDS = (
    "team",
    "user_id",
    "workflow",
    "feature",
    "client",
    "task_type",
    "task_id",
    "session_id",
    "prompt_version",
    "environment",
)
MAPPING_FILE = "otel_attribution.yml"

# Attribute names per quantity, in order of preference: the current OpenTelemetry GenAI
# names first, then the past ones, OpenInference, the Vercel AI SDK.
PROVIDER_KEYS = (
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "ai.model.provider",
)
MODEL_KEYS = (  # priced by the response's model: the one that answered
    "gen_ai.response.model",
    "llm.model_name",
    "ai.response.model",
    "gen_ai.request.model",
    "ai.model.id",
)
REQUEST_MODEL_KEYS = ("gen_ai.request.model", "ai.model.id", "llm.model_name")
RESPONSE_ID_KEYS = ("gen_ai.response.id", "ai.response.id")
INPUT_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
    "ai.usage.tokens",  # embeddings
)
OUTPUT_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
)
CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
    "ai.usage.cachedInputTokens",
)
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
REASONING_KEYS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
    "ai.usage.reasoningTokens",
)
# (attribute, factor to milliseconds)
TTFT_KEYS = (
    ("gen_ai.response.time_to_first_chunk", 1000.0),  # seconds
    ("gen_ai.server.time_to_first_token", 1000.0),  # seconds
    ("ai.response.msToFirstChunk", 1.0),
)
SERVICE_TIER_KEYS = ("gen_ai.openai.response.service_tier", "openai.response.service_tier")
SERVICE_TIERS = {"default": "standard", "auto": "standard"}
HTTP_STATUS_KEYS = ("http.response.status_code", "http.status_code")
COST_KEYS = ("gen_ai.usage.cost", "llm.usage.cost")

# gen_ai.provider.name / gen_ai.system values that are not a warehouse provider as is.
PROVIDER_NAMES = {
    "aws.bedrock": "bedrock",
    "az.ai.inference": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "azure.ai.openai": "azure",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "x_ai": "xai",
}

LLM_OPERATIONS = {"chat", "text_completion", "generate_content", "completion", "responses"}
EMBEDDING_OPERATIONS = {"embeddings", "embedding"}
WRAPPER_OPERATIONS = {"invoke_agent", "create_agent", "invoke_workflow"}
OPENINFERENCE_KINDS = {"LLM": "llm", "EMBEDDING": "embedding", "TOOL": "tool"}
CALL_KINDS = ("llm", "embedding")

CLAUDE_CODE_EVENTS = {"api_request": "success", "api_error": "error"}


# ---------------------------------------------------------------------------------------
# The attribution mapping


def load_mapping(path: Path) -> dict[str, tuple[str, ...]]:
    """{event field: attribute keys in order} from an attribution mapping file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise IngestError(f"{path}: cannot read the OTel attribution mapping ({error})") from error
    except yaml.YAMLError as error:
        raise IngestError(f"{path}: not valid YAML ({error})") from error
    fields = (document or {}).get("fields") if isinstance(document, dict) else None
    if not isinstance(fields, dict):
        raise IngestError(f"{path}: expected a mapping with a 'fields:' section")
    mapping: dict[str, tuple[str, ...]] = {}
    for name, keys in fields.items():
        if name not in ATTRIBUTION_FIELDS:
            raise IngestError(
                f"{path}: unknown event field {name!r}; expected one of "
                f"{', '.join(ATTRIBUTION_FIELDS)}"
            )
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise IngestError(f"{path}: {name} must be a list of attribute keys")
        mapping[name] = tuple(keys)
    return mapping


def mapping_path(project_dir: Path, override: Path | None = None) -> Path:
    path = override or project_dir / MAPPING_FILE
    if not path.is_file():
        raise IngestError(
            f"{path}: no OTel attribution mapping; pass --mapping FILE or restore "
            f"{MAPPING_FILE} at the project root"
        )
    return path


# ---------------------------------------------------------------------------------------
# OTLP/JSON decoding


def any_value(value):
    """The Python value of an OTLP AnyValue ({"stringValue": ...}, {"intValue": "12"}, ...)."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(pairs) -> dict:
    """{key: value} of an OTLP attribute list ([{"key": ..., "value": AnyValue}])."""
    if not isinstance(pairs, list):
        return {}
    return {
        pair["key"]: any_value(pair.get("value"))
        for pair in pairs
        if isinstance(pair, dict) and isinstance(pair.get("key"), str)
    }


def _nanos(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _moment(nanos: int | None) -> datetime | None:
    """The UTC time of nanoseconds since the epoch; None when absent or out of range (the
    event then lacks occurred_at and is quarantined, never guessed)."""
    if nanos is None or nanos <= 0:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        return None


def _text_time(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z") if moment else None


def _iso(nanos: int | None) -> str | None:
    return _text_time(_moment(nanos))


@dataclass
class Span:
    line: int  # line of the delivered file (1 for a one-document file)
    resource: dict
    scope: str | None
    trace_id: str | None
    span_id: str | None
    parent_span_id: str | None
    name: str
    start: int | None
    end: int | None
    attrs: dict
    status_code: str | None
    status_message: str | None


@dataclass
class LogRecord:
    line: int
    resource: dict
    scope: str | None
    time: int | None
    body: object
    attrs: dict


@dataclass
class Document:
    spans: list[Span] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    metric_points: int = 0
    malformed_lines: list[tuple[int, str]] = field(default_factory=list)


def _status_code(status) -> str | None:
    if not isinstance(status, dict):
        return None
    code = status.get("code")
    return {0: "UNSET", 1: "OK", 2: "ERROR"}.get(code, str(code).removeprefix("STATUS_CODE_"))


def _scopes(resource_block: dict, *names: str) -> list[dict]:
    for name in names:
        blocks = resource_block.get(name)
        if isinstance(blocks, list):
            return [b for b in blocks if isinstance(b, dict)]
    return []


def _count_points(resource_metrics: list) -> int:
    points = 0
    for block in resource_metrics:
        for scope in _scopes(block, "scopeMetrics", "instrumentationLibraryMetrics"):
            for metric in scope.get("metrics") or []:
                for kind in ("sum", "gauge", "histogram", "exponentialHistogram", "summary"):
                    points += len(((metric or {}).get(kind) or {}).get("dataPoints") or [])
    return points


def _read_object(document: dict, line: int, out: Document) -> None:
    for block in document.get("resourceSpans") or []:
        if not isinstance(block, dict):
            continue
        resource = attributes((block.get("resource") or {}).get("attributes"))
        for scope in _scopes(block, "scopeSpans", "instrumentationLibrarySpans"):
            scope_info = scope.get("scope") or scope.get("instrumentationLibrary") or {}
            for span in scope.get("spans") or []:
                if not isinstance(span, dict):
                    continue
                status = span.get("status")
                out.spans.append(
                    Span(
                        line=line,
                        resource=resource,
                        scope=scope_info.get("name"),
                        trace_id=span.get("traceId") or None,
                        span_id=span.get("spanId") or None,
                        parent_span_id=span.get("parentSpanId") or None,
                        name=str(span.get("name") or ""),
                        start=_nanos(span.get("startTimeUnixNano")),
                        end=_nanos(span.get("endTimeUnixNano")),
                        attrs=attributes(span.get("attributes")),
                        status_code=_status_code(status),
                        status_message=(status or {}).get("message") or None,
                    )
                )
    for block in document.get("resourceLogs") or []:
        if not isinstance(block, dict):
            continue
        resource = attributes((block.get("resource") or {}).get("attributes"))
        for scope in _scopes(block, "scopeLogs", "instrumentationLibraryLogs"):
            scope_info = scope.get("scope") or {}
            for record in scope.get("logRecords") or []:
                if not isinstance(record, dict):
                    continue
                out.logs.append(
                    LogRecord(
                        line=line,
                        resource=resource,
                        scope=scope_info.get("name"),
                        time=_nanos(record.get("timeUnixNano"))
                        or _nanos(record.get("observedTimeUnixNano")),
                        body=any_value(record.get("body")),
                        attrs=attributes(record.get("attributes")),
                    )
                )
    out.metric_points += _count_points(document.get("resourceMetrics") or [])


OTLP_KEYS = ("resourceSpans", "resourceLogs", "resourceMetrics")


def read_otlp(path: Path, text: str) -> Document:
    """The spans, log records and metric points of an OTLP/JSON file (one object per file,
    or one per line). A line that is not an OTLP object is kept as a malformed line."""
    out = Document()
    stripped = text.strip()
    if not stripped:
        raise IngestError(f"{path}: empty file; expected OTLP/JSON")
    try:
        whole = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError):
        whole = None
    if isinstance(whole, dict):
        if not any(key in whole for key in OTLP_KEYS):
            raise IngestError(
                f"{path}: not OTLP/JSON (no resourceSpans, resourceLogs or resourceMetrics); "
                "export with the Collector's file exporter (format json)"
            )
        _read_object(whole, 1, out)
        return out
    objects = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip(" \t\r"):
            continue
        try:
            document = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            document = None
        if not isinstance(document, dict) or not any(key in document for key in OTLP_KEYS):
            out.malformed_lines.append((number, line))
            continue
        objects += 1
        _read_object(document, number, out)
    if not objects:
        raise IngestError(
            f"{path}: not OTLP/JSON (no line is an object with resourceSpans, resourceLogs "
            "or resourceMetrics)"
        )
    return out


# ---------------------------------------------------------------------------------------
# Classification and mapping


def _first(attrs: dict, keys) -> object:
    for key in keys:
        value = attrs.get(key)
        if value not in (None, ""):
            return value
    return None


def _count(attrs: dict, keys):
    """A token count: an int when the attribute holds one (int or integer string), the raw
    value otherwise (staging quarantines it as invalid), None when absent."""
    value = _first(attrs, keys)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    return value


def span_kind(span: Span) -> str:
    """llm, embedding, tool, raw_request or other (wrappers are found later, per trace)."""
    attrs = span.attrs
    if span.name == "raw_gen_ai_request":
        return "raw_request"
    openinference = str(attrs.get("openinference.span.kind") or "").upper()
    if openinference:
        return OPENINFERENCE_KINDS.get(openinference, "other")
    traceloop = str(attrs.get("traceloop.span.kind") or "").lower()
    if traceloop == "tool":
        return "tool"
    if traceloop:
        return "other"
    operation = str(attrs.get("gen_ai.operation.name") or "").lower()
    if operation in LLM_OPERATIONS:
        return "llm"
    if operation in EMBEDDING_OPERATIONS:
        return "embedding"
    if operation == "execute_tool" or attrs.get("gen_ai.tool.name"):
        return "tool"
    if operation in WRAPPER_OPERATIONS:
        return "other"
    request_type = str(attrs.get("llm.request.type") or "").lower()
    if request_type in ("chat", "completion"):
        return "llm"
    if request_type == "embedding":
        return "embedding"
    vercel = str(attrs.get("ai.operationId") or "")
    if vercel:
        if vercel.endswith((".doGenerate", ".doStream")):
            return "llm"
        if vercel.endswith(".doEmbed"):
            return "embedding"
        return "other"
    has_model = _first(attrs, MODEL_KEYS) is not None
    has_tokens = _first(attrs, INPUT_KEYS + OUTPUT_KEYS) is not None
    return "llm" if has_model and has_tokens else "other"


def classify(spans: list[Span]) -> list[str]:
    """The kind of every span. A wrapper: a call with a call below it in its trace, or a
    span that is not a call but carries token counts (an agent run's summed usage)."""
    kinds = [span_kind(span) for span in spans]
    parent_of = {(s.trace_id, s.span_id): s.parent_span_id for s in spans if s.span_id}
    wrappers: set[tuple[str | None, str]] = set()
    for span, kind in zip(spans, kinds, strict=True):
        if kind not in CALL_KINDS:
            continue
        seen: set[str] = set()
        parent = span.parent_span_id
        while parent and parent not in seen:
            seen.add(parent)
            wrappers.add((span.trace_id, parent))
            parent = parent_of.get((span.trace_id, parent))
    return [
        "wrapper"
        if (kind in CALL_KINDS and (span.trace_id, span.span_id) in wrappers)
        or (kind == "other" and _first(span.attrs, INPUT_KEYS + OUTPUT_KEYS) is not None)
        else kind
        for span, kind in zip(spans, kinds, strict=True)
    ]


def normalize_provider(value) -> str | None:
    if value in (None, ""):
        return None
    name = str(value).strip().lower()
    if name in PROVIDER_NAMES:
        return PROVIDER_NAMES[name]
    head = name.split(".")[0]  # openai.responses, openai.chat (Vercel AI SDK) -> openai
    return PROVIDER_NAMES.get(head, head)


def attribution(mapping: dict[str, tuple[str, ...]], attrs: dict, resource: dict) -> dict:
    found = {}
    for name, keys in mapping.items():
        for key in keys:
            value = attrs.get(key)
            if value in (None, ""):
                value = resource.get(key)
            if value not in (None, ""):
                found[name] = value if isinstance(value, str) else json.dumps(value)
                break
    return found


def _status(code: str | None, error_type, http_status) -> str:
    text = str(error_type or "").lower()
    if http_status == 429 or ("rate" in text and "limit" in text):
        return "rate_limited"
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "cancel" in text:
        return "cancelled"
    if code == "ERROR" or error_type or (isinstance(http_status, int) and http_status >= 400):
        return "error"
    return "success"


def _ms(value, factor: float) -> int | None:
    try:
        number = float(value) * factor
    except (TypeError, ValueError):
        return None
    return round(number) if math.isfinite(number) and number >= 0 else None


def span_event(span: Span, kind: str, mapping: dict[str, tuple[str, ...]]) -> dict:
    """The canonical event of one LLM or embedding span."""
    attrs = span.attrs
    http_status = _count(attrs, HTTP_STATUS_KEYS)
    http_status = http_status if isinstance(http_status, int) else None
    error_type = attrs.get("error.type") or (
        span.status_message if span.status_code == "ERROR" else None
    )
    response_id = _first(attrs, RESPONSE_ID_KEYS)
    request_id = (
        str(response_id)
        if response_id
        else (f"otel:{span.trace_id}:{span.span_id}" if span.span_id else None)
    )
    latency = (
        round((span.end - span.start) / 1_000_000)
        if span.start and span.end and span.end >= span.start
        else None
    )
    ttft = None
    for key, factor in TTFT_KEYS:
        if attrs.get(key) is not None:
            ttft = _ms(attrs[key], factor)
            break
    tier = _first(attrs, SERVICE_TIER_KEYS)
    event = {
        "request_id": request_id,
        "occurred_at": _iso(span.start),
        "provider": normalize_provider(_first(attrs, PROVIDER_KEYS)),
        "model": _first(attrs, MODEL_KEYS),
        "input_tokens": _count(attrs, INPUT_KEYS),
        "output_tokens": _count(attrs, OUTPUT_KEYS) if kind == "llm" else 0,
        "cache_read_tokens": _count(attrs, CACHE_READ_KEYS),
        "cache_write_tokens": _count(attrs, CACHE_WRITE_KEYS),
        "reasoning_tokens": _count(attrs, REASONING_KEYS),
        "service_tier": SERVICE_TIERS.get(str(tier).lower(), str(tier).lower()) if tier else None,
        "latency_ms": latency,
        "ttft_ms": ttft,
        "status": _status(span.status_code, error_type, http_status),
        "error_type": str(error_type) if error_type else None,
        "http_status": http_status,
        "reported_cost_usd": _first(attrs, COST_KEYS),
    }
    if event["output_tokens"] is None and kind == "llm":
        event["output_tokens"] = 0 if event["status"] != "success" else None
    event.update(attribution(mapping, attrs, span.resource))
    event["metadata"] = {
        "source": "otel",
        "kind": kind,
        "span_name": span.name,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "scope": span.scope,
        "operation": attrs.get("gen_ai.operation.name"),
        "request_model": _first(attrs, REQUEST_MODEL_KEYS),
        "delivered_line": span.line,
    }
    return {k: v for k, v in event.items() if v is not None}


def claude_code_event(record: LogRecord, mapping: dict[str, tuple[str, ...]]) -> dict | None:
    """The canonical event of a Claude Code api_request / api_error log record, else None.

    Claude Code reports Anthropic's counts: ``input_tokens`` excludes the cache reads and
    writes, so input = input + cache_read + cache_creation. The record is written when the
    answer arrives: occurred_at = the event time minus ``duration_ms``."""
    attrs = record.attrs
    name = str(attrs.get("event.name") or "").removeprefix("claude_code.")
    if name not in CLAUDE_CODE_EVENTS and isinstance(record.body, str):
        name = record.body.removeprefix("claude_code.")
    if name not in CLAUDE_CODE_EVENTS:
        return None
    counts = {
        key: _count(attrs, (key,))
        for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")
    }
    numeric = all(isinstance(v, int) or v is None for v in counts.values())
    uncached, output, cache_read, cache_write = (counts[k] for k in counts)
    input_tokens = (
        (uncached or 0) + (cache_read or 0) + (cache_write or 0)
        if numeric and uncached is not None
        else uncached
    )
    duration = _ms(attrs.get("duration_ms"), 1.0)
    ended = None
    stamp = attrs.get("event.timestamp")
    if isinstance(stamp, str):
        try:
            ended = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            ended = None
    if ended is None:
        ended = _moment(record.time)
    try:
        started = ended - timedelta(milliseconds=duration or 0) if ended else None
    except OverflowError:
        started = None
    request_id = attrs.get("request_id") or attrs.get("request.id")
    if not request_id:
        identity = "|".join(
            str(part)
            for part in (
                attrs.get("session.id"),
                attrs.get("prompt.id"),
                attrs.get("event.sequence"),
                stamp or record.time,
                attrs.get("model"),
                *counts.values(),
            )
        )
        request_id = "claude_code:" + hashlib.sha256(identity.encode()).hexdigest()[:32]
    status = CLAUDE_CODE_EVENTS[name]
    status_code = _count(attrs, ("status_code",))
    error = attrs.get("error")
    event = {
        "request_id": str(request_id),
        "occurred_at": _text_time(started),
        "provider": "anthropic",
        "model": attrs.get("model"),
        "input_tokens": input_tokens if status == "success" else (input_tokens or 0),
        "output_tokens": output if status == "success" else (output or 0),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "latency_ms": duration,
        "status": _status(None, error, status_code) if status == "error" else "success",
        "error_type": str(error) if error else None,
        "http_status": status_code if isinstance(status_code, int) else None,
        "reported_cost_usd": attrs.get("cost_usd"),
    }
    if event["status"] == "success" and status == "error":
        event["status"] = "error"
    event.update(attribution(mapping, attrs, record.resource))
    event["metadata"] = {
        "source": "otel",
        "kind": "claude_code." + name,
        "scope": record.scope,
        "delivered_line": record.line,
    }
    return {k: v for k, v in event.items() if v is not None}


@dataclass
class Conversion:
    events: list[dict]  # canonical events and quarantine rows, in file order
    counts: Counter  # what was read: span kinds, log records, metric points

    def summary(self) -> str:
        c = self.counts
        parts = [
            f"{c['spans']:,} spans",
            f"{c['llm']:,} LLM calls",
            f"{c['embedding']:,} embeddings",
            f"{c['wrapper']:,} wrappers",
            f"{c['raw_request']:,} raw-request children",
            f"{c['tool']:,} tool spans",
            f"{c['other']:,} other spans",
            f"{c['claude_code']:,} Claude Code api events",
            f"{c['other_logs']:,} other log records",
            f"{c['metric_points']:,} metric points (not added)",
        ]
        if c["malformed_lines"]:
            parts.append(f"{c['malformed_lines']:,} unreadable lines")
        return ", ".join(parts)


def convert(path: Path, text: str, mapping: dict[str, tuple[str, ...]]) -> Conversion:
    """Canonical events (one per LLM or embedding call and per Claude Code api event) and
    quarantine rows (unreadable lines) of one OTLP/JSON file, with what was read."""
    document = read_otlp(path, text)
    counts: Counter = Counter()
    rows: list[tuple[int, int, dict]] = []  # (line, order, row): file order
    kinds = classify(document.spans)
    counts["spans"] = len(document.spans)
    for order, (span, kind) in enumerate(zip(document.spans, kinds, strict=True)):
        counts[kind] += 1
        if kind in CALL_KINDS:
            rows.append((span.line, order, span_event(span, kind, mapping)))
    for order, record in enumerate(document.logs, start=len(document.spans)):
        event = claude_code_event(record, mapping)
        if event is None:
            counts["other_logs"] += 1
        else:
            counts["claude_code"] += 1
            rows.append((record.line, order, event))
    for number, line in document.malformed_lines:
        counts["malformed_lines"] += 1
        rows.append((number, -1, {"_ingest_error": "malformed_otlp_json", "_raw": line[:10_000]}))
    counts["metric_points"] = document.metric_points
    rows.sort(key=lambda row: (row[0], row[1]))
    return Conversion([row for _, _, row in rows], counts)
