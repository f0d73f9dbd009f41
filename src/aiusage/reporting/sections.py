"""The report's sections: a query and the columns it shows. The renderers (text, markdown,
JSON, CSV, Slack) are generic over sections, so a mart becomes a report section in a few
lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiusage.reporting.efficiency import (
    cost_per_active_user,
    cost_per_outcome,
    model_efficiency,
)
from aiusage.reporting.insights import cost_drivers, runaway_sessions, savings
from aiusage.reporting.performance import latency_percentiles
from aiusage.reporting.queries import (
    ANOMALY_LOOKBACK_DAYS,
    alerts,
    anomalies,
    budgets,
    by_prompt_version,
    substitution,
)
from aiusage.reporting.reconciliation import (
    cost_reconciliation,
    error_types,
    landed_files,
    provider_reconciliation,
)
from aiusage.reporting.usage import (
    by_client,
    by_day,
    by_feature,
    by_model,
    by_team,
    by_user,
    by_workflow,
    errors,
    latency_by_tier,
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, money, money6, pct, float, ms, date


def columns(*specs: str) -> list[Column]:
    """Columns from `key:Label[:kind]` specs (kind: text unless given)."""
    out = []
    for spec in specs:
        key, label, *kind = spec.split(":")
        out.append(Column(key, label, *kind))
    return out


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: list[Column]
    query: Callable
    limit: int | None = None  # rows shown in text/markdown/Slack (JSON and CSV keep all)
    # what text and markdown say when the section has no row
    empty: str = "no usage"


COST = (
    "total_cost_usd:Cost:money",
    "requests:Requests:int",
    "total_tokens:Tokens:int",
    "cost_per_request_usd:Cost/request:money6",
    "success_rate:Success:pct",
    "avg_quality_score:Quality:float",
)

SECTIONS: list[Section] = [
    Section(
        "cost_drivers",
        "Why cost moved (workflows, or the team; vs the previous period)",
        columns(
            "scope_id:Workflow or team",
            "top_driver:Driver",
            "previous_cost_usd:Before:money",
            "cost_usd:Now:money",
            "delta_usd:Change:money",
            "volume_effect_usd:Volume:money",
            "mix_effect_usd:Mix:money",
            "price_effect_usd:Price:money",
            "efficiency_effect_usd:Efficiency:money",
            "reliability_effect_usd:Reliability:money",
        ),
        cost_drivers,
        limit=5,
        empty=(
            "none for this period: drivers are computed for the 7 and 28 days to the last "
            "usage day and for the last full week (Monday to Sunday), for the company or a "
            "--team, not a --client or --user"
        ),
    ),
    Section(
        "by_client",
        "By client",
        columns(
            "client:Client",
            *COST,
            "active_users:Users:int",
        ),
        by_client,
    ),
    Section("by_team", "By team", columns("team:Team", *COST, "active_users:Users:int"), by_team),
    Section("by_user", "By user", columns("user_id:User", "team:Team", *COST), by_user, limit=15),
    Section(
        "cost_per_active_user",
        "Cost per active user (the period, then trailing windows to its end)",
        columns(
            "team:Team",
            "window_days:Days:int",
            "active_users:Users:int",
            "total_cost_usd:Cost:money",
            "cost_per_active_user_usd:Cost/user:money",
        ),
        cost_per_active_user,
        limit=12,
    ),
    Section(
        "by_workflow",
        "By workflow",
        columns(
            "workflow:Workflow",
            "task_type:Task",
            *COST,
            "pass_rate:Pass rate:pct",
            "latency_p50_ms:p50 interactive:ms",
            "latency_p95_ms:p95 interactive:ms",
        ),
        by_workflow,
        limit=15,
    ),
    Section(
        "by_feature",
        "By feature",
        columns(
            "feature:Feature",
            *COST,
            "failed_requests:Failed:int",
            "error_rate:Error rate:pct",
        ),
        by_feature,
        limit=15,
    ),
    Section(
        "by_model",
        "By model",
        columns(
            "provider:Provider",
            "model:Model",
            *COST,
            "latency_p50_ms:p50 interactive:ms",
            "latency_p95_ms:p95 interactive:ms",
            "ttft_p50_ms:p50 TTFT:ms",
        ),
        by_model,
    ),
    Section(
        "model_efficiency",
        "Model efficiency (trailing window)",
        columns(
            "task_type:Task",
            "model:Model",
            "total_cost_usd:Cost:money",
            "cost_per_successful_request_usd:Cost/success:money6",
            "avg_quality_score:Quality:float",
            "quality_per_dollar:Quality/$:float",
            "cache_hit_rate:Cache hits:pct",
        ),
        model_efficiency,
        limit=10,
    ),
    Section(
        "cost_per_outcome",
        "Cost per outcome (tasks first attempted in the period, every attempt counted)",
        columns(
            "workflow:Workflow",
            "tasks:Tasks:int",
            "completed_tasks:Completed:int",
            "attempts_per_completed_task:Attempts/completed:float",
            "cost_usd:Cost:money",
            "cost_per_completed_task_usd:Cost/completed:money6",
            "completed_value_usd:Value:money",
            "roi:ROI:float",
        ),
        cost_per_outcome,
        limit=10,
    ),
    Section(
        "by_day",
        "By day",
        columns(
            "usage_date:Day:date",
            "total_cost_usd:Cost:money",
            "requests:Requests:int",
            "total_tokens:Tokens:int",
            "success_rate:Success:pct",
            "active_teams:Teams:int",
        ),
        by_day,
    ),
    Section(
        "errors",
        "Errors",
        columns(
            "status:Outcome",
            "provider:Provider",
            "model:Model",
            "failed_requests:Requests:int",
            "failure_rate:Rate:pct",
        ),
        errors,
        limit=10,
    ),
    Section(
        "error_types",
        "Errors by type",
        columns(
            "status:Outcome",
            "error_type:Type",
            "model:Model",
            "failed_requests:Requests:int",
        ),
        error_types,
        limit=10,
    ),
    Section(
        "by_prompt_version",
        "By prompt version",
        columns(
            "workflow:Workflow",
            "prompt_version:Prompt",
            *COST,
            "pass_rate:Pass rate:pct",
        ),
        by_prompt_version,
        limit=15,
    ),
    Section(
        "substitution",
        "Cost-reduction opportunities (model substitution)",
        columns(
            "workflow:Workflow",
            "task_type:Task",
            "current_model:Current",
            "candidate_model:Candidate",
            "current_avg_quality_score:Quality now:float",
            "candidate_avg_quality_score:Quality cand.:float",
            "current_cost_per_successful_request_usd:Cost/success now:money6",
            "candidate_cost_per_successful_request_usd:Cost/success cand.:money6",
            "estimated_monthly_savings_usd:Savings/month:money",
        ),
        substitution,
        limit=5,
    ),
    Section(
        "savings",
        "What to change (savings per month, ranked)",
        columns(
            "savings_rank:#:int",
            "opportunity_type:Type",
            "workflow:Workflow",
            "model:Model",
            "candidate:Change to",
            "monthly_savings_usd:Saving/month:money",
            "confidence:Confidence",
        ),
        savings,
        limit=5,
    ),
    Section(
        "runaway_sessions",
        "Runaway sessions",
        columns(
            "session_id:Session",
            "workflow:Workflow",
            "user_id:User",
            "requests:Calls:int",
            "cost_usd:Cost:money",
            "duration_minutes:Minutes:float",
            "runaway_ratio:x p95:float",
        ),
        runaway_sessions,
        limit=5,
    ),
    Section(
        "budgets",
        "Budgets and month-end forecast",
        columns(
            "scope:Scope",
            "scope_id:Id",
            "spent_mtd_usd:Spent MTD:money",
            "monthly_limit_usd:Limit:money",
            "utilization:Used:pct",
            "status:Status",
            "forecast_month_end_usd:Forecast:money",
            "forecast_month_end_p10_usd:P10:money",
            "forecast_month_end_p90_usd:P90:money",
            "forecast_utilization:Forecast used:pct",
            "forecast_status:Forecast status",
            "budget_run_out_date:Runs out:date",
            "daily_limit_usd:Daily limit:money",
            "spent_day_usd:Spent last day:money",
            "daily_status:Day status",
        ),
        budgets,
    ),
    Section(
        "anomalies",
        f"Anomalies (last {ANOMALY_LOOKBACK_DAYS} days)",
        columns(
            "usage_date:Day:date",
            "scope_type:Scope",
            "scope_id:Id",
            "metric:Metric",
            "metric_value:Value:float",
            "ratio_to_mean:x trailing mean:float",
            "z_score:z:float",
        ),
        anomalies,
        limit=10,
    ),
    Section(
        "alerts",
        "Alerts",
        columns(
            "severity:Severity",
            "alert_type:Type",
            "scope_type:Scope",
            "scope_id:Id",
            "measured_value:Measured:float",
            "threshold_value:Threshold:float",
            "unit:Unit",
        ),
        alerts,
        limit=15,
    ),
    Section(
        "latency_percentiles",
        "Latency percentiles (last day of the period)",
        columns(
            "provider:Provider",
            "model:Model",
            "requests:Requests:int",
            "latency_p50_ms:p50:ms",
            "latency_p95_ms:p95:ms",
            "latency_p99_ms:p99:ms",
            "ttft_p95_ms:TTFT p95:ms",
        ),
        latency_percentiles,
    ),
    Section(
        "latency_by_tier",
        "Latency by service tier (successful requests; batch and flex apart)",
        columns(
            "service_tier:Tier",
            "latency_p50_ms:p50:ms",
            "latency_p95_ms:p95:ms",
        ),
        latency_by_tier,
    ),
    Section(
        "cost_reconciliation",
        "Reported cost vs computed cost (drift over the threshold)",
        columns(
            "usage_date:Day:date",
            "model:Model",
            "reported_cost_usd:Reported:money6",
            "computed_cost_usd:Computed:money6",
            "drift_pct:Drift %:float",
        ),
        cost_reconciliation,
        limit=10,
    ),
    Section(
        "provider_reconciliation",
        "Provider usage reports vs per-request data",
        columns(
            "provider:Provider",
            "model:Model",
            "provider_requests:Provider requests:int",
            "request_requests:Our requests:int",
            "provider_cost_usd:Provider cost:money",
            "request_cost_usd:Our cost:money",
            "cost_gap_usd:Gap:money",
        ),
        provider_reconciliation,
        limit=10,
    ),
    Section(
        "landed_files",
        "Landed files with rejected or conflicting rows",
        columns(
            "landing_date:Landed:date",
            "source_system:Source",
            "source_file:File",
            "landed_rows:Rows:int",
            "rejected_rows:Rejected:int",
            "reject_rate:Rate:pct",
        ),
        landed_files,
        limit=10,
    ),
]
