"""The tracking library: real response shapes (no network), timing, status, safe appends."""

from __future__ import annotations

import json
import multiprocessing
import threading
from types import SimpleNamespace as NS

import pytest

from aiusage_tracking import contract, record, record_outcome, track, usage_from_response

# Shapes as the SDKs return them (OpenAI python 1.x, Anthropic python 0.x), trimmed.
CHAT_COMPLETION = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
    "usage": {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 128, "audio_tokens": 0},
    },
}
RESPONSES_API = NS(
    id="resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
    object="response",
    model="o4-mini-2025-04-16",
    usage=NS(
        input_tokens=328,
        input_tokens_details=NS(cached_tokens=256),
        output_tokens=52,
        output_tokens_details=NS(reasoning_tokens=40),
        total_tokens=380,
    ),
)
ANTHROPIC_MESSAGE = NS(
    id="msg_013Zva2CMHLNnXjNJJKqJ2EF",
    type="message",
    model="claude-sonnet-4-5-20250929",
    usage=NS(
        input_tokens=21,
        cache_creation_input_tokens=188086,
        cache_read_input_tokens=0,
        cache_creation=NS(ephemeral_5m_input_tokens=0, ephemeral_1h_input_tokens=188086),
        output_tokens=393,
        service_tier="standard",
    ),
)
OPENAI_STREAM_FINAL_CHUNK = {
    "id": "chatcmpl-stream-1",
    "object": "chat.completion.chunk",
    "model": "gpt-4o-mini",
    "choices": [],
    "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57},
}
ANTHROPIC_STREAM = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_stream_1",
            "model": "claude-haiku-4-5",
            "usage": {"input_tokens": 472, "cache_read_input_tokens": 1000, "output_tokens": 1},
        },
    },
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 89}},
]


def test_chat_completions_input_keeps_cached_tokens_inside():
    usage = usage_from_response(CHAT_COMPLETION)
    assert usage == {
        "input_tokens": 2006,
        "cache_read_tokens": 1920,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "output_tokens": 300,
        "reasoning_tokens": 128,
    }


def test_responses_api_object_is_read():
    usage = usage_from_response(RESPONSES_API)
    assert (usage["input_tokens"], usage["cache_read_tokens"]) == (328, 256)
    assert (usage["output_tokens"], usage["reasoning_tokens"]) == (52, 40)


def test_anthropic_uncached_input_is_added_to_cache_reads_and_writes():
    usage = usage_from_response(ANTHROPIC_MESSAGE)
    assert usage["input_tokens"] == 21 + 188086  # uncached + cache creation + cache read
    assert usage["cache_write_tokens"] == 188086
    assert usage["cache_write_1h_tokens"] == 188086
    assert usage["output_tokens"] == 393


def test_streams_keep_the_final_cumulative_counts(tmp_path):
    with track("anthropic", "claude-haiku-4-5", landing_dir=tmp_path) as t:
        for event in ANTHROPIC_STREAM:
            t.first_token()
            t.record_response(event)
    event = json.loads(t.path.read_text().splitlines()[-1])
    assert event["input_tokens"] == 1472 and event["cache_read_tokens"] == 1000
    assert event["output_tokens"] == 89
    assert "ttft_ms" in event
    with track("openai", "gpt-4o-mini", landing_dir=tmp_path) as t:
        t.record_response({"id": "chatcmpl-stream-1", "choices": [{"delta": {}}], "usage": None})
        t.record_response(OPENAI_STREAM_FINAL_CHUNK)
    event = json.loads(t.path.read_text().splitlines()[-1])
    assert (event["input_tokens"], event["output_tokens"]) == (50, 7)
    assert event["request_id"] == "chatcmpl-stream-1"


def test_the_tier_that_served_the_request_is_recorded_beside_the_one_requested(tmp_path):
    def last_event():
        return json.loads(t.path.read_text().splitlines()[-1])

    # OpenAI: asked for priority, served at the default (standard) tier
    with track("openai", "gpt-5", landing_dir=tmp_path, service_tier="priority") as t:
        t.record_response({"id": "c1", "service_tier": "default", "usage": {"prompt_tokens": 1}})
    assert (last_event()["service_tier"], last_event()["service_tier_served"]) == (
        "priority", "standard",
    )  # fmt: skip
    # Anthropic: the message's usage says priority (nothing requested: absent = standard)
    with track("anthropic", "claude-sonnet-4-5", landing_dir=tmp_path) as t:
        t.record_response({"id": "m1", "usage": {"input_tokens": 3, "output_tokens": 1,
                                                 "service_tier": "priority"}})  # fmt: skip
    assert "service_tier" not in last_event()
    assert last_event()["service_tier_served"] == "priority"
    # a tier the contract has no name for says nothing served; none says nothing
    with track("openai", "gpt-5", landing_dir=tmp_path, service_tier="flex") as t:
        t.record_response({"id": "c2", "service_tier": "scale"})
        t.record_response({"id": "c2", "choices": []})
    assert last_event()["service_tier"] == "flex" and "service_tier_served" not in last_event()


