"""Ground truth of the sample data: quality per workflow and model, the substitution
pairs a correct warehouse must find, the spend spike, failure rates and delivery defects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from aiusage.sample.catalog import MODEL_AVAILABLE_FROM, MODEL_FALLBACKS, WORKFLOWS

# --------------------------------------------------------------------------------------
# Quality ground truth
# --------------------------------------------------------------------------------------

QUALITY_PASS_THRESHOLD = 0.7
QUALITY_SCORED_SHARE = 0.40  # share of successful requests that carry an evaluation score
QUALITY_SD = 0.06
#: Two models whose mean quality differs by at most this much are "substitutable".
QUALITY_TOLERANCE = 0.03

_PRIMARY_QUALITY: dict[str, dict[str, float]] = {
    # close pairs (cheap ~ expensive)
    "ticket-summarizer": {
        "claude-sonnet-4": 0.88,
        "claude-haiku-4-5": 0.87,
        "gemini-2.5-flash": 0.86,
    },
    "support-chatbot": {"gpt-4o": 0.84, "gpt-4o-mini": 0.83, "claude-3-5-haiku": 0.68},
    "ticket-triage": {"gpt-4o": 0.91, "gpt-4o-mini": 0.90, "gemini-2.0-flash": 0.89},
    "lead-enrichment": {"gpt-4o": 0.91, "gpt-4o-mini": 0.90, "gemini-2.5-flash-lite": 0.89},
    "email-drafter": {"gpt-4.1": 0.85, "gpt-4.1-mini": 0.84},
    "social-listening": {"gemini-2.5-flash": 0.89, "gemini-2.5-flash-lite": 0.88},
    "incident-summarizer": {"gpt-4.1": 0.87, "gpt-4.1-mini": 0.86, "gemini-2.0-flash": 0.85},
    "docs-qa": {"claude-sonnet-4-5": 0.87, "gpt-4.1": 0.86, "gpt-4.1-mini": 0.85},
    # hard tasks: the cheap model is clearly worse
    "contract-extraction": {
        "claude-opus-4-1": 0.93,
        "claude-sonnet-4-5": 0.91,
        "claude-haiku-4-5": 0.74,
    },
    "legal-research": {"claude-sonnet-4-5": 0.85, "gemini-2.5-pro": 0.84, "gemini-2.5-flash": 0.64},
    "analytics-sql-assistant": {"gpt-5": 0.89, "o4-mini": 0.74, "gpt-5-mini": 0.72},
    "pr-review-bot": {"claude-sonnet-4-5": 0.86, "o3": 0.88, "claude-haiku-4-5": 0.66},
}
PREVIEW_QUALITY_BONUS = 0.02  # gemini-4-pro-preview scores best-in-workflow + this


def _build_quality() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for wf in WORKFLOWS:
        primary = _PRIMARY_QUALITY[wf.name]
        # A fallback model used before a primary model's release inherits that slot's
        # quality. When several slots fall back to the same model, the slot whose fallback
        # is in use until the latest date wins.
        best: dict[str, tuple[date, float]] = {}
        for m, _w in wf.models:
            cur = m
            while cur in MODEL_FALLBACKS:
                used_until = MODEL_AVAILABLE_FROM.get(cur, date.min)
                cur = MODEL_FALLBACKS[cur]
                if cur not in primary and (cur not in best or used_until > best[cur][0]):
                    best[cur] = (used_until, primary[m])
        out[wf.name] = {**primary, **{k: v for k, (_d, v) in best.items()}}
    return out


#: workflow -> {canonical model -> mean quality_score}. Scores are drawn
#: ``clip(N(mean, QUALITY_SD), 0, 1)`` rounded to 3 decimals on ``QUALITY_SCORED_SHARE`` of
#: successful requests; ``passed_quality = quality_score >= QUALITY_PASS_THRESHOLD``.
#: Entries for fallback models (only used before a primary model's release, see
#: ``MODEL_AVAILABLE_FROM``) inherit the quality of the model they stand in for.
QUALITY_GROUND_TRUTH: dict[str, dict[str, float]] = _build_quality()


@dataclass(frozen=True)
class SubstitutionPair:
    workflow: str
    task_type: str
    expensive_model: str  # the workflow's reference model
    cheap_model: str  # a cheaper model used by the same workflow
    expensive_quality: float
    cheap_quality: float
    substitutable: bool  # quality gap <= QUALITY_TOLERANCE


def _build_substitution() -> tuple[SubstitutionPair, ...]:
    pairs = []
    for wf in WORKFLOWS:
        ref = wf.models[0][0]
        qr = _PRIMARY_QUALITY[wf.name][ref]
        for m, _w in wf.models[1:]:
            q = _PRIMARY_QUALITY[wf.name][m]
            pairs.append(
                SubstitutionPair(
                    wf.name, wf.task_type, ref, m, qr, q, round(qr - q, 6) <= QUALITY_TOLERANCE
                )
            )
    return tuple(pairs)


#: Every (reference model, cheaper model) pair per workflow with its true mean qualities
#: (all primary models available, i.e. dates from 2025-10-15 on). ``substitutable`` pairs
#: differ by <= 0.02; the others by >= 0.15 (code, complex rag / extraction, chat on
#: claude-3-5-haiku).
SUBSTITUTION_GROUND_TRUTH: tuple[SubstitutionPair, ...] = _build_substitution()

# --------------------------------------------------------------------------------------
# Spike, failures, delivery defects
# --------------------------------------------------------------------------------------

#: On ``spike_days_for(...)`` days the PR review bot gets stuck in a retry loop: the
#: workflow runs SPIKE_MULTIPLIER x its usual daily volume; all extra requests go to
#: SPIKE_MODEL (or its fallback before its release), in a few long sessions of one user
#: over a few hours, with a higher rate-limit share.
SPIKE_WORKFLOW = "pr-review-bot"
SPIKE_MODEL = "claude-sonnet-4-5"
SPIKE_MULTIPLIER = 5.0
SPIKE_RATE_LIMITED_SHARE = 0.12

# failure shares (of all requests)
RATE_LIMITED_SHARE = 0.011
ERROR_SHARE = 0.009
TIMEOUT_SHARE = 0.005  # doubled for reasoning models

DUPLICATE_SHARE = 0.005  # events delivered twice
DUPLICATE_NEXT_DAY_SHARE = 0.4  # of duplicates, share written into the next day's file
LATE_EVENT_SHARE = 0.01  # events written 1-2 days after they occurred
MALFORMED_PER_EVENT = 3e-4
MALFORMED_KINDS: tuple[str, ...] = (
    "truncated_json",
    "not_json",
    "negative_input_tokens",
    "cache_read_exceeds_input",
    "missing_request_id",
)
NOT_JSON_LINES = (
    "upstream connect error or disconnect/reset before headers. reset reason: overflow",
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "Traceback (most recent call last):",
    "-- log rotated --",
)

#: The one workflow that sends its own cost estimate (``reported_cost_usd``): list
#: input/output prices, ignoring cache discounts, batch discounts and long-context tiers.
REPORTED_COST_WORKFLOW = "ticket-summarizer"

STAGING_SHARE = 0.04
WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 0.97, 0.35, 0.32)  # Mon..Sun
HOUR_WEIGHTS = np.array(
    [
        0.15,
        0.10,
        0.08,
        0.08,
        0.10,
        0.15,
        0.30,
        0.55,
        0.85,
        1.00,
        1.00,
        0.95,
        0.90,
        1.00,
        1.00,
        1.00,
        0.95,
        0.85,
        0.70,
        0.55,
        0.45,
        0.35,
        0.25,
        0.20,
    ]
)
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
BATCH_HOURS = np.array([0, 1, 2, 3, 4, 22, 23])
BATCH_HOUR_P = np.array([0.18, 0.2, 0.2, 0.18, 0.12, 0.06, 0.06])

# --------------------------------------------------------------------------------------
# Planted causes (issue 20): one cause per planted workflow, generated without noise
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantedWorkflow:
    """A workflow whose every request is fixed (no randomness but the ids), so that each
    insight mart's answer can be computed by hand. ``cause`` names what changes, or what
    is wrong, and the analysis that must name it. The "current" period is the last
    ``PLANTED_PERIOD_DAYS`` days of the data, the "previous" one the days before."""

    workflow: str
    team: str
    task_type: str
    provider: str
    #: volume, mix, efficiency, runaway_session, cache_waste, cache_ttl, batch_tier, attempts
    cause: str
    driver: str  # the top driver rpt_cost_change_drivers must name for the workflow (7 days)
    #: per day: ((model, requests, input_tokens, cache_write_tokens, output_tokens), ...)
    previous_day: tuple[tuple[str, int, int, int, int], ...]
    current_day: tuple[tuple[str, int, int, int, int], ...]
    session_length: int = 1  # requests per session (a session starts every gap)
    session_gap_minutes: int = 30
    #: per model: (model, attempts per task, completed tasks per day). A model's requests
    #: of a day are its tasks' attempts in order (task k: requests k*attempts ..); the
    #: first `completed` tasks of the day succeed, the others fail; every task gets one
    #: outcome record (landing source outcomes). Empty: the requests carry no task_id.
    tasks: tuple[tuple[str, int, int], ...] = ()
    #: The TTL of the cache writes: 1h writes the whole cache_write_tokens with a 1-hour TTL.
    cache_ttl: str = "5m"
    #: With reads, only a session's first request writes its cache_write_tokens; the later
    #: ones read those tokens (cache_read_tokens) and write nothing.
    session_reads_cache: bool = False


PLANTED_PERIOD_DAYS = 7
PLANTED_WORKFLOWS: tuple[PlantedWorkflow, ...] = (
    # twice the requests, nothing else changes
    PlantedWorkflow(
        "meeting-notes",
        "platform",
        "summarize",
        "openai",
        "volume",
        "volume",
        (("gpt-4.1-mini", 20, 2000, 0, 300),),
        (("gpt-4.1-mini", 40, 2000, 0, 300),),
    ),
    # the same requests move from the mini model to the full one
    PlantedWorkflow(
        "product-descriptions",
        "marketing",
        "chat",
        "openai",
        "mix",
        "mix",
        (("gpt-4o-mini", 24, 1500, 0, 400), ("gpt-4o", 6, 1500, 0, 400)),
        (("gpt-4o-mini", 6, 1500, 0, 400), ("gpt-4o", 24, 1500, 0, 400)),
    ),
    # a prompt change doubles the input tokens of every request
    PlantedWorkflow(
        "kb-article-writer",
        "search",
        "rag",
        "openai",
        "efficiency",
        "efficiency",
        (("gpt-4.1", 20, 3000, 0, 500),),
        (("gpt-4.1", 20, 6000, 0, 500),),
    ),
    # eight 3-call sessions a day; on the last day one more session of 400 calls, 3 s apart
    PlantedWorkflow(
        "release-notes-agent",
        "developer-experience",
        "code",
        "anthropic",
        "runaway_session",
        "volume",
        (("claude-haiku-4-5", 24, 1000, 0, 200),),
        (("claude-haiku-4-5", 24, 1000, 0, 200),),
        session_length=3,
        session_gap_minutes=60,
    ),
    # every request writes its prompt to the cache (5-minute TTL), none ever reads it
    PlantedWorkflow(
        "invoice-parser",
        "sales-ops",
        "extract",
        "anthropic",
        "cache_waste",
        "none",
        (("claude-haiku-4-5", 40, 10000, 8000, 200),),
        (("claude-haiku-4-5", 40, 10000, 8000, 200),),
    ),
    # three-call sessions a minute apart: the first writes its prompt with a 1-hour TTL, the
    # next two read it within two minutes; caching pays, but a 5-minute TTL would serve the
    # same reads for less (rpt_cache_efficiency.recommended_ttl, the savings list)
    PlantedWorkflow(
        "policy-qa",
        "legal",
        "rag",
        "anthropic",
        "cache_ttl",
        "none",
        (("claude-sonnet-4-5", 30, 12000, 10000, 300),),
        (("claude-sonnet-4-5", 30, 12000, 10000, 300),),
        session_length=3,
        session_gap_minutes=40,
        cache_ttl="1h",
        session_reads_cache=True,
    ),
    # a nightly job that could wait a day (seeds/workflow_policies.csv) on the standard tier
    PlantedWorkflow(
        "nightly-digest",
        "data-science",
        "summarize",
        "openai",
        "batch_tier",
        "none",
        (("gpt-4.1", 20, 4000, 0, 800),),
        (("gpt-4.1", 20, 4000, 0, 800),),
    ),
    # a cheap model that needs three attempts a task and completes 4 tasks in 10, beside a
    # model five times dearer per request that completes 9 in 10 at the first attempt:
    # per completed task the cheap model is the dear one (rpt_cost_per_outcome)
    PlantedWorkflow(
        "refund-resolver",
        "customer-support",
        "chat",
        "openai",
        "attempts",
        "none",
        (("gpt-4.1-mini", 30, 2000, 0, 400), ("gpt-4.1", 10, 2000, 0, 400)),
        (("gpt-4.1-mini", 30, 2000, 0, 400), ("gpt-4.1", 10, 2000, 0, 400)),
        tasks=(("gpt-4.1-mini", 3, 4), ("gpt-4.1", 1, 9)),
    ),
)
PLANTED_BY_NAME: dict[str, PlantedWorkflow] = {p.workflow: p for p in PLANTED_WORKFLOWS}
#: The runaway session of release-notes-agent: on the last day, from RUNAWAY_START_MINUTE
#: after midnight UTC, RUNAWAY_REQUESTS calls RUNAWAY_GAP_SECONDS apart.
RUNAWAY_WORKFLOW = "release-notes-agent"
RUNAWAY_REQUESTS = 400
RUNAWAY_GAP_SECONDS = 3
RUNAWAY_START_MINUTE = 14 * 60 + 30
RUNAWAY_SESSION_ID = "sess_planted_runaway"
