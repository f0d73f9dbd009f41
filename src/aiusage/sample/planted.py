"""The planted workflows of the sample company (ground_truth.PLANTED_WORKFLOWS): requests
without noise, one cause per workflow, so that every insight mart's answer can be
computed by hand (a volume surge, a model-mix shift, a prompt that doubles its input, a
400-call session, cache writes nobody reads, a latency-tolerant job on the standard
tier). ``generate`` appends them to each day's file; they are never duplicated, late or
malformed."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from aiusage.sample.catalog import ORG, resolve_model
from aiusage.sample.ground_truth import (
    PLANTED_PERIOD_DAYS,
    PLANTED_WORKFLOWS,
    RUNAWAY_GAP_SECONDS,
    RUNAWAY_REQUESTS,
    RUNAWAY_SESSION_ID,
    RUNAWAY_START_MINUTE,
    RUNAWAY_WORKFLOW,
    PlantedWorkflow,
)

_FIRST_SESSION = time(0, 5)
_REQUEST_GAP_SECONDS = 60


def is_current_period(day: date, end_date: date) -> bool:
    """True for the last PLANTED_PERIOD_DAYS days of the data (the planted changes)."""
    return day > end_date - timedelta(days=PLANTED_PERIOD_DAYS)


def planted_lines(day: date, end_date: date) -> list[str]:
    """The planted workflows' events that occurred on ``day``, as JSON lines."""
    lines: list[str] = []
    for planted in PLANTED_WORKFLOWS:
        lines += _workflow_lines(planted, day, end_date)
    return lines


def _workflow_lines(planted: PlantedWorkflow, day: date, end_date: date) -> list[str]:
    mix = planted.current_day if is_current_period(day, end_date) else planted.previous_day
    requests = [entry for entry in mix for _ in range(entry[1])]
    start = datetime.combine(day, _FIRST_SESSION)
    lines = []
    for index, (model, _n, input_tokens, cache_write_tokens, output_tokens) in enumerate(requests):
        session, position = divmod(index, planted.session_length)
        at = start + timedelta(
            minutes=session * planted.session_gap_minutes,
            seconds=position * _REQUEST_GAP_SECONDS,
        )
        session_id = f"sess_planted_{planted.workflow}_{day:%Y%m%d}_{session:03d}"
        lines.append(
            _event(planted, day, index, at, session_id, model, input_tokens,
                   cache_write_tokens, output_tokens)
        )  # fmt: skip
    if planted.workflow == RUNAWAY_WORKFLOW and day == end_date:
        model, _n, input_tokens, cache_write_tokens, output_tokens = mix[0]
        begin = datetime.combine(day, time()) + timedelta(minutes=RUNAWAY_START_MINUTE)
        for position in range(RUNAWAY_REQUESTS):
            at = begin + timedelta(seconds=position * RUNAWAY_GAP_SECONDS)
            lines.append(
                _event(planted, day, len(requests) + position, at, RUNAWAY_SESSION_ID, model,
                       input_tokens, cache_write_tokens, output_tokens)
            )  # fmt: skip
    return lines


def _event(
    planted: PlantedWorkflow,
    day: date,
    index: int,
    at: datetime,
    session_id: str,
    model: str,
    input_tokens: int,
    cache_write_tokens: int,
    output_tokens: int,
) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "request_id": f"planted-{planted.workflow}-{day:%Y%m%d}-{index:04d}",
            "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "provider": planted.provider,
            "model": resolve_model(model, day),
            "client": "internal",
            "team": planted.team,
            "user_id": ORG[planted.team][0],
            "workflow": planted.workflow,
            "feature": planted.workflow.replace("-", "_"),
            "task_type": planted.task_type,
            "session_id": session_id,
            "prompt_version": "v1",
            "environment": "production",
            "input_tokens": input_tokens,
            "cache_read_tokens": 0,
            "cache_write_tokens": cache_write_tokens,
            "cache_write_1h_tokens": 0,
            "output_tokens": output_tokens,
            "reasoning_tokens": 0,
            "service_tier": "standard",
            "latency_ms": 2000,
            "ttft_ms": 500,
            "status": "success",
            "error_type": None,
            "http_status": 200,
            "quality_score": None,
            "passed_quality": None,
            "reported_cost_usd": None,
            "metadata": None,
        },
        separators=(",", ":"),
    )
