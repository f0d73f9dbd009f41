"""The sample company: models with their latency and list prices, the organisation
(teams, users, clients), its workflows and model aliases. Ground truth that tests check the
warehouse against lives here and in aiusage.sample.ground_truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

SCHEMA_VERSION = 1
EVENTS_FILE_NAME = "events-0001.jsonl"
OUTCOMES_FILE_NAME = "outcomes-0001.jsonl"
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
    "gemini-4-pro-preview": ModelSpec("google", 1800, 10, 22, 0.0, 2.00, 12.00),
}

#: Models that appear in the events but have no price in the project's seed (yet).
UNPRICED_MODELS: tuple[str, ...] = ("gemini-4-pro-preview",)
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
