"""Synthetic LLM usage events for the landing zone.

``generate()`` writes canonical usage events (contract
``orchestration/contracts/usage_event.v1.schema.json``) as JSON Lines, one file per
landing day::

    <landing_dir>/events/dt=YYYY-MM-DD/events-0001.jsonl

The data imitates a mid-sized company that calls OpenAI, Anthropic and Google models
from a dozen product workflows, with the defects a real landing zone has: duplicate
deliveries, late-arriving events, a few malformed lines, a model with no price yet,
dated snapshot model ids, a spend spike, failures, batch / flex tiers, prompt caching
and long-context prompts.

Everything is drawn from ``numpy.random.default_rng`` seeded with ``seed`` (one child
stream per day), so the same ``(seed, days, events_per_day, end_date)`` always produces
byte-identical files. The module-level constants below (``ORG``, ``WORKFLOWS``,
``QUALITY_GROUND_TRUTH``, ``SUBSTITUTION_GROUND_TRUTH``, ``SPIKE_*`` ...) are the ground
truth that downstream tests can check the warehouse against.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

__all__ = [
    "CLIENTS",
    "GenerateSummary",
    "LATE_EVENT_SHARE",
    "DUPLICATE_SHARE",
    "LONG_CONTEXT_THRESHOLD_TOKENS",
    "MALFORMED_KINDS",
    "MODELS",
    "ModelSpec",
    "MODEL_ALIASES",
    "MODEL_AVAILABLE_FROM",
    "MODEL_FALLBACKS",
    "ORG",
    "QUALITY_GROUND_TRUTH",
    "QUALITY_PASS_THRESHOLD",
    "QUALITY_TOLERANCE",
    "REPORTED_COST_WORKFLOW",
    "SPIKE_MODEL",
    "SPIKE_MULTIPLIER",
    "SPIKE_WORKFLOW",
    "SUBSTITUTION_GROUND_TRUTH",
    "SubstitutionPair",
    "TEAMS",
    "UNPRICED_MODELS",
    "USERS",
    "WORKFLOWS",
    "WORKFLOW_BY_NAME",
    "Workflow",
    "event_file_path",
    "generate",
    "iter_event_files",
    "resolve_model",
    "spike_days_for",
]

SCHEMA_VERSION = 1
EVENTS_FILE_NAME = "events-0001.jsonl"
DAY_MS = 86_400_000

# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    ttft_ms: float  # median time to first token for a small prompt
    ms_per_token: float  # decode time per output token
    prefill_ms_per_1k: float  # extra time to first token per 1k prompt tokens
    reasoning_ratio: float  # median reasoning / visible output tokens; 0 = not a reasoning model
    list_input_usd_per_mtok: float  # approximate list price (only for the caller's own estimate)
    list_output_usd_per_mtok: float


#: Canonical model ids (as priced in ``seeds/model_prices.csv``) plus one unpriced preview.
MODELS: dict[str, ModelSpec] = {
    "gpt-4o": ModelSpec("openai", 450, 12, 25, 0.0, 2.50, 10.00),
    "gpt-4o-mini": ModelSpec("openai", 350, 8, 15, 0.0, 0.15, 0.60),
    "gpt-4.1": ModelSpec("openai", 500, 11, 22, 0.0, 2.00, 8.00),
    "gpt-4.1-mini": ModelSpec("openai", 350, 7, 14, 0.0, 0.40, 1.60),
    "o3": ModelSpec("openai", 1500, 14, 30, 1.8, 2.00, 8.00),
    "o4-mini": ModelSpec("openai", 800, 7, 18, 1.3, 1.10, 4.40),
    "gpt-5": ModelSpec("openai", 1200, 12, 28, 1.5, 1.25, 10.00),
    "gpt-5-mini": ModelSpec("openai", 700, 7, 16, 1.2, 0.25, 2.00),
    "claude-opus-4-1": ModelSpec("anthropic", 1400, 25, 40, 0.0, 15.00, 75.00),
    "claude-sonnet-4": ModelSpec("anthropic", 900, 15, 25, 0.0, 3.00, 15.00),
    "claude-sonnet-4-5": ModelSpec("anthropic", 850, 14, 25, 0.0, 3.00, 15.00),
    "claude-haiku-4-5": ModelSpec("anthropic", 450, 7, 12, 0.0, 1.00, 5.00),
    "claude-3-5-haiku": ModelSpec("anthropic", 500, 10, 14, 0.0, 0.80, 4.00),
    "gemini-2.5-pro": ModelSpec("google", 1500, 10, 20, 0.0, 1.25, 10.00),
    "gemini-2.5-flash": ModelSpec("google", 600, 5, 10, 0.0, 0.30, 2.50),
    "gemini-2.0-flash": ModelSpec("google", 350, 4, 8, 0.0, 0.10, 0.40),
    "gemini-2.5-flash-lite": ModelSpec("google", 300, 3, 6, 0.0, 0.10, 0.40),
    "gemini-3-pro-preview": ModelSpec("google", 1800, 10, 22, 0.0, 2.00, 12.00),
}

#: Models that appear in the events but have no price in the project's seed (yet).
UNPRICED_MODELS: tuple[str, ...] = ("gemini-3-pro-preview",)
#: Share of interactive sessions routed to the unpriced preview model (~0.3% of events).
UNPRICED_MODEL_SESSION_SHARE = 0.0033

#: Model ids as providers report them (dated snapshots, ``models/`` prefixes) -> canonical id.
#: Mirrors ``seeds/model_aliases.csv``. About ``ALIAS_SESSION_SHARE`` of the sessions of a
#: model that has aliases report one of them instead of the canonical id.
MODEL_ALIASES: dict[str, str] = {
    "gpt-4o-2024-08-06": "gpt-4o",
    "gpt-4o-2024-11-20": "gpt-4o",
    "gpt-4o-mini-2024-07-18": "gpt-4o-mini",
    "gpt-4.1-2025-04-14": "gpt-4.1",
    "gpt-4.1-mini-2025-04-14": "gpt-4.1-mini",
    "o3-2025-04-16": "o3",
    "o4-mini-2025-04-16": "o4-mini",
    "gpt-5-2025-08-07": "gpt-5",
    "gpt-5-mini-2025-08-07": "gpt-5-mini",
    "claude-opus-4-1-20250805": "claude-opus-4-1",
    "claude-sonnet-4-20250514": "claude-sonnet-4",
    "claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
    "claude-haiku-4-5-20251001": "claude-haiku-4-5",
    "claude-3-5-haiku-20241022": "claude-3-5-haiku",
    "models/gemini-2.5-pro": "gemini-2.5-pro",
    "models/gemini-2.5-flash": "gemini-2.5-flash",
    "models/gemini-2.0-flash": "gemini-2.0-flash",
    "gemini-2.0-flash-001": "gemini-2.0-flash",
    "models/gemini-2.5-flash-lite": "gemini-2.5-flash-lite",
}
ALIAS_SESSION_SHARE = 0.25

#: First day a model is used (= first ``valid_from`` in ``seeds/model_prices.csv``). A model
#: that is not yet available on a day is replaced by ``MODEL_FALLBACKS`` (followed
#: transitively), so generated traffic never predates the model's price list.
MODEL_AVAILABLE_FROM: dict[str, date] = {
    "gpt-4o": date(2024, 5, 13),
    "gpt-4o-mini": date(2024, 7, 18),
    "gpt-4.1": date(2025, 4, 14),
    "gpt-4.1-mini": date(2025, 4, 14),
    "o3": date(2025, 4, 16),
    "o4-mini": date(2025, 4, 16),
    "gpt-5": date(2025, 8, 7),
    "gpt-5-mini": date(2025, 8, 7),
    "claude-opus-4-1": date(2025, 8, 5),
    "claude-sonnet-4": date(2025, 5, 22),
    "claude-sonnet-4-5": date(2025, 9, 29),
    "claude-haiku-4-5": date(2025, 10, 15),
    "claude-3-5-haiku": date(2024, 10, 22),
    "gemini-2.5-pro": date(2025, 6, 17),
    "gemini-2.5-flash": date(2025, 6, 17),
    "gemini-2.0-flash": date(2025, 2, 5),
    "gemini-2.5-flash-lite": date(2025, 7, 22),
}
MODEL_FALLBACKS: dict[str, str] = {
    "claude-sonnet-4-5": "claude-sonnet-4",
    "claude-opus-4-1": "claude-sonnet-4",
    "claude-haiku-4-5": "claude-3-5-haiku",
    "claude-sonnet-4": "claude-3-5-haiku",
    "gpt-5": "gpt-4.1",
    "gpt-5-mini": "gpt-4.1-mini",
    "o3": "gpt-4.1",
    "o4-mini": "gpt-4.1-mini",
    "gpt-4.1": "gpt-4o",
    "gpt-4.1-mini": "gpt-4o-mini",
    "gpt-4o-mini": "gpt-4o",
    "gemini-2.5-pro": "gemini-2.0-flash",
    "gemini-2.5-flash": "gemini-2.0-flash",
    "gemini-2.5-flash-lite": "gemini-2.0-flash",
}


def resolve_model(model: str, day: date) -> str:
    """The model actually used on ``day`` for a workflow configured with ``model``."""
    seen = set()
    while model in MODEL_FALLBACKS and day < MODEL_AVAILABLE_FROM.get(model, date.min):
        seen.add(model)
        nxt = MODEL_FALLBACKS[model]
        if nxt in seen:  # pragma: no cover - defensive
            break
        model = nxt
    return model


#: Long-context tier: ~0.2% of rag/summarize requests on these models send a prompt above
#: ``LONG_CONTEXT_THRESHOLD_TOKENS`` input tokens.
LONG_CONTEXT_MODELS: tuple[str, ...] = ("claude-sonnet-4-5", "gemini-2.5-pro")
LONG_CONTEXT_TASKS: tuple[str, ...] = ("rag", "summarize")
LONG_CONTEXT_SHARE = 0.002
LONG_CONTEXT_THRESHOLD_TOKENS = 200_000

# --------------------------------------------------------------------------------------
# Organisation
# --------------------------------------------------------------------------------------

CLIENTS: tuple[str, ...] = ("acme", "globex", "initech", "umbrella", "internal")
_EXTERNAL = (0.40, 0.30, 0.20, 0.10, 0.0)
_INTERNAL = (0.0, 0.0, 0.0, 0.0, 1.0)

#: team -> number of users
TEAMS: dict[str, int] = {
    "customer-support": 10,
    "sales-ops": 7,
    "legal": 5,
    "marketing": 5,
    "data-science": 6,
    "developer-experience": 8,
    "platform": 5,
    "search": 4,
}


def _build_users() -> dict[str, str]:
    # Fixed organisation (independent of the seed): ids interleave across teams.
    order = np.random.default_rng(20240917).permutation(sum(TEAMS.values()))
    teams = [t for t, n in TEAMS.items() for _ in range(n)]
    users = {f"u_{int(i) + 1:03d}": teams[k] for k, i in enumerate(order)}
    return dict(sorted(users.items()))


#: user_id -> team (each user belongs to exactly one team)
USERS: dict[str, str] = _build_users()
#: team -> sorted user ids
ORG: dict[str, tuple[str, ...]] = {t: tuple(u for u, tt in USERS.items() if tt == t) for t in TEAMS}


@dataclass(frozen=True)
class Workflow:
    name: str
    team: str
    task_type: str
    feature: str
    prompt_versions: tuple[str, ...]
    prompt_weights: tuple[float, ...]
    models: tuple[tuple[str, float], ...]  # (canonical model, weight); first = reference model
    volume_share: float  # share of all events
    batch_share: float  # share of this workflow's events sent through a batch API
    client_weights: tuple[float, ...]  # over CLIENTS
    cache_rate: float  # share of requests that use prompt caching (when eligible)
    flex_share: float = 0.0  # share of interactive OpenAI reasoning-model sessions on flex
    cache_1h_share: float = 0.0  # share of Anthropic cache writes with a 1-hour TTL


#: The twelve workflows. ``models[0]`` is the workflow's reference (most expensive) model.
WORKFLOWS: tuple[Workflow, ...] = (
    Workflow(
        "ticket-summarizer",
        "customer-support",
        "summarize",
        "ticket_summary",
        ("v1", "v2", "v3"),
        (0.15, 0.35, 0.50),
        (("claude-sonnet-4", 0.45), ("claude-haiku-4-5", 0.40), ("gemini-2.5-flash", 0.15)),
        0.12,
        0.30,
        _EXTERNAL,
        0.60,
        cache_1h_share=0.5,
    ),
    Workflow(
        "support-chatbot",
        "customer-support",
        "chat",
        "help_center_chat",
        ("v1", "v2"),
        (0.4, 0.6),
        (("gpt-4o", 0.35), ("gpt-4o-mini", 0.55), ("claude-3-5-haiku", 0.10)),
        0.16,
        0.0,
        _EXTERNAL,
        0.70,
    ),
    Workflow(
        "ticket-triage",
        "customer-support",
        "classify",
        "ticket_routing",
        ("v1", "v2"),
        (0.3, 0.7),
        (("gpt-4o", 0.30), ("gpt-4o-mini", 0.60), ("gemini-2.0-flash", 0.10)),
        0.12,
        0.15,
        _EXTERNAL,
        0.30,
    ),
    Workflow(
        "lead-enrichment",
        "sales-ops",
        "extract",
        "crm_enrichment",
        ("v1", "v2"),
        (0.5, 0.5),
        (("gpt-4o", 0.40), ("gpt-4o-mini", 0.45), ("gemini-2.5-flash-lite", 0.15)),
        0.07,
        0.30,
        (0.35, 0.35, 0.15, 0.15, 0.0),
        0.20,
    ),
    Workflow(
        "email-drafter",
        "sales-ops",
        "chat",
        "outreach_email",
        ("v1", "v2", "v3"),
        (0.2, 0.3, 0.5),
        (("gpt-4.1", 0.50), ("gpt-4.1-mini", 0.50)),
        0.06,
        0.0,
        _INTERNAL,
        0.40,
    ),
    Workflow(
        "contract-extraction",
        "legal",
        "extract",
        "contract_clauses",
        ("v1", "v2", "v3"),
        (0.2, 0.3, 0.5),
        (("claude-opus-4-1", 0.20), ("claude-sonnet-4-5", 0.50), ("claude-haiku-4-5", 0.30)),
        0.04,
        0.25,
        (0.30, 0.20, 0.10, 0.10, 0.30),
        0.70,
        cache_1h_share=0.4,
    ),
    Workflow(
        "legal-research",
        "legal",
        "rag",
        "case_law_search",
        ("v1", "v2"),
        (0.5, 0.5),
        (("claude-sonnet-4-5", 0.50), ("gemini-2.5-pro", 0.30), ("gemini-2.5-flash", 0.20)),
        0.05,
        0.0,
        _INTERNAL,
        0.60,
        cache_1h_share=0.3,
    ),
    Workflow(
        "social-listening",
        "marketing",
        "classify",
        "mention_sentiment",
        ("v1",),
        (1.0,),
        (("gemini-2.5-flash", 0.50), ("gemini-2.5-flash-lite", 0.50)),
        0.08,
        0.25,
        (0.40, 0.30, 0.20, 0.10, 0.0),
        0.20,
    ),
    Workflow(
        "analytics-sql-assistant",
        "data-science",
        "code",
        "text_to_sql",
        ("v1", "v2"),
        (0.6, 0.4),
        (("gpt-5", 0.30), ("o4-mini", 0.30), ("gpt-5-mini", 0.40)),
        0.06,
        0.0,
        _INTERNAL,
        0.50,
        flex_share=0.20,
    ),
    Workflow(
        "pr-review-bot",
        "developer-experience",
        "code",
        "pull_request_review",
        ("v1", "v2", "v3"),
        (0.1, 0.4, 0.5),
        (("claude-sonnet-4-5", 0.45), ("o3", 0.25), ("claude-haiku-4-5", 0.30)),
        0.07,
        0.0,
        _INTERNAL,
        0.50,
        flex_share=0.25,
    ),
    Workflow(
        "incident-summarizer",
        "platform",
        "summarize",
        "incident_digest",
        ("v1", "v2"),
        (0.5, 0.5),
        (("gpt-4.1", 0.40), ("gpt-4.1-mini", 0.40), ("gemini-2.0-flash", 0.20)),
        0.04,
        0.0,
        _INTERNAL,
        0.30,
    ),
    Workflow(
        "docs-qa",
        "search",
        "rag",
        "knowledge_base_qa",
        ("v1", "v2", "v3"),
        (0.2, 0.3, 0.5),
        (("claude-sonnet-4-5", 0.20), ("gpt-4.1", 0.35), ("gpt-4.1-mini", 0.45)),
        0.13,
        0.0,
        (0.30, 0.25, 0.15, 0.10, 0.20),
        0.50,
    ),
)
WORKFLOW_BY_NAME: dict[str, Workflow] = {w.name: w for w in WORKFLOWS}

# lognormal token parameters per task type: (input median, input sigma, output median, sigma)
TASK_TOKENS: dict[str, tuple[float, float, float, float]] = {
    "summarize": (7000, 0.55, 350, 0.50),
    "rag": (8000, 0.55, 450, 0.60),
    "classify": (600, 0.50, 8, 0.60),
    "extract": (2500, 0.60, 300, 0.60),
    "chat": (1500, 0.70, 250, 0.70),
    "code": (3500, 0.70, 1200, 0.70),
}
# interactive session shape per task type: (mean requests per session, mean gap seconds)
TASK_SESSIONS: dict[str, tuple[float, float]] = {
    "summarize": (1.5, 30),
    "rag": (3.0, 60),
    "classify": (2.0, 15),
    "extract": (2.0, 20),
    "chat": (6.0, 45),
    "code": (5.0, 90),
}
BATCH_SESSION_MEAN_LEN = 40.0
BATCH_GAP_MS = 150.0

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
_PREVIEW_QUALITY_BONUS = 0.02  # gemini-3-pro-preview scores best-in-workflow + this


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
_NOT_JSON_LINES = (
    "upstream connect error or disconnect/reset before headers. reset reason: overflow",
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "Traceback (most recent call last):",
    "-- log rotated --",
)

#: The one workflow that sends its own cost estimate (``reported_cost_usd``): list
#: input/output prices, ignoring cache discounts, batch discounts and long-context tiers.
REPORTED_COST_WORKFLOW = "ticket-summarizer"

STAGING_SHARE = 0.04
_WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 0.97, 0.35, 0.32)  # Mon..Sun
_HOUR_WEIGHTS = np.array(
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
_HOUR_P = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
_BATCH_HOURS = np.array([0, 1, 2, 3, 4, 22, 23])
_BATCH_HOUR_P = np.array([0.18, 0.2, 0.2, 0.18, 0.12, 0.06, 0.06])

# --------------------------------------------------------------------------------------
# Lookup arrays
# --------------------------------------------------------------------------------------

_MODEL_IDS: tuple[str, ...] = tuple(MODELS)
_MIDX = {m: i for i, m in enumerate(_MODEL_IDS)}
_PROVIDERS = ("openai", "anthropic", "google")
_PIDX = {p: i for i, p in enumerate(_PROVIDERS)}
_M_PROVIDER = np.array([_PIDX[MODELS[m].provider] for m in _MODEL_IDS])
_M_TTFT = np.array([MODELS[m].ttft_ms for m in _MODEL_IDS])
_M_MSTOK = np.array([MODELS[m].ms_per_token for m in _MODEL_IDS])
_M_PREFILL = np.array([MODELS[m].prefill_ms_per_1k for m in _MODEL_IDS])
_M_REASON = np.array([MODELS[m].reasoning_ratio for m in _MODEL_IDS])
_M_PIN = np.array([MODELS[m].list_input_usd_per_mtok for m in _MODEL_IDS])
_M_POUT = np.array([MODELS[m].list_output_usd_per_mtok for m in _MODEL_IDS])
_M_LONGCTX = np.array([m in LONG_CONTEXT_MODELS for m in _MODEL_IDS])
# implicit caching on Google: 2.5 family only
_M_GOOGLE_CACHE = np.array(
    [m.startswith("gemini-2.5") or m.startswith("gemini-3") for m in _MODEL_IDS]
)
_M_MIN_CACHE = np.array(
    [2048 if ("haiku" in m or m == "gemini-2.5-pro") else 1024 for m in _MODEL_IDS]
)
_ALIASES_BY_MODEL: dict[str, tuple[str, ...]] = {}
for _a, _c in MODEL_ALIASES.items():
    _ALIASES_BY_MODEL[_c] = (*_ALIASES_BY_MODEL.get(_c, ()), _a)

_WF_TEAM = [w.team for w in WORKFLOWS]
_WF_TASK = [w.task_type for w in WORKFLOWS]
_TASKS = ("summarize", "classify", "extract", "chat", "code", "rag")
_TIDX = {t: i for i, t in enumerate(_TASKS)}
_W_TASK = np.array([_TIDX[w.task_type] for w in WORKFLOWS])
_T_IN_MED = np.log([TASK_TOKENS[t][0] for t in _TASKS])
_T_IN_SIG = np.array([TASK_TOKENS[t][1] for t in _TASKS])
_T_OUT_MED = np.log([TASK_TOKENS[t][2] for t in _TASKS])
_T_OUT_SIG = np.array([TASK_TOKENS[t][3] for t in _TASKS])
_W_CACHE = np.array([w.cache_rate for w in WORKFLOWS])
_W_CACHE1H = np.array([w.cache_1h_share for w in WORKFLOWS])
_W_LONGCTX_TASK = np.array([w.task_type in LONG_CONTEXT_TASKS for w in WORKFLOWS])
_SPIKE_WIDX = [w.name for w in WORKFLOWS].index(SPIKE_WORKFLOW)
_COST_WIDX = [w.name for w in WORKFLOWS].index(REPORTED_COST_WORKFLOW)
_USER_WEIGHTS = {  # a few power users per team
    t: (lambda n: (w := 1.0 / np.arange(1, n + 1) ** 0.7) / w.sum())(len(us))
    for t, us in ORG.items()
}

_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8
)
_ID_PREFIX = ("chatcmpl-", "msg_01", "gen-")
_ID_LEN = (29, 22, 24)

# status codes: 0 success, 1 error 500, 2 error 503, 3 error 400, 4 timeout 504,
# 5 timeout (client side, no http status), 6 rate limited 429
_STATUS_CHUNK = (
    '"status":"success","error_type":null,"http_status":200',
    '"status":"error","error_type":"server_error","http_status":500',
    '"status":"error","error_type":"server_error","http_status":503',
    '"status":"error","error_type":"invalid_request","http_status":400',
    '"status":"timeout","error_type":"timeout","http_status":504',
    '"status":"timeout","error_type":"timeout","http_status":null',
    '"status":"rate_limited","error_type":"rate_limit_exceeded","http_status":429',
)
_TIERS = ("standard", "batch", "flex")
_SDK_META = (
    '{"sdk":"openai-python/1.54.3","region":"us-east-1"}',
    '{"sdk":"anthropic-python/0.40.0","region":"us-east-1"}',
    '{"sdk":"google-genai/1.2.0","region":"europe-west4"}',
)

_LINE = (
    '{"schema_version":1,"request_id":"%s","occurred_at":"%sZ",%s,'
    '"input_tokens":%d,"cache_read_tokens":%d,"cache_write_tokens":%d,'
    '"cache_write_1h_tokens":%d,"output_tokens":%d,"reasoning_tokens":%d,'
    '"service_tier":"%s","latency_ms":%d,"ttft_ms":%s,%s,%s,"reported_cost_usd":%s,'
    '"metadata":%s}'
)


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


def event_file_path(landing_dir: Path, day: date) -> Path:
    return Path(landing_dir) / "events" / f"dt={day.isoformat()}" / EVENTS_FILE_NAME


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
) -> GenerateSummary:
    """Write ``days`` daily JSONL files of synthetic usage events under ``landing_dir``.

    ``events_per_day`` is the mean number of (distinct, well-formed) events per day over
    the range, before the spike days' extra traffic. Weekdays get ~2.5-3x the volume of
    weekend days. Deterministic for a given ``(seed, days, events_per_day, end_date)``;
    files are written atomically and re-running rewrites identical files.
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
    spike_share = _event_shares()[_SPIKE_WIDX]

    carry: dict[int, list[str]] = {}
    malformed_by_kind = dict.fromkeys(MALFORMED_KINDS, 0)
    malformed_counter = 0
    events_written = dup_lines = late = malformed = lines_written = bytes_written = 0
    events_by_day: dict[date, int] = {}
    files: list[Path] = []

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
            lines, ms = _day_lines(rng, day, n + m, extra)
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
            events_written += good_n
            events_by_day[day] = good_n

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
            extras = carry.pop(d, []) + same_day_extra
            if extras:
                pos = rng.integers(0, len(keep) + 1, size=len(extras))
                keys = np.concatenate([np.arange(len(keep)) * 2 + 1, pos * 2])
                merged = keep + extras
                keep = [merged[i] for i in np.argsort(keys, kind="stable").tolist()]
            data = ("\n".join(keep) + "\n").encode() if keep else b""
            path = event_file_path(landing_dir, day)
            _atomic_write(path, data)
            files.append(path)
            lines_written += len(keep)
            bytes_written += len(data)
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
    )


