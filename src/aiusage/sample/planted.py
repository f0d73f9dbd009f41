"""The planted workflows of the sample company (ground_truth.PLANTED_WORKFLOWS): requests
without noise, one cause per workflow, so that every insight mart's answer can be
computed by hand (a volume surge, a model-mix shift, a prompt that doubles its input, a
400-call session, cache writes nobody reads, a 1-hour cache TTL that 5 minutes would
serve, a latency-tolerant job on the standard tier, a cheap model that needs many
attempts). ``generate`` appends them to each day's
file, and writes the task outcome records of the workflows with tasks into the day's
outcomes file; they are never duplicated, late or malformed."""

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


def planted_outcome_lines(day: date, end_date: date) -> list[str]:
    """The task outcome records (contract task_outcome.v1) of the planted tasks attempted
    on ``day``, as JSON lines: one per task, a minute after its last attempt."""
    lines: list[str] = []
    for planted in PLANTED_WORKFLOWS:
        last_attempt: dict[str, tuple[datetime, bool]] = {}
        for at, task_id, completed, _entry in _requests(planted, day, end_date):
            if task_id is not None:
                last_attempt[task_id] = (at, completed)
        for task_id, (at, completed) in last_attempt.items():
            lines.append(
                json.dumps(
                    {
                        "task_id": task_id,
                        "workflow": planted.workflow,
                        "occurred_at": (at + timedelta(minutes=1)).strftime(
                            "%Y-%m-%dT%H:%M:%S.000Z"
                        ),
                        "outcome": "success" if completed else "failure",
                    },
                    separators=(",", ":"),
                )
            )
    return lines


def task_id_for(workflow: str, day: date, model: str, task: int) -> str:
    return f"task-planted-{workflow}-{day:%Y%m%d}-{model}-{task:03d}"


def _requests(planted: PlantedWorkflow, day: date, end_date: date):
    """(occurred_at, task_id or None, whether its task is completed, mix entry) of each of
    the workflow's regular requests of ``day``, in order."""
    mix = planted.current_day if is_current_period(day, end_date) else planted.previous_day
    tasks = {model: (per_task, completed) for model, per_task, completed in planted.tasks}
    start = datetime.combine(day, _FIRST_SESSION)
    index = 0
    for entry in mix:
        model = entry[0]
        for position in range(entry[1]):
            session, in_session = divmod(index, planted.session_length)
            at = start + timedelta(
                minutes=session * planted.session_gap_minutes,
                seconds=in_session * _REQUEST_GAP_SECONDS,
            )
            task_id, completed = None, False
            if model in tasks:
                per_task, completed_tasks = tasks[model]
                task = position // per_task
                task_id = task_id_for(planted.workflow, day, model, task)
                completed = task < completed_tasks
            yield at, task_id, completed, entry
            index += 1


def _workflow_lines(planted: PlantedWorkflow, day: date, end_date: date) -> list[str]:
    mix = planted.current_day if is_current_period(day, end_date) else planted.previous_day
    lines = []
    for index, (at, task_id, _completed, entry) in enumerate(_requests(planted, day, end_date)):
        model, _n, input_tokens, cache_write_tokens, output_tokens = entry
        session, in_session = divmod(index, planted.session_length)
        session_id = f"sess_planted_{planted.workflow}_{day:%Y%m%d}_{session:03d}"
        cache_read_tokens = 0
        if planted.session_reads_cache and in_session > 0:
            cache_read_tokens, cache_write_tokens = cache_write_tokens, 0
        lines.append(
            _event(planted, day, index, at, session_id, model, input_tokens,
                   cache_write_tokens, output_tokens, task_id, cache_read_tokens)
        )  # fmt: skip
    if planted.workflow == RUNAWAY_WORKFLOW and day == end_date:
        model, _n, input_tokens, cache_write_tokens, output_tokens = mix[0]
        begin = datetime.combine(day, time()) + timedelta(minutes=RUNAWAY_START_MINUTE)
        regular = len(lines)
        for position in range(RUNAWAY_REQUESTS):
            at = begin + timedelta(seconds=position * RUNAWAY_GAP_SECONDS)
            lines.append(
                _event(planted, day, regular + position, at, RUNAWAY_SESSION_ID, model,
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
    task_id: str | None = None,
    cache_read_tokens: int = 0,
) -> str:
    event = {
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
        "cache_read_tokens": cache_read_tokens,
        "cache_write_tokens": cache_write_tokens,
        "cache_write_1h_tokens": cache_write_tokens if planted.cache_ttl == "1h" else 0,
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
    }
    if task_id is not None:
        event["task_id"] = task_id
    return json.dumps(event, separators=(",", ":"))
