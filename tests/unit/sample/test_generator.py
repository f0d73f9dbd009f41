"""The sample-data generator (aiusage.sample): layout, determinism, the contract, and the
ground truth the warehouse tests rely on."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from aiusage import sample as g
from aiusage_tracking import contract

DAYS = 14
EPD = 2000
SEED = 7
END = date(2025, 11, 16)  # a Sunday; all primary models are released by then

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REASONING_MODELS = {"o3", "o4-mini", "gpt-5", "gpt-5-mini"}
BATCH_TASKS = {"summarize", "extract", "classify"}


def _canon(model: str) -> str:
    return g.MODEL_ALIASES.get(model, model)


def _classify(line: str) -> tuple[str | None, dict | None]:
    """(malformed kind or None, parsed event or None)."""
    try:
        ev = json.loads(line)
    except json.JSONDecodeError:
        return ("truncated_json" if line.startswith("{") else "not_json"), None
    if not isinstance(ev, dict):
        return "not_json", None
    if "request_id" not in ev:
        return "missing_request_id", ev
    if ev["input_tokens"] < 0:
        return "negative_input_tokens", ev
    if ev["cache_read_tokens"] > ev["input_tokens"]:
        return "cache_read_exceeds_input", ev
    return None, ev


class Landing:
    def __init__(self, root: Path, summary: g.GenerateSummary):
        self.root = root
        self.summary = summary
        self.files: dict[date, Path] = {}
        self.raw: dict[date, bytes] = {}
        self.records: list[tuple[date, dict]] = []  # (folder day, well-formed event)
        self.malformed: Counter[str] = Counter()
        self.lines = 0
        for f in sorted((root / "events").glob("dt=*/*.jsonl")):
            day = date.fromisoformat(f.parent.name.removeprefix("dt="))
            self.files[day] = f
            self.raw[day] = f.read_bytes()
            for line in self.raw[day].decode().splitlines():
                self.lines += 1
                kind, ev = _classify(line)
                if kind:
                    self.malformed[kind] += 1
                else:
                    self.records.append((day, ev))

    @property
    def events(self) -> list[dict]:
        """Well-formed events, each once (first delivery)."""
        seen: dict[str, dict] = {}
        for _day, ev in self.records:
            seen.setdefault(ev["request_id"], ev)
        return list(seen.values())


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Landing:
    root = tmp_path_factory.mktemp("landing")
    summary = g.generate(
        root, days=DAYS, events_per_day=EPD, seed=SEED, end_date=END, progress=False
    )
    return Landing(root, summary)


@pytest.fixture(scope="module")
def events(landing) -> list[dict]:
    """The random workflows' events (the planted ones are checked on their own)."""
    return [e for e in landing.events if e["workflow"] not in g.PLANTED_BY_NAME]


# ---------------------------------------------------------------- layout / determinism


def test_layout_and_summary_dates(landing):
    s = landing.summary
    start = END - timedelta(days=DAYS - 1)
    assert (s.start_date, s.end_date) == (start, END)
    assert s.files_written == DAYS
    assert sorted(landing.files) == [start + timedelta(days=i) for i in range(DAYS)]
    for day, f in landing.files.items():
        assert f == landing.root / "events" / f"dt={day.isoformat()}" / "events-0001.jsonl"
        assert f == g.event_file_path(landing.root, day)
    leftovers = [
        p
        for p in (landing.root / "events").rglob("*")
        if p.is_file() and p.name != "events-0001.jsonl"
    ]
    assert leftovers == []  # no temp files
    assert s.bytes_written == sum(len(b) for b in landing.raw.values())


def test_deterministic_and_idempotent(landing, tmp_path):
    again = g.generate(
        tmp_path, days=DAYS, events_per_day=EPD, seed=SEED, end_date=END, progress=False
    )
    for day, data in landing.raw.items():
        assert g.event_file_path(tmp_path, day).read_bytes() == data
    first = landing.summary
    assert (
        again.events_written,
        again.duplicate_lines,
        again.late_events,
        again.malformed_by_kind,
        again.spike_days,
    ) == (
        first.events_written,
        first.duplicate_lines,
        first.late_events,
        first.malformed_by_kind,
        first.spike_days,
    )
    # re-running over an existing landing folder rewrites identical files
    g.generate(tmp_path, days=DAYS, events_per_day=EPD, seed=SEED, end_date=END, progress=False)
    for day, data in landing.raw.items():
        assert g.event_file_path(tmp_path, day).read_bytes() == data


