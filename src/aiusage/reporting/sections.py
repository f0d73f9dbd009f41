"""The report's sections: a query and the columns it shows. The renderers (text, markdown,
JSON, CSV, Slack) are generic over sections, so a mart becomes a report section in a few
lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiusage.reporting.efficiency import cost_per_active_user, model_efficiency
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
    by_model,
    by_team,
    by_user,
    by_workflow,
    errors,
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, money, money6, pct, float, ms, date


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: list[Column]
    query: Callable
    limit: int | None = None  # rows shown in text/markdown/Slack (JSON and CSV keep all)


_COST = [
    Column("total_cost_usd", "Cost", "money"),
    Column("requests", "Requests", "int"),
    Column("total_tokens", "Tokens", "int"),
    Column("cost_per_request_usd", "Cost/request", "money6"),
    Column("success_rate", "Success", "pct"),
    Column("avg_quality_score", "Quality", "float"),
]


SECTIONS: list[Section] = [
    Section(
        "by_client",
        "By client",
        [Column("client", "Client"), *_COST, Column("active_users", "Users", "int")],
        by_client,
    ),
    Section(
        "by_team",
        "By team",
        [Column("team", "Team"), *_COST, Column("active_users", "Users", "int")],
        by_team,
    ),
    Section(
        "by_user",
        "By user",
        [Column("user_id", "User"), Column("team", "Team"), *_COST],
        by_user,
        limit=15,
    ),
    Section(
        "cost_per_active_user",
        "Cost per active user (trailing windows)",
        [
            Column("team", "Team"),
            Column("window_days", "Days", "int"),
            Column("active_users", "Users", "int"),
            Column("total_cost_usd", "Cost", "money"),
            Column("cost_per_active_user_usd", "Cost/user", "money"),
        ],
        cost_per_active_user,
        limit=12,
    ),
    Section(
        "by_workflow",
        "By workflow",
        [
            Column("workflow", "Workflow"),
            Column("task_type", "Task"),
            *_COST,
            Column("pass_rate", "Pass rate", "pct"),
            Column("avg_latency_ms", "Avg latency", "ms"),
        ],
        by_workflow,
        limit=15,
    ),
    Section(
        "by_model",
        "By model",
        [
            Column("provider", "Provider"),
            Column("model", "Model"),
            *_COST,
            Column("avg_latency_ms", "Avg latency", "ms"),
            Column("avg_ttft_ms", "Avg TTFT", "ms"),
        ],
        by_model,
    ),
    Section(
        "model_efficiency",
        "Model efficiency (trailing window)",
        [
            Column("task_type", "Task"),
            Column("model", "Model"),
            Column("total_cost_usd", "Cost", "money"),
            Column("cost_per_successful_request_usd", "Cost/success", "money6"),
            Column("avg_quality_score", "Quality", "float"),
            Column("quality_per_dollar", "Quality/$", "float"),
            Column("cache_hit_rate", "Cache hits", "pct"),
        ],
        model_efficiency,
        limit=10,
    ),
    Section(
        "by_day",
        "By day",
        [
            Column("usage_date", "Day", "date"),
            Column("total_cost_usd", "Cost", "money"),
            Column("requests", "Requests", "int"),
            Column("total_tokens", "Tokens", "int"),
            Column("success_rate", "Success", "pct"),
            Column("active_teams", "Teams", "int"),
        ],
        by_day,
    ),
    Section(
        "errors",
        "Errors",
        [
            Column("status", "Outcome"),
            Column("provider", "Provider"),
            Column("model", "Model"),
            Column("failed_requests", "Requests", "int"),
            Column("failure_rate", "Rate", "pct"),
        ],
        errors,
        limit=10,
    ),
    Section(
        "error_types",
        "Errors by type",
        [
            Column("status", "Outcome"),
            Column("error_type", "Type"),
            Column("model", "Model"),
            Column("failed_requests", "Requests", "int"),
        ],
        error_types,
        limit=10,
    ),
    Section(
        "by_prompt_version",
        "By prompt version",
        [
            Column("workflow", "Workflow"),
            Column("prompt_version", "Prompt"),
            *_COST,
            Column("pass_rate", "Pass rate", "pct"),
        ],
        by_prompt_version,
        limit=15,
    ),
    Section(
        "substitution",
        "Cost-reduction opportunities (model substitution)",
        [
            Column("workflow", "Workflow"),
            Column("task_type", "Task"),
            Column("current_model", "Current"),
            Column("candidate_model", "Candidate"),
            Column("current_avg_quality_score", "Quality now", "float"),
            Column("candidate_avg_quality_score", "Quality cand.", "float"),
            Column("current_cost_per_successful_request_usd", "Cost/success now", "money6"),
            Column("candidate_cost_per_successful_request_usd", "Cost/success cand.", "money6"),
            Column("estimated_monthly_savings_usd", "Savings/month", "money"),
        ],
        substitution,
        limit=5,
    ),
    Section(
        "budgets",
        "Budgets and month-end forecast",
        [
            Column("scope", "Scope"),
            Column("scope_id", "Id"),
            Column("spent_mtd_usd", "Spent MTD", "money"),
            Column("monthly_limit_usd", "Limit", "money"),
            Column("utilization", "Used", "pct"),
            Column("status", "Status"),
            Column("forecast_month_end_usd", "Forecast", "money"),
            Column("forecast_utilization", "Forecast used", "pct"),
            Column("forecast_status", "Forecast status"),
        ],
        budgets,
    ),
    Section(
        "anomalies",
        f"Anomalies (last {ANOMALY_LOOKBACK_DAYS} days)",
        [
            Column("usage_date", "Day", "date"),
            Column("scope_type", "Scope"),
            Column("scope_id", "Id"),
            Column("metric", "Metric"),
            Column("metric_value", "Value", "float"),
            Column("ratio_to_mean", "x trailing mean", "float"),
            Column("z_score", "z", "float"),
        ],
        anomalies,
        limit=10,
    ),
    Section(
        "alerts",
        "Alerts",
        [
            Column("severity", "Severity"),
            Column("alert_type", "Type"),
            Column("scope_type", "Scope"),
            Column("scope_id", "Id"),
            Column("measured_value", "Measured", "float"),
            Column("threshold_value", "Threshold", "float"),
            Column("unit", "Unit"),
        ],
        alerts,
        limit=15,
    ),
    Section(
        "latency_percentiles",
        "Latency percentiles (last day of the period)",
        [
            Column("provider", "Provider"),
            Column("model", "Model"),
            Column("requests", "Requests", "int"),
            Column("latency_p50_ms", "p50", "ms"),
            Column("latency_p95_ms", "p95", "ms"),
            Column("latency_p99_ms", "p99", "ms"),
            Column("ttft_p95_ms", "TTFT p95", "ms"),
        ],
        latency_percentiles,
    ),
    Section(
        "cost_reconciliation",
        "Reported cost vs computed cost (drift over the threshold)",
        [
            Column("usage_date", "Day", "date"),
            Column("model", "Model"),
            Column("reported_cost_usd", "Reported", "money6"),
            Column("computed_cost_usd", "Computed", "money6"),
            Column("drift_pct", "Drift %", "float"),
        ],
        cost_reconciliation,
        limit=10,
    ),
    Section(
        "provider_reconciliation",
        "Provider usage reports vs per-request data",
        [
            Column("provider", "Provider"),
            Column("model", "Model"),
            Column("provider_requests", "Provider requests", "int"),
            Column("request_requests", "Our requests", "int"),
            Column("provider_cost_usd", "Provider cost", "money"),
            Column("request_cost_usd", "Our cost", "money"),
            Column("cost_gap_usd", "Gap", "money"),
        ],
        provider_reconciliation,
        limit=10,
    ),
    Section(
        "landed_files",
        "Landed files with rejected or conflicting rows",
        [
            Column("landing_date", "Landed", "date"),
            Column("source_system", "Source"),
            Column("source_file", "File"),
            Column("landed_rows", "Rows", "int"),
            Column("rejected_rows", "Rejected", "int"),
            Column("reject_rate", "Rate", "pct"),
        ],
        landed_files,
        limit=10,
    ),
]
