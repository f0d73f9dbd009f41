"""Record LLM usage from application code into the landing folder (canonical events).

    from aiusage_tracking import track

    with track(provider="openai", model="gpt-4o", team="support", workflow="triage") as t:
        response = client.chat.completions.create(...)
        t.record_response(response)          # reads usage; timing and status are automatic

One `track(...)` block writes one event (contract usage_event.v1) when it exits: latency,
status ("success", or "error"/"timeout"/"rate_limited"/"cancelled" from the exception)
and error_type. The exception is re-raised. Token usage is read from OpenAI (Chat
Completions, Responses API, streaming final chunk) and Anthropic (Messages, streaming
message_delta / final message) response objects or dicts and converted to our convention:
input_tokens includes cached tokens, output_tokens includes reasoning tokens.

Events are appended to ``<landing>/events/dt=YYYY-MM-DD/tracked-<host>.jsonl`` (the UTC
day of the write) with ``landing.append_line``: lines from many threads and processes
never interleave or tear. The landing folder is ``landing_dir=``, else the environment
variable AIUSAGE_LANDING_DIR, else ``data/landing`` (relative to the working directory).

Tasks: pass ``task_id=`` to every attempt of one task (retries, fallbacks to another model)
and, once the task is done or given up, ``record_outcome(task_id, workflow, "success" |
"failure")`` (contract task_outcome.v1, appended under ``<landing>/outcomes/``): the
warehouse then prices each completed task with all its attempts (rpt_cost_per_outcome).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiusage_tracking.contract import outcomes
from aiusage_tracking.landing import append_line, day_folder

EVENTS_SOURCE = "events"
OUTCOMES_SOURCE = "outcomes"
LANDING_DIR_VARIABLE = "AIUSAGE_LANDING_DIR"
DEFAULT_LANDING_DIR = "data/landing"


def _get(obj: Any, *path: str) -> Any:
    """obj.a.b or obj["a"]["b"]; None when any step is missing."""
    for key in path:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return obj


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


#: The tier a response says served it -> the contract's service_tier_served. OpenAI answers
#: "default" for the standard tier; a tier outside the contract (OpenAI "scale") is not
#: taken: the requested tier stays.
SERVED_TIERS = {
    "default": "standard",
    "auto": "standard",
    "on_demand": "standard",
    "standard": "standard",
    "flex": "flex",
    "batch": "batch",
    "priority": "priority",
}


def served_tier_from_response(response: Any) -> str | None:
    """The service tier the provider says served the request, as the contract names it:
    ``service_tier`` of an OpenAI Chat Completions or Responses object (or a Responses
    stream event's ``response``), ``usage.service_tier`` of an Anthropic message; None
    when the response says nothing (or a tier the contract has no name for)."""
    for path in (("service_tier",), ("response", "service_tier"), ("usage", "service_tier"),
                 ("message", "usage", "service_tier")):  # fmt: skip
        value = _get(response, *path)
        if isinstance(value, str) and value.lower() in SERVED_TIERS:
            return SERVED_TIERS[value.lower()]
    return None


def pricing_fields_from_response(response: Any) -> dict[str, Any]:
    """The pricing dimensions a response reports beside its tokens, as the contract names
    them (absent when the response says nothing): Anthropic ``usage.speed`` (fast mode),
    ``usage.inference_geo`` (data residency) and ``usage.server_tool_use.web_search_requests``;
    OpenAI Responses: one web search per ``web_search_call`` output item."""
    fields: dict[str, Any] = {}
    usage = _get(response, "usage")
    if usage is None:
        usage = _get(response, "message", "usage")
    for name in ("speed", "inference_geo"):
        value = _get(usage, name)
        if isinstance(value, str) and value:
            fields[name] = value.lower()
    searches = _get(usage, "server_tool_use", "web_search_requests")
    if isinstance(searches, int) and not isinstance(searches, bool):
        fields["web_search_requests"] = searches
    output = _get(response, "output")
    if output is None:
        output = _get(response, "response", "output")
    if isinstance(output, (list, tuple)):
        calls = [item for item in output if _get(item, "type") == "web_search_call"]
        if calls:
            fields["web_search_requests"] = len(calls)
    return fields


def usage_from_response(response: Any, provider: str | None = None) -> dict[str, int]:
    """Canonical token counts from a provider response (object or dict).

    Accepts the whole response, its ``usage`` field, a streaming event or final chunk.
    OpenAI Chat Completions: prompt_tokens (cached included) / completion_tokens with
    prompt_tokens_details.cached_tokens and completion_tokens_details.reasoning_tokens.
    OpenAI Responses API: input_tokens (cached included) / output_tokens with
    input_tokens_details.cached_tokens and output_tokens_details.reasoning_tokens.
    Anthropic Messages: input_tokens is the UNCACHED part; cache_read_input_tokens and
    cache_creation_input_tokens (with cache_creation.ephemeral_1h_input_tokens) are added.
    """
    usage = _get(response, "usage")
    if usage is None:
        usage = _get(response, "message", "usage")  # Anthropic stream message_start
    if usage is None:
        usage = _get(response, "response", "usage")  # Responses API response.completed
    if usage is None:
        usage = response
    anthropic_shape = any(
        _get(usage, key) is not None
        for key in ("cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation")
    ) or (provider == "anthropic" and _get(usage, "prompt_tokens") is None)
    if _get(usage, "prompt_tokens") is not None or _get(usage, "completion_tokens") is not None:
        return {
            "input_tokens": _int(_get(usage, "prompt_tokens")),
            "cache_read_tokens": _int(_get(usage, "prompt_tokens_details", "cached_tokens")),
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "output_tokens": _int(_get(usage, "completion_tokens")),
            "reasoning_tokens": _int(_get(usage, "completion_tokens_details", "reasoning_tokens")),
        }
    if anthropic_shape:
        read = _int(_get(usage, "cache_read_input_tokens"))
        write = _int(_get(usage, "cache_creation_input_tokens"))
        write_1h = _int(_get(usage, "cache_creation", "ephemeral_1h_input_tokens"))
        write_5m = _int(_get(usage, "cache_creation", "ephemeral_5m_input_tokens"))
        write = max(write, write_1h + write_5m)
        return {
            "input_tokens": _int(_get(usage, "input_tokens")) + read + write,
            "cache_read_tokens": read,
            "cache_write_tokens": write,
            "cache_write_1h_tokens": write_1h,
            "output_tokens": _int(_get(usage, "output_tokens")),
            "reasoning_tokens": 0,
        }
    return {  # OpenAI Responses API (input_tokens includes cached)
        "input_tokens": _int(_get(usage, "input_tokens")),
        "cache_read_tokens": _int(_get(usage, "input_tokens_details", "cached_tokens")),
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "output_tokens": _int(_get(usage, "output_tokens")),
        "reasoning_tokens": _int(_get(usage, "output_tokens_details", "reasoning_tokens")),
    }


def status_from_exception(error: BaseException) -> tuple[str, int | None]:
    """(status, http_status) for an exception raised by a provider SDK call."""
    http_status = _get(error, "status_code")
    if not isinstance(http_status, int):
        http_status = None
    name = type(error).__name__.lower()
    if isinstance(error, TimeoutError) or "timeout" in name:
        return "timeout", http_status
    if http_status == 429 or "ratelimit" in name:
        return "rate_limited", http_status
    if isinstance(error, (KeyboardInterrupt,)) or "cancel" in name:
        return "cancelled", http_status
    return "error", http_status


def landing_dir_from_env() -> Path:
    """The landing folder of an application that does not pass one: AIUSAGE_LANDING_DIR,
    else data/landing, relative to the working directory. Read at every call."""
    return Path(os.environ.get(LANDING_DIR_VARIABLE) or DEFAULT_LANDING_DIR).expanduser()


def append_event(event: Mapping[str, Any], landing_dir: Path | None = None) -> Path:
    """Append one event as one JSON line to today's tracked file; returns the file."""
    return _append_record(EVENTS_SOURCE, event, landing_dir)


def _append_record(source: str, record: Mapping[str, Any], landing_dir: Path | None) -> Path:
    root = Path(landing_dir) if landing_dir is not None else landing_dir_from_env()
    folder = day_folder(root, source, datetime.now(UTC).date())
    path = folder / f"tracked-{socket.gethostname()}.jsonl"
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
    append_line(path, line.encode("utf-8"))
    return path


def record_outcome(
    task_id: str,
    workflow: str,
    outcome: str,
    *,
    value_usd: float | str | None = None,
    landing_dir: Path | None = None,
) -> Path:
    """Record that the task `task_id` (the task_id of its attempts) was completed
    (outcome "success") or given up ("failure"); one task_outcome.v1 line under
    ``<landing>/outcomes/``. Returns the file."""
    allowed = outcomes()
    if outcome not in allowed:
        raise ValueError(f"outcome must be one of {', '.join(allowed)}, not {outcome!r}")
    if not task_id or not workflow:
        raise ValueError("task_id and workflow are required")
    record: dict[str, Any] = {
        "task_id": task_id,
        "workflow": workflow,
        "occurred_at": datetime.now(UTC).isoformat(),
        "outcome": outcome,
    }
    if value_usd is not None:
        record["value_usd"] = value_usd
    return _append_record(OUTCOMES_SOURCE, record, landing_dir)


class Tracker:
    """One tracked request; use through `track(...)`."""

    def __init__(self, provider: str, model: str, landing_dir: Path | None = None, **fields):
        self.event: dict[str, Any] = {
            "request_id": fields.pop("request_id", None),
            "occurred_at": None,
            "provider": provider,
            "model": model,
            **{k: v for k, v in fields.items() if v is not None},
        }
        self.landing_dir = landing_dir
        self._started = 0.0
        self._first_token: float | None = None
        self.path: Path | None = None

    def record_response(self, response: Any) -> None:
        """Token usage (and the request id and model, when present) from a response.

        May be called with every streamed event/chunk: counts are cumulative in both
        providers' streams, so the largest value seen for each count is kept.
        """
        for key, value in usage_from_response(response, self.event.get("provider")).items():
            self.event[key] = max(value, self.event.get(key) or 0)
        response_id = _get(response, "id")
        if not self.event.get("request_id") and isinstance(response_id, str):
            self.event["request_id"] = response_id
        model = _get(response, "model")
        if isinstance(model, str) and model:
            self.event["model"] = model
        # priced by the tier that served it, not the one requested (a priority or flex
        # request can be served at another tier): service_tier keeps the request's
        served = served_tier_from_response(response)
        if served is not None:
            self.event["service_tier_served"] = served
        for key, value in pricing_fields_from_response(response).items():
            if isinstance(value, int):  # cumulative in a stream, like the token counts
                value = max(value, self.event.get(key) or 0)
            self.event[key] = value

    def record_usage(self, **tokens: int) -> None:
        """Token counts already in our convention (input includes cached)."""
        self.event.update(tokens)

    def first_token(self) -> None:
        """Call when the first streamed token arrives (sets ttft_ms)."""
        if self._first_token is None:
            self._first_token = time.perf_counter()

    def set(self, **fields: Any) -> None:
        """Any other contract field (quality_score, passed_quality, service_tier, ...)."""
        self.event.update(fields)

    def __enter__(self) -> Tracker:
        self._started = time.perf_counter()
        self.event["occurred_at"] = datetime.now(UTC).isoformat()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        elapsed = time.perf_counter() - self._started
        self.event["latency_ms"] = int(round(elapsed * 1000))
        if self._first_token is not None:
            self.event["ttft_ms"] = int(round((self._first_token - self._started) * 1000))
        if exc is not None:
            status, http_status = status_from_exception(exc)
            self.event["status"] = status
            self.event["error_type"] = type(exc).__name__
            if http_status is not None:
                self.event["http_status"] = http_status
        else:
            self.event.setdefault("status", "success")
        if not self.event.get("request_id"):
            self.event["request_id"] = f"local-{uuid.uuid4()}"
        self.path = append_event(self.event, self.landing_dir)
        return False  # never swallow the caller's exception


def track(provider: str, model: str, *, landing_dir: Path | None = None, **fields) -> Tracker:
    """Context manager recording one usage event; see the module docstring."""
    return Tracker(provider, model, landing_dir=landing_dir, **fields)


def record(provider: str, model: str, response: Any = None, *, landing_dir=None, **fields):
    """Record one event without a block (timing unknown unless latency_ms is given)."""
    tracker = Tracker(provider, model, landing_dir=landing_dir, **fields)
    tracker.event["occurred_at"] = datetime.now(UTC).isoformat()
    if response is not None:
        tracker.record_response(response)
    tracker.event.setdefault("status", "success")
    if not tracker.event.get("request_id"):
        tracker.event["request_id"] = f"local-{uuid.uuid4()}"
    return append_event(tracker.event, landing_dir)
