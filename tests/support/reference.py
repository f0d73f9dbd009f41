"""An independent re-implementation of the warehouse's accounting, in plain Python.

Tests compare the dbt marts with what this module computes from the same landing files
and price seeds. It shares no code with the warehouse: only the documented rules
(DESIGN.md, the seeds' descriptions).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

TOKEN_FIELDS = [
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
]
STATUSES = {"success", "error", "timeout", "rate_limited", "cancelled"}
TIERS = {"standard", "batch", "flex", "priority"}
MTOK = Decimal(1_000_000)
Q12 = Decimal("0.000000000001")


def _dec(value: str) -> Decimal | None:
    return Decimal(value) if value not in ("", None) else None


def _ts(value: str) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=UTC)


@dataclass
class PriceBook:
    prices: list[dict]
    aliases: dict[tuple[str, str], str]
    multipliers: dict[tuple[str, str, str], Decimal]

    @classmethod
    def load(cls, seeds: Path) -> PriceBook:
        with open(seeds / "model_prices.csv", newline="") as handle:
            prices = list(csv.DictReader(handle))
        for row in prices:
            row["valid_from"] = _ts(row["valid_from"])
            row["valid_to"] = _ts(row["valid_to"])
        with open(seeds / "model_aliases.csv", newline="") as handle:
            aliases = {
                (r["provider"].lower(), r["model_alias"].lower()): r["model"]
                for r in csv.DictReader(handle)
            }
        with open(seeds / "service_tier_multipliers.csv", newline="") as handle:
            multipliers = {
                (
                    r["provider"].lower(),
                    (r.get("model") or "*").lower(),
                    r["service_tier"].lower(),
                ): Decimal(r["multiplier"])
                for r in csv.DictReader(handle)
            }
        return cls(prices, aliases, multipliers)

    def canonical(self, provider: str, model: str) -> str:
        return self.aliases.get((provider, model.lower()), model.lower())

    def price_at(self, provider: str, model: str, at: datetime) -> dict | None:
        for row in self.prices:
            if row["provider"] != provider or row["model"] != model:
                continue
            if row["valid_from"] <= at and (row["valid_to"] is None or at < row["valid_to"]):
                return row
        return None

    def cost(self, event: dict) -> Decimal | None:
        """Total cost of one accepted event, or None when it cannot be priced."""
        provider, at = event["provider"], event["occurred_at"]
        model = self.canonical(provider, event["model"])
        price = self.price_at(provider, model, at)
        # the model's own tier multiplier, else the provider's (model *)
        multiplier = self.multipliers.get(
            (provider, model, event["service_tier"]),
            self.multipliers.get((provider, "*", event["service_tier"])),
        )
        if price is None or multiplier is None:
            return None
        p = {k: _dec(v) for k, v in price.items() if k.endswith("_mtok") or k.endswith("_tokens")}
        tokens = event
        threshold = p["tier_threshold_tokens"]
        tier = threshold is not None and tokens["input_tokens"] > threshold
        if tier:
            inp, out = p["tier_input_usd_per_mtok"], p["tier_output_usd_per_mtok"]
            read = p["tier_cache_read_usd_per_mtok"] or inp
            w5 = p["tier_cache_write_5m_usd_per_mtok"] or inp
            w1 = p["tier_cache_write_1h_usd_per_mtok"] or w5
        else:
            inp, out = p["input_usd_per_mtok"], p["output_usd_per_mtok"]
            read = p["cache_read_usd_per_mtok"] or inp
            w5 = p["cache_write_5m_usd_per_mtok"] or inp
            w1 = p["cache_write_1h_usd_per_mtok"] or w5
        uncached = (
            tokens["input_tokens"] - tokens["cache_read_tokens"] - tokens["cache_write_tokens"]
        )
        parts = [
            (uncached, inp),
            (tokens["cache_read_tokens"], read),
            (tokens["cache_write_tokens"] - tokens["cache_write_1h_tokens"], w5),
            (tokens["cache_write_1h_tokens"], w1),
            (tokens["output_tokens"], out),
        ]
        return sum(
            (
                (Decimal(n) * price / MTOK * multiplier).quantize(Q12, rounding=ROUND_HALF_UP)
                for n, price in parts
            ),
            Decimal(0),
        )


def judge(record) -> str | None:
    """Rejection reason of one parsed line, or None when the event is usable."""
    if not isinstance(record, dict):
        return "malformed_json"
    for key in ("request_id", "occurred_at", "provider", "model"):
        if not record.get(key):
            return f"missing_{key}"
    for key in TOKEN_FIELDS:
        value = record.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"invalid_{key}"
        if value is not None and value < 0:
            return f"negative_{key}"
    t = {k: record.get(k) or 0 for k in TOKEN_FIELDS}
    if t["cache_read_tokens"] + t["cache_write_tokens"] > t["input_tokens"]:
        return "cached_tokens_exceed_input"
    if t["cache_write_1h_tokens"] > t["cache_write_tokens"]:
        return "cache_write_1h_exceeds_cache_write"
    if t["reasoning_tokens"] > t["output_tokens"]:
        return "reasoning_tokens_exceed_output"
    if (record.get("status") or "success").lower() not in STATUSES:
        return "unknown_status"
    if (record.get("service_tier") or "standard").lower() not in TIERS:
        return "unknown_service_tier"
    served = record.get("service_tier_served")
    if served not in (None, "") and served.lower() not in TIERS:
        return "unknown_service_tier_served"
    for key in ("web_search_requests", "code_execution_containers"):
        value = record.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"invalid_{key}"
        if value is not None and value < 0:
            return f"negative_{key}"
    return None


@dataclass
class LandingTotals:
    landed_lines: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    duplicates: int = 0
    requests: dict = field(default_factory=dict)  # (provider, request_id) -> event


def read_landing(landing: Path) -> LandingTotals:
    """Parse every landed events file; keep the latest delivery of each request."""
    totals = LandingTotals()
    files = sorted(landing.glob("events/dt=*/*"))
    deliveries = []
    for path in files:
        landing_day = path.parent.name.removeprefix("dt=")
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle.read().split("\n"), start=1):
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                totals.landed_lines += 1
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                reason = judge(record)
                if reason:
                    totals.rejected[reason] += 1
                    continue
                deliveries.append(((landing_day, str(path), number), record))
    deliveries.sort(key=lambda item: item[0])
    for _, record in deliveries:  # later deliveries overwrite earlier ones
        key = (record["provider"].lower(), record["request_id"])
        if key in totals.requests:
            totals.duplicates += 1
        event = {k: record.get(k) or 0 for k in TOKEN_FIELDS}
        event.update(
            provider=record["provider"].lower(),
            model=record["model"],
            team=record.get("team") or "(unattributed)",
            client=record.get("client") or "(unattributed)",
            user_id=record.get("user_id") or "(unattributed)",
            workflow=record.get("workflow") or "(unattributed)",
            feature=record.get("feature") or "(unattributed)",
            task_type=record.get("task_type") or "(unattributed)",
            prompt_version=record.get("prompt_version") or "(unattributed)",
            status=(record.get("status") or "success").lower(),
            latency_ms=record.get("latency_ms"),
            quality_score=record.get("quality_score"),
            passed_quality=record.get("passed_quality"),
            error_type=record.get("error_type"),
            ttft_ms=record.get("ttft_ms"),
            session_id=record.get("session_id"),
            # the tier that served the request (fct_llm_requests.service_tier): the one the
            # response reported, else the one requested
            service_tier=(
                record.get("service_tier_served") or record.get("service_tier") or "standard"
            ).lower(),
            occurred_at=datetime.fromisoformat(record["occurred_at"]).astimezone(UTC),
        )
        totals.requests[key] = event
    return totals