# --------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _event_shares() -> np.ndarray:
    v = np.array([w.volume_share for w in WORKFLOWS], dtype=float)
    return v / v.sum()


def _daily_counts(seed: int, day_list: list[date], events_per_day: int) -> np.ndarray:
    """Split days * events_per_day over the days by weekday factor and a little noise."""
    total = len(day_list) * events_per_day
    if total == 0:
        return np.zeros(len(day_list), dtype=np.int64)
    rng = np.random.default_rng([seed, 7, len(day_list), day_list[-1].toordinal()])
    w = np.array([_WEEKDAY_FACTOR[d.weekday()] for d in day_list])
    w = w * rng.lognormal(0.0, 0.06, size=len(day_list))
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    rest = int(total - base.sum())
    if rest:
        base[np.argsort(-(exact - base), kind="stable")[:rest]] += 1
    return base


def _rand_strings(rng: np.random.Generator, n: int, length: int) -> list[str]:
    if n == 0:
        return []
    idx = rng.integers(0, len(_ALPHABET), size=(n, length), dtype=np.uint8)
    raw = np.ascontiguousarray(_ALPHABET[idx]).view(f"S{length}").ravel()
    return raw.astype(f"U{length}").tolist()


def _choice_by_group(rng, groups: np.ndarray, n_groups: int, options, probs) -> np.ndarray:
    """For each element pick an option index from the per-group distribution."""
    out = np.zeros(len(groups), dtype=np.int64)
    for g in range(n_groups):
        sel = np.flatnonzero(groups == g)
        if sel.size:
            out[sel] = rng.choice(np.asarray(options[g]), size=sel.size, p=probs[g])
    return out