def test_different_seed_differs(tmp_path):
    a = g.generate(tmp_path / "a", days=3, events_per_day=300, seed=1, end_date=END, progress=False)
    b = g.generate(tmp_path / "b", days=3, events_per_day=300, seed=2, end_date=END, progress=False)
    for fa, fb in zip(a.files, b.files, strict=True):
        assert fa.read_bytes() != fb.read_bytes()


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    g.generate(tmp_path, days=2, events_per_day=50, seed=3, end_date=END, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2/2" in captured.err


def test_empty_and_single_day(tmp_path):
    s = g.generate(tmp_path, days=1, events_per_day=0, seed=1, end_date=END, progress=False)
    assert s.files_written == 1 and s.events_written == 0 and s.lines_written == 0
    assert g.event_file_path(tmp_path, END).read_bytes() == b""
    with pytest.raises(ValueError):
        g.generate(tmp_path, days=0, events_per_day=10, seed=1, end_date=END, progress=False)


# ---------------------------------------------------------------- contract / invariants


def test_events_follow_the_contract(events):
    schema = contract.schema()
    props = schema["properties"]
    py_types = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "object": dict,
        "null": type(None),
    }
    # every field is written, but task_id: only workflows that track tasks write it (the
    # planted one, test_planted_tasks_have_their_attempts_and_one_outcome_each), and
    # billed_cost_usd: requests made to a provider directly carry no per-request bill, and
    # the pricing dimensions a response reports (served tier, fast mode, data residency,
    # server tool calls): the generated traffic uses none of them
    written = set(props) - {
        "task_id", "billed_cost_usd", "service_tier_served", "speed", "inference_geo",
        "web_search_requests", "code_execution_containers",
    }  # fmt: skip
    for ev in events:
        assert written <= set(ev), written - set(ev)
        for key in schema["required"]:
            assert ev[key] not in (None, "")
        for key, spec in props.items():
            val = ev.get(key)
            types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
            ok = any(
                isinstance(val, py_types[t])
                and not (t in ("integer", "number") and isinstance(val, bool))
                for t in types
            )
            assert ok, (key, val)
            if "enum" in spec:
                assert val in spec["enum"], (key, val)
            if "minimum" in spec and val is not None:
                assert val >= spec["minimum"], (key, val)
            if "maximum" in spec and val is not None:
                assert val <= spec["maximum"], (key, val)
        assert ev["schema_version"] == 1
        assert TS_RE.match(ev["occurred_at"]), ev["occurred_at"]


def test_token_and_timing_invariants(events):
    for ev in events:
        assert ev["cache_read_tokens"] + ev["cache_write_tokens"] <= ev["input_tokens"]
        assert ev["cache_write_1h_tokens"] <= ev["cache_write_tokens"]
        assert ev["reasoning_tokens"] <= ev["output_tokens"]
        if ev["ttft_ms"] is not None:
            assert ev["ttft_ms"] <= ev["latency_ms"]
        if ev["service_tier"] == "batch":
            assert ev["ttft_ms"] is None
        if ev["status"] != "success":
            assert ev["output_tokens"] == 0 and ev["reasoning_tokens"] == 0
            assert ev["quality_score"] is None and ev["passed_quality"] is None
        if ev["status"] == "rate_limited":
            assert ev["input_tokens"] == 0 and ev["http_status"] == 429
            assert ev["error_type"] == "rate_limit_exceeded"
        if ev["quality_score"] is not None:
            assert ev["passed_quality"] == (ev["quality_score"] >= g.QUALITY_PASS_THRESHOLD)
        else:
            assert ev["passed_quality"] is None
        if _canon(ev["model"]) not in REASONING_MODELS:
            assert ev["reasoning_tokens"] == 0


# ---------------------------------------------------------------- the company


