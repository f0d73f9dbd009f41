"""Synthetic LLM usage events for the landing zone.

``generate()`` writes canonical usage events (the contract of aiusage_tracking.contract)
as JSON Lines, one file per landing day::

    <landing_dir>/events/dt=YYYY-MM-DD/events-0001.jsonl

and the outcome records of the planted workflows' tasks (contract task_outcome.v1) into
``<landing_dir>/outcomes/dt=YYYY-MM-DD/outcomes-0001.jsonl``.

The data imitates a mid-sized company that calls OpenAI, Anthropic and Google models
from a dozen product workflows, with the defects a real landing zone has: duplicate
deliveries, late-arriving events, a few malformed lines, a model with no price yet,
dated snapshot model ids, a spend spike, failures, batch / flex tiers, prompt caching
and long-context prompts.

Everything is drawn from ``numpy.random.default_rng`` seeded with ``seed`` (one child
stream per day), so the same ``(seed, days, events_per_day, end_date)`` always produces
byte-identical files. The constants of aiusage.sample.catalog and
aiusage.sample.ground_truth (``ORG``, ``WORKFLOWS``, ``QUALITY_GROUND_TRUTH``,
``SUBSTITUTION_GROUND_TRUTH``, ``SPIKE_*`` ...) are the ground truth that downstream tests
can check the warehouse against.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from aiusage.landing import day_folder, landed_files, write_atomically
from aiusage.sample.catalog import EVENTS_FILE_NAME, OUTCOMES_FILE_NAME
from aiusage.sample.ground_truth import (
    DUPLICATE_NEXT_DAY_SHARE,
    DUPLICATE_SHARE,
    LATE_EVENT_SHARE,
    MALFORMED_KINDS,
    MALFORMED_PER_EVENT,
    NOT_JSON_LINES,
    SPIKE_MULTIPLIER,
    SPIKE_WORKFLOW,
    WEEKDAY_FACTOR,
)
from aiusage.sample.planted import planted_lines, planted_outcome_lines
from aiusage.sample.requests import SPIKE_WORKFLOW_INDEX, day_lines
from aiusage.sample.sessions import event_shares

# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


@dataclass
class GenerateSummary:
    files_written: int
    events_written: int  # distinct well-formed events (each counted once)
    duplicate_lines: int  # extra copies of events (identical lines)
    late_events: int  # events written into a later day's folder than they occurred
    malformed_lines: int
    start_date: date
    end_date: date
    malformed_by_kind: dict[str, int] = field(default_factory=dict)
    lines_written: int = 0  # events_written + duplicate_lines + malformed_lines
    bytes_written: int = 0
    spike_days: tuple[date, ...] = ()
    spike_workflow: str = SPIKE_WORKFLOW
    events_by_day: dict[date, int] = field(default_factory=dict)  # by occurred_at day
    files: tuple[Path, ...] = ()
    spike_sessions: tuple[str, ...] = ()  # session ids of the spike's runaway loop
    outcome_files: tuple[Path, ...] = ()  # the planted tasks' outcome records, one per day
    outcomes_written: int = 0


def event_file_path(landing_dir: Path, day: date) -> Path:
    return day_folder(landing_dir, "events", day) / EVENTS_FILE_NAME


def outcome_file_path(landing_dir: Path, day: date) -> Path:
    return day_folder(landing_dir, "outcomes", day) / OUTCOMES_FILE_NAME


def spike_days_for(seed: int, days: int, end_date: date) -> tuple[date, ...]:
    """The spend-spike days ``generate`` uses for these arguments (weekdays only)."""
    if days < 5:
        return ()
    n = 1 if days < 10 else 2 if days < 45 else 3
    start = end_date - timedelta(days=days - 1)
    cand = [i for i in range(1, days - 1) if (start + timedelta(days=i)).weekday() < 5]
    if not cand:
        return ()
    rng = np.random.default_rng([seed, 104_729, days, end_date.toordinal()])
    pick = sorted(rng.choice(cand, size=min(n, len(cand)), replace=False).tolist())
    return tuple(start + timedelta(days=int(i)) for i in pick)


def generate(
    landing_dir: Path,
    days: int,
    events_per_day: int,
    seed: int,
    end_date: date | None = None,
    progress: bool = True,
    planted: bool = True,
) -> GenerateSummary:
    """Write ``days`` daily JSONL files of synthetic usage events under ``landing_dir``.

    ``events_per_day`` is the mean number of (distinct, well-formed) events per day over
    the range, before the spike days' extra traffic. Weekdays get ~2.5-3x the volume of
    weekend days. With ``planted`` (and ``events_per_day`` > 0) the noise-free planted
    workflows of ground_truth.PLANTED_WORKFLOWS are added on top. Deterministic for a
    given ``(seed, days, events_per_day, end_date)``; files are written atomically and
    re-running rewrites identical files.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    if events_per_day < 0:
        raise ValueError("events_per_day must be >= 0")
    if end_date is None:
        end_date = datetime.now(UTC).date()
    landing_dir = Path(landing_dir)
    start_date = end_date - timedelta(days=days - 1)
    day_list = [start_date + timedelta(days=i) for i in range(days)]

    counts = _daily_counts(seed, day_list, events_per_day)
    spikes = spike_days_for(seed, days, end_date)
    spike_set = set(spikes)
    spike_share = event_shares()[SPIKE_WORKFLOW_INDEX]

    carry: dict[int, list[str]] = {}
    malformed_by_kind = dict.fromkeys(MALFORMED_KINDS, 0)
    malformed_counter = 0
    events_written = dup_lines = late = malformed = lines_written = bytes_written = 0
    events_by_day: dict[date, int] = {}
    spike_sessions: tuple[str, ...] = ()
    files: list[Path] = []
    outcome_files: list[Path] = []
    outcomes_written = 0

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=days, unit="day", desc="generate", file=sys.stderr)
    try:
        for d, day in enumerate(day_list):
            rng = np.random.default_rng([seed, day.toordinal(), 0x5EED])
            n = int(counts[d])
            extra = 0
            if day in spike_set:
                extra = int(round((SPIKE_MULTIPLIER - 1.0) * n * spike_share))
            if events_per_day >= 1000:
                m = max(1, int(rng.poisson((n + extra) * MALFORMED_PER_EVENT)))
            else:
                m = int(rng.poisson((n + extra) * MALFORMED_PER_EVENT))
            lines, ms, loop_sessions = day_lines(rng, day, n + m, extra)
            spike_sessions += loop_sessions
            total = len(lines)
            # malformed lines: corrupt m random events (they do not count as events)
            bad = np.zeros(total, dtype=bool)
            if m:
                bad_idx = np.sort(rng.choice(total, size=m, replace=False))
                bad[bad_idx] = True
                for j, i in enumerate(bad_idx.tolist()):
                    kind = MALFORMED_KINDS[(malformed_counter + j) % len(MALFORMED_KINDS)]
                    lines[i] = _corrupt(lines[i], kind, rng)
                    malformed_by_kind[kind] += 1
                malformed_counter += m
                malformed += m
            good_n = total - m
            planted_events = planted_lines(day, end_date) if planted and events_per_day else []
            events_written += good_n + len(planted_events)
            events_by_day[day] = good_n + len(planted_events)

            # arrival order = time order within the day
            order = np.argsort(ms, kind="stable")
            lines = [lines[i] for i in order.tolist()]
            bad = bad[order]

            # late arrivals and duplicate deliveries (well-formed events only)
            u = rng.random(total)
            lag = np.where(rng.random(total) < 0.7, 1, 2)
            is_late = (u < LATE_EVENT_SHARE) & ~bad & (d + lag < days)
            is_dup = (rng.random(total) < DUPLICATE_SHARE) & ~bad
            dup_next = rng.random(total) < DUPLICATE_NEXT_DAY_SHARE
            target = np.where(is_late, d + lag, d)
            dup_target = np.where(dup_next & (target + 1 < days), target + 1, target)
            same_day_extra: list[str] = []
            for i in np.flatnonzero(is_late).tolist():
                carry.setdefault(int(target[i]), []).append(lines[i])
            for i in np.flatnonzero(is_dup).tolist():
                t = int(dup_target[i])
                if t == d:
                    same_day_extra.append(lines[i])
                else:
                    carry.setdefault(t, []).append(lines[i])
            late += int(is_late.sum())
            dup_lines += int(is_dup.sum())

            keep = [ln for ln, lt in zip(lines, is_late.tolist(), strict=True) if not lt]
            extras = carry.pop(d, []) + same_day_extra + planted_events
            if extras:
                pos = rng.integers(0, len(keep) + 1, size=len(extras))
                keys = np.concatenate([np.arange(len(keep)) * 2 + 1, pos * 2])
                merged = keep + extras
                keep = [merged[i] for i in np.argsort(keys, kind="stable").tolist()]
            data = ("\n".join(keep) + "\n").encode() if keep else b""
            path = event_file_path(landing_dir, day)
            write_atomically(path, data)
            files.append(path)
            lines_written += len(keep)
            bytes_written += len(data)
            outcome_lines = planted_outcome_lines(day, end_date) if planted_events else []
            if outcome_lines:
                outcome_path = outcome_file_path(landing_dir, day)
                write_atomically(outcome_path, ("\n".join(outcome_lines) + "\n").encode())
                outcome_files.append(outcome_path)
                outcomes_written += len(outcome_lines)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    return GenerateSummary(
        files_written=len(files),
        events_written=events_written,
        duplicate_lines=dup_lines,
        late_events=late,
        malformed_lines=malformed,
        start_date=start_date,
        end_date=end_date,
        malformed_by_kind=malformed_by_kind,
        lines_written=lines_written,
        bytes_written=bytes_written,
        spike_days=spikes,
        spike_workflow=SPIKE_WORKFLOW,
        events_by_day=events_by_day,
        files=tuple(files),
        spike_sessions=spike_sessions,
        outcome_files=tuple(outcome_files),
        outcomes_written=outcomes_written,
    )