def _sample_sessions(rng: np.random.Generator, n_events: int):
    """Sessions (kind, length) whose lengths sum to exactly n_events.

    kind k < W is an interactive session of workflow k, k >= W a batch job of k - W.
    """
    nw = len(WORKFLOWS)
    share = _event_shares()
    bshare = np.array([w.batch_share for w in WORKFLOWS])
    ev_w = np.concatenate([share * (1 - bshare), share * bshare])
    mlen = np.concatenate(
        [[TASK_SESSIONS[t][0] for t in _WF_TASK], np.full(nw, BATCH_SESSION_MEAN_LEN)]
    )
    sess_w = ev_w / mlen
    sess_w = sess_w / sess_w.sum()
    mean_len = float((sess_w * mlen).sum())
    kinds: list[np.ndarray] = []
    lens: list[np.ndarray] = []
    have = 0
    while have < n_events:
        k = int((n_events - have) / mean_len * 1.15) + 8
        kk = rng.choice(2 * nw, size=k, p=sess_w)
        ll = rng.geometric(1.0 / mlen[kk])
        kinds.append(kk)
        lens.append(ll)
        have += int(ll.sum())
    if not kinds:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    kk = np.concatenate(kinds)
    ll = np.concatenate(lens).astype(np.int64)
    cs = np.cumsum(ll)
    last = int(np.searchsorted(cs, n_events))  # session holding the n-th event
    kk = kk[: last + 1]
    ll = ll[: last + 1].copy()
    ll[-1] -= int(cs[last] - n_events)
    return kk, ll