def test_organisation_shape(events):
    teams = {e["team"] for e in events}
    users = {e["user_id"] for e in events}
    workflows = {e["workflow"] for e in events}
    canon = {_canon(e["model"]) for e in events}
    assert 6 <= len(teams) <= 10
    assert 40 <= len(users) <= 60
    assert 10 <= len(workflows) <= 14
    assert {e["task_type"] for e in events} == {
        "summarize",
        "classify",
        "extract",
        "chat",
        "code",
        "rag",
    }
    assert {e["client"] for e in events} == set(g.CLIENTS)
    assert len(canon - set(g.UNPRICED_MODELS)) >= 10
    assert {e["provider"] for e in events} == {"openai", "anthropic", "google"}
    assert canon <= set(g.MODELS)
    user_team = defaultdict(set)
    for e in events:
        user_team[e["user_id"]].add(e["team"])
        assert re.fullmatch(r"u_\d{3}", e["user_id"])
        assert g.USERS[e["user_id"]] == e["team"]
        wf = g.WORKFLOW_BY_NAME[e["workflow"]]
        assert (e["team"], e["task_type"], e["feature"]) == (wf.team, wf.task_type, wf.feature)
        assert e["prompt_version"] in wf.prompt_versions
    assert all(len(t) == 1 for t in user_team.values())
    for wf in g.WORKFLOWS:
        assert 2 <= len(wf.models) <= 4


def test_model_ids_as_reported(events):
    models = Counter(e["model"] for e in events)
    n = sum(models.values())
    aliased = sum(c for m, c in models.items() if m in g.MODEL_ALIASES)
    assert 0.05 < aliased / n < 0.5  # most events use the canonical id
    for m in ("gpt-4o-2024-08-06", "claude-sonnet-4-20250514", "models/gemini-2.5-pro"):
        assert models[m] > 0
    preview = models["gemini-4-pro-preview"] / n
    assert 0.001 < preview < 0.006
    assert all(e["provider"] == "google" for e in events if e["model"] == "gemini-4-pro-preview")
    for e in events:
        assert g.MODELS[_canon(e["model"])].provider == e["provider"]


def test_request_ids_and_sessions(events):
    prefixes = {"openai": "chatcmpl-", "anthropic": "msg_", "google": "gen-"}
    for e in events:
        assert e["request_id"].startswith(prefixes[e["provider"]])
    sessions = defaultdict(list)
    for e in events:
        sessions[e["session_id"]].append(e)
    multi = [s for s in sessions.values() if len(s) > 1]
    assert len(multi) > 100
    for s in sessions.values():
        assert len({(e["user_id"], e["workflow"], e["client"]) for e in s}) == 1
    envs = Counter(e["environment"] for e in events)
    assert envs["production"] > 0.9 * len(events) and envs["staging"] > 0


def test_token_shapes_by_task(events):
    med_in = {}
    med_out = {}
    ok = [e for e in events if e["status"] == "success"]
    for task in ("summarize", "classify", "rag", "code"):
        sel = [e for e in ok if e["task_type"] == task]
        med_in[task] = statistics.median(e["input_tokens"] for e in sel)
        med_out[task] = statistics.median(e["output_tokens"] for e in sel)
    assert 3000 < med_in["rag"] < 20000 and 3000 < med_in["summarize"] < 20000
    assert med_in["classify"] < 1500 and med_out["classify"] < 30
    assert med_out["code"] > 3 * med_out["summarize"]
    reasoning = [e for e in ok if _canon(e["model"]) in REASONING_MODELS]
    assert reasoning and sum(e["reasoning_tokens"] > 0 for e in reasoning) > 0.9 * len(reasoning)


def test_long_context_requests(events):
    big = [e for e in events if e["input_tokens"] > g.LONG_CONTEXT_THRESHOLD_TOKENS]
    assert big  # ~0.2% of the eligible requests: a few per run for this seed
    for e in big:
        assert _canon(e["model"]) in g.LONG_CONTEXT_MODELS
        assert e["task_type"] in g.LONG_CONTEXT_TASKS
    assert len(big) < 0.001 * len(events)


def test_prompt_caching(events):
    ok = [e for e in events if e["status"] == "success"]
    by_p = defaultdict(list)
    for e in ok:
        by_p[e["provider"]].append(e)
    for p in ("openai", "google"):
        assert all(e["cache_write_tokens"] == 0 for e in by_p[p])
        assert any(e["cache_read_tokens"] > 0 for e in by_p[p])
    assert all(e["cache_read_tokens"] % 128 == 0 for e in by_p["openai"])
    anth = by_p["anthropic"]
    assert any(e["cache_read_tokens"] > 0 for e in anth)
    assert any(e["cache_write_tokens"] > 0 for e in anth)
    assert all(e["cache_write_1h_tokens"] == 0 for e in anth)  # 1-hour TTL: planted only
    cached = sum(e["cache_read_tokens"] > 0 or e["cache_write_tokens"] > 0 for e in ok)
    assert 0.1 < cached / len(ok) < 0.7