# --------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------


def _daily_counts(seed: int, day_list: list[date], events_per_day: int) -> np.ndarray:
    """Split days * events_per_day over the days by weekday factor and a little noise."""
    total = len(day_list) * events_per_day
    if total == 0:
        return np.zeros(len(day_list), dtype=np.int64)
    rng = np.random.default_rng([seed, 7, len(day_list), day_list[-1].toordinal()])
    w = np.array([WEEKDAY_FACTOR[d.weekday()] for d in day_list])
    w = w * rng.lognormal(0.0, 0.06, size=len(day_list))
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    rest = int(total - base.sum())
    if rest:
        base[np.argsort(-(exact - base), kind="stable")[:rest]] += 1
    return base


def _field_value(line: str, key: str) -> str:
    start = line.index(f'"{key}":') + len(key) + 3
    end = line.index(",", start)
    return line[start:end]


def _corrupt(line: str, kind: str, rng: np.random.Generator) -> str:
    if kind == "truncated_json":
        return line[: int(rng.integers(10, len(line) - 1))]
    if kind == "not_json":
        return NOT_JSON_LINES[int(rng.integers(0, len(NOT_JSON_LINES)))]
    if kind == "negative_input_tokens":
        v = int(_field_value(line, "input_tokens"))
        return line.replace(f'"input_tokens":{v},', f'"input_tokens":{-v - 1},', 1)
    if kind == "cache_read_exceeds_input":
        v = int(_field_value(line, "input_tokens"))
        c = _field_value(line, "cache_read_tokens")
        bump = v + 1 + int(rng.integers(0, 2000))
        return line.replace(f'"cache_read_tokens":{c},', f'"cache_read_tokens":{bump},', 1)
    if kind == "missing_request_id":
        rid = _field_value(line, "request_id")
        return line.replace(f'"request_id":{rid},', "", 1)
    raise ValueError(kind)  # pragma: no cover


def iter_event_files(landing_dir: Path) -> Iterable[Path]:
    """All event files under ``landing_dir`` in landing-day order (for tests and tools)."""
    return [path for _day, path in landed_files(landing_dir, "events")]