def _day_lines(rng: np.random.Generator, day: date, n_regular: int, n_spike: int):
    """Format the events that occurred on ``day``: returns (lines, ms-of-day)."""
    nw = len(WORKFLOWS)
    kinds, lens = _sample_sessions(rng, n_regular)
    s_wf = kinds % nw
    s_batch = kinds >= nw
    s_spike = np.zeros(len(kinds), dtype=bool)

    # sessions: model, user, client, prompt version
    wf_models = [[_MIDX[resolve_model(m, day)] for m, _ in w.models] for w in WORKFLOWS]
    wf_mp = [np.array([p for _, p in w.models]) / sum(p for _, p in w.models) for w in WORKFLOWS]
    s_model = _choice_by_group(rng, s_wf, nw, wf_models, wf_mp)

    # spike sessions: a runaway loop of one user on the expensive model
    if n_spike > 0:
        k = int(min(6, max(1, n_spike // 150 + 2), n_spike))
        base = n_spike // k
        sl = np.full(k, base, dtype=np.int64)
        sl[: n_spike - base * k] += 1
        s_wf = np.concatenate([s_wf, np.full(k, _SPIKE_WIDX)])
        s_batch = np.concatenate([s_batch, np.zeros(k, dtype=bool)])
        s_spike = np.concatenate([s_spike, np.ones(k, dtype=bool)])
        s_model = np.concatenate([s_model, np.full(k, _MIDX[resolve_model(SPIKE_MODEL, day)])])
        lens = np.concatenate([lens, sl])
    ns = len(s_wf)

    s_preview = (~s_batch) & (~s_spike) & (rng.random(ns) < UNPRICED_MODEL_SESSION_SHARE)
    s_model = np.where(s_preview, _MIDX["gemini-3-pro-preview"], s_model)

    team_users = [ORG[w.team] for w in WORKFLOWS]
    s_user_local = _choice_by_group(
        rng,
        s_wf,
        nw,
        [np.arange(len(u)) for u in team_users],
        [_USER_WEIGHTS[w.team] for w in WORKFLOWS],
    )
    s_user_local = np.where(s_spike, 0, s_user_local)
    s_client = _choice_by_group(
        rng,
        s_wf,
        nw,
        [np.arange(len(CLIENTS))] * nw,
        [np.array(w.client_weights) / sum(w.client_weights) for w in WORKFLOWS],
    )
    s_client = np.where(s_spike, CLIENTS.index("internal"), s_client)
    s_pv = _choice_by_group(
        rng,
        s_wf,
        nw,
        [np.arange(len(w.prompt_versions)) for w in WORKFLOWS],
        [np.array(w.prompt_weights) / sum(w.prompt_weights) for w in WORKFLOWS],
    )
    s_env_staging = (~s_batch) & (~s_spike) & (rng.random(ns) < STAGING_SHARE)
    s_provider = _M_PROVIDER[s_model]
    flex_share = np.array([w.flex_share for w in WORKFLOWS])[s_wf]
    s_tier = np.where(s_batch, 1, 0)
    s_flex = (
        (~s_batch)
        & (~s_spike)
        & (s_provider == 0)
        & (_M_REASON[s_model] > 0)
        & (rng.random(ns) < flex_share)
    )
    s_tier = np.where(s_flex, 2, s_tier)
    s_alias_u = rng.random(ns)
    s_alias_pick = rng.integers(0, 1 << 30, size=ns)
    s_meta_u = rng.random(ns)
    s_ids = _rand_strings(rng, ns, 20)

    # session start time and request spacing
    hours = rng.choice(24, size=ns, p=_HOUR_P)
    bhours = rng.choice(_BATCH_HOURS, size=ns, p=_BATCH_HOUR_P)
    s_start = np.where(s_batch, bhours, hours) * 3_600_000 + rng.integers(0, 3_600_000, ns)
    gap = np.array([TASK_SESSIONS[t][1] * 1000.0 for t in _WF_TASK])[s_wf]
    gap = np.where(s_batch, BATCH_GAP_MS, gap)
    if n_spike > 0:
        # the loop starts mid-morning and runs for 3-8 hours
        loop_start = int(rng.integers(8, 13)) * 3_600_000 + int(rng.integers(0, 3_600_000))
        loop_len = float(rng.uniform(3, 8)) * 3_600_000
        s_start = np.where(s_spike, loop_start + rng.integers(0, 600_000, ns), s_start)
        gap = np.where(s_spike, loop_len / np.maximum(lens, 1), gap)

    # session-level JSON chunks
    chunks = []
    tier_s = []
    meta_s = []
    for i in range(ns):
        w = WORKFLOWS[int(s_wf[i])]
        mid = int(s_model[i])
        canon = _MODEL_IDS[mid]
        aliases = _ALIASES_BY_MODEL.get(canon, ())
        reported = canon
        if aliases and s_alias_u[i] < ALIAS_SESSION_SHARE:
            reported = aliases[int(s_alias_pick[i]) % len(aliases)]
        users = team_users[int(s_wf[i])]
        batch = bool(s_batch[i])
        sid = ("batch_" if batch else "sess_") + s_ids[i]
        chunks.append(
            f'"provider":"{_PROVIDERS[int(s_provider[i])]}","model":"{reported}",'
            f'"client":"{CLIENTS[int(s_client[i])]}","team":"{w.team}",'
            f'"user_id":"{users[int(s_user_local[i])]}","workflow":"{w.name}",'
            f'"feature":"{w.feature}","task_type":"{w.task_type}","session_id":"{sid}",'
            f'"prompt_version":"{w.prompt_versions[int(s_pv[i])]}",'
            f'"environment":"{"staging" if s_env_staging[i] else "production"}"'
        )
        tier_s.append(_TIERS[int(s_tier[i])])
        if batch:
            meta_s.append('{"batch_id":"batch_%s"}' % s_ids[i][:12])
        elif s_meta_u[i] < 0.45:
            meta_s.append(_SDK_META[int(s_provider[i])])
        else:
            meta_s.append("null")

    # ---- events
    n = int(lens.sum())
    if n == 0:
        return [], np.zeros(0, dtype=np.int64)
    sess = np.repeat(np.arange(ns), lens)
    first = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    pos = np.arange(n) - first[sess]
    wf = s_wf[sess]
    model = s_model[sess]
    prov = s_provider[sess]
    batch = s_batch[sess]
    spike = s_spike[sess]
    task = _W_TASK[wf]

    # timestamps: consecutive requests of a session, kept inside the day
    g = rng.exponential(1.0, n) * gap[sess]
    g[first] = 0.0
    cs = np.cumsum(g)
    offs = cs - cs[first][sess]
    dur = offs[np.minimum(first + lens - 1, n - 1)] if n else np.zeros(0)
    scale = np.where(dur > DAY_MS - 1, (DAY_MS - 1) / np.maximum(dur, 1.0), 1.0)
    start = np.clip(s_start, 0, np.maximum(0, DAY_MS - 1 - dur * scale))
    ms = (start[sess] + offs * scale[sess]).astype(np.int64)
    ms = np.clip(ms, 0, DAY_MS - 1)

    # tokens
    inp = rng.lognormal(_T_IN_MED[task], _T_IN_SIG[task])
    chat = task == _TIDX["chat"]
    inp = np.where(chat, inp * (1.0 + 0.3 * pos), inp)  # conversations grow
    inp = np.where(spike, inp * (1.0 + 0.02 * np.minimum(pos, 200)), inp)  # loop context
    inp = np.clip(inp, 1, 150_000).astype(np.int64)
    longctx = _M_LONGCTX[model] & _W_LONGCTX_TASK[wf] & (rng.random(n) < LONG_CONTEXT_SHARE)
    inp = np.where(longctx, rng.integers(LONG_CONTEXT_THRESHOLD_TOKENS + 1, 480_000, n), inp)
    vis = np.clip(rng.lognormal(_T_OUT_MED[task], _T_OUT_SIG[task]), 1, 16_000)
    rratio = _M_REASON[model]
    reas = np.where(rratio > 0, vis * rratio * rng.lognormal(0.0, 0.5, n), 0.0)
    reas = np.minimum(reas, 60_000).astype(np.int64)
    vis = vis.astype(np.int64)
    out = vis + reas

    # status
    u = rng.random(n)
    rl_share = np.where(spike, SPIKE_RATE_LIMITED_SHARE, RATE_LIMITED_SHARE)
    to_share = np.where(rratio > 0, 2 * TIMEOUT_SHARE, TIMEOUT_SHARE)
    status = np.zeros(n, dtype=np.int64)
    rl = u < rl_share
    er = (~rl) & (u < rl_share + ERROR_SHARE)
    to = (~rl) & (~er) & (u < rl_share + ERROR_SHARE + to_share)
    v = rng.random(n)
    status[er] = np.where(v[er] < 0.6, 1, np.where(v[er] < 0.75, 2, 3))
    status[to] = np.where(v[to] < 0.6, 4, 5)
    status[rl] = 6
    ok = status == 0

    # prompt caching
    frac = rng.uniform(0.3, 0.9, n)
    cache_on = (rng.random(n) < _W_CACHE[wf]) & ok & (inp >= _M_MIN_CACHE[model])
    hit_u = rng.random(n)
    cr = np.zeros(n, dtype=np.int64)
    cw = np.zeros(n, dtype=np.int64)
    cw1 = np.zeros(n, dtype=np.int64)
    # OpenAI: automatic caching in 128-token blocks, reads only
    oa = cache_on & (prov == 0) & ((pos > 0) | (hit_u < 0.3))
    cr = np.where(oa, (np.floor(inp * frac / 128) * 128).astype(np.int64), cr)
    # Google: implicit caching (2.5 family), reads only
    go = cache_on & (prov == 2) & _M_GOOGLE_CACHE[model] & ((pos > 0) | (hit_u < 0.3))
    cr = np.where(go, np.floor(inp * frac).astype(np.int64), cr)
    # Anthropic: first request of a session writes, later ones read (and sometimes write more)
    an = cache_on & (prov == 1)
    an_read = an & (pos > 0) & (hit_u < 0.85)
    an_write = an & ~an_read
    cr = np.where(an_read, np.floor(inp * frac).astype(np.int64), cr)
    extra_w = an_read & (rng.random(n) < 0.3)
    wfrac = rng.uniform(0.1, 0.5, n)
    cw = np.where(an_write, np.floor(inp * frac).astype(np.int64), cw)
    cw = np.where(extra_w, np.floor((inp - cr) * wfrac).astype(np.int64), cw)
    ttl1h = (cw > 0) & (rng.random(n) < _W_CACHE1H[wf])
    part = rng.random(n) < 0.3
    cw1 = np.where(ttl1h, np.where(part, np.floor(cw * wfrac * 1.8).astype(np.int64), cw), 0)
    cw1 = np.minimum(cw1, cw)

    # failures: nothing generated; rate-limited requests never reached the model
    inp = np.where(status == 6, 0, inp)
    out = np.where(ok, out, 0)
    reas = np.where(ok, reas, 0)

    # latency / ttft
    jit = rng.lognormal(0.0, 0.3, n)
    ttft = (_M_TTFT[model] + _M_PREFILL[model] * inp / 1000.0) * jit + reas * _M_MSTOK[model]
    lat = ttft + (out - reas) * _M_MSTOK[model] * rng.lognormal(0.0, 0.2, n)
    batch_lat = np.minimum(rng.lognormal(np.log(1_200_000), 0.8, n), 86_000_000)
    lat = np.where(batch, batch_lat, lat)
    fail_lat = np.select(
        [status == 6, (status >= 1) & (status <= 3), status >= 4],
        [
            rng.lognormal(np.log(120), 0.5, n),
            rng.lognormal(np.log(700), 0.6, n),
            np.array([30_000.0, 60_000.0, 120_000.0, 600_000.0])[rng.integers(0, 4, n)]
            + rng.integers(0, 250, n),
        ],
        default=lat,
    )
    lat = np.where(ok, lat, fail_lat)
    lat = np.maximum(lat, 1).astype(np.int64)
    ttft = np.minimum(ttft.astype(np.int64), lat)
    has_ttft = ok & ~batch

    # quality
    qmean = np.zeros(n)
    for wi, w in enumerate(WORKFLOWS):
        table = QUALITY_GROUND_TRUTH[w.name]
        best = max(table.values())
        arr = np.array([table.get(m, best + _PREVIEW_QUALITY_BONUS) for m in _MODEL_IDS])
        sel = wf == wi
        qmean[sel] = arr[model[sel]]
    scored = ok & (rng.random(n) < QUALITY_SCORED_SHARE)
    q = np.round(np.clip(rng.normal(qmean, QUALITY_SD), 0.0, 1.0), 3)

    # ids
    bodies = _rand_strings(rng, n, 29)

    # ---- format
    pl = prov.tolist()
    rid = [_ID_PREFIX[p] + b[: _ID_LEN[p]] for p, b in zip(pl, bodies, strict=True)]
    day64 = np.datetime64(day.isoformat(), "ms")
    ts = np.datetime_as_string(day64 + ms.astype("timedelta64[ms]"), unit="ms").tolist()
    chunk_arr = np.array(chunks, dtype=object)
    tier_arr = np.array(tier_s, dtype=object)
    meta_arr = np.array(meta_s, dtype=object)

    ttft_s = np.full(n, "null", dtype=object)
    idx = np.flatnonzero(has_ttft)
    ttft_s[idx] = [str(x) for x in ttft[idx].tolist()]
    q_s = np.full(n, '"quality_score":null,"passed_quality":null', dtype=object)
    idx = np.flatnonzero(scored)
    q_s[idx] = [
        '"quality_score":%.3f,"passed_quality":%s'
        % (x, "true" if x >= QUALITY_PASS_THRESHOLD else "false")
        for x in q[idx].tolist()
    ]
    cost_s = np.full(n, "null", dtype=object)
    idx = np.flatnonzero((wf == _COST_WIDX) & ok)
    cost = (inp[idx] * _M_PIN[model[idx]] + out[idx] * _M_POUT[model[idx]]) / 1e6
    cost_s[idx] = ["%.6f" % c for c in cost.tolist()]
    status_arr = np.array(_STATUS_CHUNK, dtype=object)[status]

    lines = [
        _LINE % row
        for row in zip(
            rid,
            ts,
            chunk_arr[sess].tolist(),
            inp.tolist(),
            cr.tolist(),
            cw.tolist(),
            cw1.tolist(),
            out.tolist(),
            reas.tolist(),
            tier_arr[sess].tolist(),
            lat.tolist(),
            ttft_s.tolist(),
            status_arr.tolist(),
            q_s.tolist(),
            cost_s.tolist(),
            meta_arr[sess].tolist(),
            strict=True,
        )
    ]
    return lines, ms


def _field_value(line: str, key: str) -> str:
    start = line.index(f'"{key}":') + len(key) + 3
    end = line.index(",", start)
    return line[start:end]


def _corrupt(line: str, kind: str, rng: np.random.Generator) -> str:
    if kind == "truncated_json":
        return line[: int(rng.integers(10, len(line) - 1))]
    if kind == "not_json":
        return _NOT_JSON_LINES[int(rng.integers(0, len(_NOT_JSON_LINES)))]
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
    """All event files under ``landing_dir`` in date order (helper for tests / tools)."""
    return sorted((Path(landing_dir) / "events").glob("dt=*/*.jsonl"))