def test_service_tiers(events):
    tiers = Counter(e["service_tier"] for e in events)
    n = len(events)
    assert 0.05 < tiers["batch"] / n < 0.16
    assert 0 < tiers["flex"] / n < 0.05
    for e in events:
        if e["service_tier"] == "batch":
            assert e["task_type"] in BATCH_TASKS
        if e["service_tier"] == "flex":
            assert e["provider"] == "openai"


def test_latency_by_model(events):
    ok = [e for e in events if e["status"] == "success" and e["service_tier"] != "batch"]
    lat = defaultdict(list)
    for e in ok:
        lat[_canon(e["model"])].append(e["latency_ms"])
    med = {m: statistics.median(v) for m, v in lat.items()}
    assert med["gpt-4o-mini"] < med["gpt-4o"]
    assert med["gemini-2.5-flash-lite"] < med["gemini-2.5-pro"]
    assert med["o3"] > med["gpt-4.1"]


def test_failures(events):
    status = Counter(e["status"] for e in events)
    failed = len(events) - status["success"]
    assert 0.02 <= failed / len(events) <= 0.05
    for s in ("error", "timeout", "rate_limited"):
        assert status[s] > 0
    http = Counter(
        (e["status"], e["error_type"], e["http_status"]) for e in events if e["status"] != "success"
    )
    assert ("error", "server_error", 500) in http
    assert ("error", "invalid_request", 400) in http
    assert ("timeout", "timeout", 504) in http
    assert ("timeout", "timeout", None) in http


def test_quality_scores_match_ground_truth(events):
    ok = [e for e in events if e["status"] == "success"]
    scored = [e for e in ok if e["quality_score"] is not None]
    assert 0.3 < len(scored) / len(ok) < 0.5
    groups = defaultdict(list)
    for e in scored:
        groups[(e["workflow"], _canon(e["model"]))].append(e["quality_score"])
    checked = 0
    for (wf, model), qs in groups.items():
        if model in g.UNPRICED_MODELS or len(qs) < 60:
            continue
        assert abs(statistics.fmean(qs) - g.QUALITY_GROUND_TRUTH[wf][model]) < 0.025, (wf, model)
        checked += 1
    assert checked >= 25
    pairs = g.SUBSTITUTION_GROUND_TRUTH
    assert any(p.substitutable for p in pairs) and any(not p.substitutable for p in pairs)
    for p in pairs:
        gap = round(p.expensive_quality - p.cheap_quality, 6)
        assert (gap <= 0.02) if p.substitutable else (gap >= 0.15)
        assert p.expensive_model == g.WORKFLOW_BY_NAME[p.workflow].models[0][0]
    names = {(p.workflow, p.cheap_model): p.substitutable for p in pairs}
    assert names[("ticket-triage", "gpt-4o-mini")] is True
    assert names[("ticket-summarizer", "claude-haiku-4-5")] is True
    assert names[("pr-review-bot", "claude-haiku-4-5")] is False


def test_reported_cost_only_for_one_workflow(events):
    with_cost = [e for e in events if e["reported_cost_usd"] is not None]
    assert with_cost
    assert {e["workflow"] for e in with_cost} == {g.REPORTED_COST_WORKFLOW}
    assert all(e["reported_cost_usd"] >= 0 for e in with_cost)
    meta = [e["metadata"] for e in events if e["metadata"] is not None]
    assert meta and all(isinstance(m, dict) and len(m) <= 4 for m in meta)


# ---------------------------------------------------------------- volume / rhythm / spike


def _daily(events, workflow=None):
    c = Counter(
        e["occurred_at"][:10] for e in events if workflow is None or e["workflow"] == workflow
    )
    return {date.fromisoformat(d): n for d, n in c.items()}


def test_volume_and_weekly_rhythm(landing, events):
    s = landing.summary
    assert DAYS * EPD <= len(events) <= DAYS * EPD * 1.15
    assert sum(s.events_by_day.values()) == s.events_written
    assert _daily(landing.events) == s.events_by_day
    daily = _daily(events)
    weekday = [n for d, n in daily.items() if d.weekday() < 5 and d not in s.spike_days]
    weekend = [n for d, n in daily.items() if d.weekday() >= 5]
    assert statistics.fmean(weekend) < 0.5 * statistics.fmean(weekday)
    hours = Counter(int(e["occurred_at"][11:13]) for e in events if e["service_tier"] != "batch")
    assert sum(hours[h] for h in range(9, 17)) > 3 * sum(hours[h] for h in range(0, 6))