def test_fast_mode_data_residency_and_web_searches_are_read_from_the_response(tmp_path):
    # Anthropic Messages usage (platform.claude.com fast-mode, data-residency, web search)
    message = {"id": "m2", "usage": {"input_tokens": 10, "output_tokens": 5, "speed": "fast",
                                     "inference_geo": "us",
                                     "server_tool_use": {"web_search_requests": 3}}}  # fmt: skip
    with track("anthropic", "claude-opus-4-6", landing_dir=tmp_path) as t:
        t.record_response(message)
    event = json.loads(t.path.read_text().splitlines()[-1])
    assert (event["speed"], event["inference_geo"]) == ("fast", "us")
    assert event["web_search_requests"] == 3
    # OpenAI Responses: one search per web_search_call output item
    response = {"id": "resp_1", "output": [{"type": "web_search_call"}, {"type": "message"},
                                           {"type": "web_search_call"}],
                "usage": {"input_tokens": 20, "output_tokens": 4}}  # fmt: skip
    with track("openai", "gpt-5", landing_dir=tmp_path) as t:
        t.record_response(response)
    event = json.loads(t.path.read_text().splitlines()[-1])
    assert event["web_search_requests"] == 2 and "speed" not in event


def test_track_records_timing_status_and_reraises_errors(tmp_path):
    class RateLimitError(Exception):
        status_code = 429

    tracker = track("openai", "gpt-4o", landing_dir=tmp_path, team="support")
    with pytest.raises(RateLimitError), tracker as t:
        raise RateLimitError("slow down")
    event = json.loads(t.path.read_text())
    assert event["status"] == "rate_limited" and event["http_status"] == 429
    assert event["error_type"] == "RateLimitError" and event["team"] == "support"
    assert event["latency_ms"] >= 0 and event["request_id"].startswith("local-")
    assert t.path.parent.name.startswith("dt=") and t.path.parent.parent.name == "events"


def test_attempts_share_a_task_id_and_the_outcome_lands_beside_them(tmp_path):
    for attempt in range(2):
        record("openai", "gpt-4o", CHAT_COMPLETION, landing_dir=tmp_path, task_id="task-7",
               request_id=f"attempt-{attempt}", workflow="refunds")  # fmt: skip
    (events,) = (tmp_path / "events").glob("dt=*/*.jsonl")
    assert [json.loads(x)["task_id"] for x in events.read_text().splitlines()] == ["task-7"] * 2
    path = record_outcome("task-7", "refunds", "success", value_usd=12.5, landing_dir=tmp_path)
    assert path.parent.parent.name == "outcomes" and path.parent.name.startswith("dt=")
    outcome = json.loads(path.read_text())
    assert {k: outcome[k] for k in ("task_id", "workflow", "outcome", "value_usd")} == {
        "task_id": "task-7", "workflow": "refunds", "outcome": "success", "value_usd": 12.5,
    }  # fmt: skip
    assert set(outcome) <= set(contract.outcome_schema()["properties"])
    assert set(contract.outcome_required_fields()) <= set(outcome)
    with pytest.raises(ValueError, match="success, failure"):
        record_outcome("task-7", "refunds", "done", landing_dir=tmp_path)


def _write_many(landing, n, tag):
    for i in range(n):
        record(
            "openai",
            "gpt-4o",
            CHAT_COMPLETION,
            landing_dir=landing,
            request_id=f"{tag}-{i}",
            feature="x" * 5000,
        )


def test_appends_from_threads_and_processes_never_tear_lines(tmp_path):
    threads = [threading.Thread(target=_write_many, args=(tmp_path, 50, f"t{k}")) for k in range(4)]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_many, args=(tmp_path, 50, f"p{k}")) for k in range(3)]
    for worker in [*threads, *procs]:
        worker.start()
    for worker in [*threads, *procs]:
        worker.join()
    files = list(tmp_path.glob("events/dt=*/*.jsonl"))
    lines = [ln for f in files for ln in f.read_text().splitlines()]
    assert len(lines) == 350
    ids = {json.loads(line)["request_id"] for line in lines}  # every line parses
    assert len(ids) == 350