def test_spike_days(landing, events):
    s = landing.summary
    assert s.spike_workflow == g.SPIKE_WORKFLOW
    assert len(s.spike_days) == 2
    assert s.spike_days == g.spike_days_for(SEED, DAYS, END)
    daily = _daily(events, g.SPIKE_WORKFLOW)
    normal = statistics.median(
        n for d, n in daily.items() if d.weekday() < 5 and d not in s.spike_days
    )
    for d in s.spike_days:
        assert daily[d] > 3 * normal
        cost_model = Counter(
            _canon(e["model"])
            for e in events
            if e["occurred_at"][:10] == d.isoformat() and e["workflow"] == g.SPIKE_WORKFLOW
        )
        assert cost_model.most_common(1)[0][0] == g.SPIKE_MODEL


# ---------------------------------------------------------------- delivery defects


def test_line_counts_match_summary(landing):
    s = landing.summary
    assert landing.lines == s.lines_written
    assert s.lines_written == s.events_written + s.duplicate_lines + s.malformed_lines
    assert len(landing.events) == s.events_written


def test_malformed_lines(landing):
    s = landing.summary
    assert dict(landing.malformed) == {k: v for k, v in s.malformed_by_kind.items() if v}
    assert sum(landing.malformed.values()) == s.malformed_lines
    assert set(landing.malformed) == set(g.MALFORMED_KINDS)
    # at least one per file when events_per_day >= 1000
    for day, data in landing.raw.items():
        assert any(_classify(line)[0] for line in data.decode().splitlines()), day
    assert s.malformed_lines < 0.002 * s.events_written


def test_duplicates(landing):
    s = landing.summary
    ids = Counter(ev["request_id"] for _d, ev in landing.records)
    assert sum(c - 1 for c in ids.values()) == s.duplicate_lines
    assert 0.003 < s.duplicate_lines / s.events_written < 0.008
    where = defaultdict(list)
    lines = {}
    for day, ev in landing.records:
        where[ev["request_id"]].append(day)
        lines.setdefault(ev["request_id"], json.dumps(ev, sort_keys=True))
    dup_days = [where[i] for i, c in ids.items() if c > 1]
    assert any(len(set(d)) == 1 for d in dup_days)  # same file
    assert any(len(set(d)) > 1 for d in dup_days)  # next day's file
    for d in dup_days:
        assert max(d) - min(d) <= timedelta(days=1)
    # the copies are identical lines
    raw_lines = Counter(
        line
        for data in landing.raw.values()
        for line in data.decode().splitlines()
        if not _classify(line)[0]
    )
    assert sum(c - 1 for c in raw_lines.values() if c > 1) == s.duplicate_lines


def test_late_events(landing):
    s = landing.summary
    first_folder: dict[str, date] = {}
    occurred: dict[str, date] = {}
    for day, ev in landing.records:
        rid = ev["request_id"]
        first_folder[rid] = min(first_folder.get(rid, day), day)
        occurred[rid] = date.fromisoformat(ev["occurred_at"][:10])
    lags = Counter((first_folder[r] - occurred[r]).days for r in first_folder)
    assert set(lags) <= {0, 1, 2}
    assert lags[1] + lags[2] == s.late_events
    assert lags[1] > 0 and lags[2] > 0
    assert 0.005 < s.late_events / s.events_written < 0.015
    # nothing is ever written before it happened
    for day, ev in landing.records:
        assert date.fromisoformat(ev["occurred_at"][:10]) <= day


# ---------------------------------------------------------------- model availability


def test_model_release_fallbacks(tmp_path):
    assert g.resolve_model("claude-haiku-4-5", date(2025, 9, 1)) == "claude-3-5-haiku"
    assert g.resolve_model("claude-haiku-4-5", date(2025, 10, 15)) == "claude-haiku-4-5"
    assert g.resolve_model("gpt-5", date(2025, 6, 1)) == "gpt-4.1"
    s = g.generate(
        tmp_path, days=3, events_per_day=800, seed=5, end_date=date(2025, 7, 1), progress=False
    )
    for f in s.files:
        for line in f.read_text().splitlines():
            kind, ev = _classify(line)
            if kind or ev is None:
                continue
            model = _canon(ev["model"])
            if model in g.UNPRICED_MODELS:
                continue
            day = date.fromisoformat(ev["occurred_at"][:10])
            assert g.MODEL_AVAILABLE_FROM[model] <= day, (model, day)
            if ev["workflow"] not in g.PLANTED_BY_NAME:
                assert model in g.QUALITY_GROUND_TRUTH[ev["workflow"]]


# ---------------------------------------------------------------- planted causes


def test_planted_workflows_follow_their_ground_truth(landing):
    """Each planted workflow has exactly the requests its ground truth lists, per day and
    period, and the runaway session is the last day's 400 calls 3 s apart."""
    planted = [e for e in landing.events if e["workflow"] in g.PLANTED_BY_NAME]
    per_day = Counter(
        (e["workflow"], e["occurred_at"][:10], e["model"], e["input_tokens"],
         e["cache_write_tokens"] + e["cache_read_tokens"], e["output_tokens"])
        for e in planted if e["session_id"] != g.RUNAWAY_SESSION_ID
    )  # fmt: skip
    start = END - timedelta(days=DAYS - 1)
    expected = Counter()
    for offset in range(DAYS):
        day = start + timedelta(days=offset)
        current = day > END - timedelta(days=g.PLANTED_PERIOD_DAYS)
        for p in g.PLANTED_WORKFLOWS:
            for model, n, inp, cw, out in p.current_day if current else p.previous_day:
                expected[(p.workflow, day.isoformat(), model, inp, cw, out)] += n
    assert per_day == expected
    runaway = sorted(e["occurred_at"] for e in planted if e["session_id"] == g.RUNAWAY_SESSION_ID)
    assert len(runaway) == g.RUNAWAY_REQUESTS
    assert {t[:10] for t in runaway} == {END.isoformat()}
    assert runaway[0][11:19] == "14:30:00" and runaway[-1][11:19] == "14:49:57"
    assert all(e["status"] == "success" for e in planted)
    # the cache: only the TTL workflow reads, each session's later calls the tokens its first
    # call wrote with a 1-hour TTL; every other planted write is a 5-minute one
    for p in g.PLANTED_WORKFLOWS:
        sessions = defaultdict(list)
        for e in planted:
            if e["workflow"] == p.workflow:
                sessions[e["session_id"]].append(e)
        for calls in sessions.values():
            calls.sort(key=lambda e: e["occurred_at"])
            for position, e in enumerate(calls):
                reads = p.session_reads_cache and position > 0
                assert e["cache_read_tokens"] == (calls[0]["cache_write_tokens"] if reads else 0)
                assert e["cache_write_tokens"] == (0 if reads else calls[0]["cache_write_tokens"])
                one_hour = e["cache_write_tokens"] if p.cache_ttl == "1h" else 0
                assert e["cache_write_1h_tokens"] == one_hour
    ttl = g.PLANTED_BY_NAME["policy-qa"]
    assert ttl.cause == "cache_ttl" and ttl.cache_ttl == "1h" and ttl.session_length == 3


def test_planted_tasks_have_their_attempts_and_one_outcome_each(landing):
    """The workflow with tasks: each of its models' requests are its tasks' attempts
    (ground truth `tasks`), every task gets one outcome record in the day's outcomes file,
    the first `completed` tasks of a day succeed; no other request carries a task_id."""
    with_tasks = [p for p in g.PLANTED_WORKFLOWS if p.tasks]
    assert with_tasks
    names = {p.workflow for p in with_tasks}
    assert all("task_id" not in e for e in landing.events if e["workflow"] not in names)
    attempts = Counter(e["task_id"] for e in landing.events if e["workflow"] in names)
    outcomes = [
        json.loads(line)
        for path in sorted((landing.root / "outcomes").glob("dt=*/*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    assert len(outcomes) == landing.summary.outcomes_written == len(attempts)
    assert {o["task_id"] for o in outcomes} == set(attempts)
    for p in with_tasks:
        for model, per_task, completed in p.tasks:
            (n,) = {entry[1] for entry in (*p.previous_day, *p.current_day) if entry[0] == model}
            mine = [
                o
                for o in outcomes
                if o["workflow"] == p.workflow and o["task_id"].rsplit("-", 1)[0].endswith(model)
            ]
            assert len(mine) == DAYS * n // per_task
            assert sum(o["outcome"] == "success" for o in mine) == DAYS * completed
            assert {attempts[o["task_id"]] for o in mine} == {per_task}
