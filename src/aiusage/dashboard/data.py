"""The data behind the dashboard: the report's queries over the published marts (usage
figures through the semantic layer), one list per chart."""

from __future__ import annotations

from aiusage.reporting.insights import cost_drivers, runaway_sessions, savings
from aiusage.reporting.performance import latency_by_hour, latency_percentiles, token_distribution
from aiusage.reporting.period import ReportQuery
from aiusage.reporting.queries import budgets, substitution
from aiusage.reporting.usage import (
    by_feature,
    by_model,
    cost_tree,
    daily_cost_by_model,
    latency_by_day,
    outcome_distribution,
    summary,
    tokens_by_day,
)
from aiusage.warehouse import to_jsonable


def dashboard_data(con, q: ReportQuery) -> dict:
    data = {
        "period": {"start": q.window.start, "end": q.window.end, "days": q.window.days},
        "filters": dict(q.filters),
        "summary": summary(con, q),
        "daily_cost_by_model": daily_cost_by_model(con, q),
        "tokens_by_day": tokens_by_day(con, q),
        "latency_by_day": latency_by_day(con, q),
        "outcomes": outcome_distribution(con, q),
        "models": by_model(con, q),
        "top_features": by_feature(con, q)[:10],
        "cost_tree": cost_tree(con, q),
        "budgets": budgets(con, q),
        "substitution": substitution(con, q),
        "cost_drivers": cost_drivers(con, q)[:5],
        "runaway_sessions": runaway_sessions(con, q),
        "savings": savings(con, q)[:5],
        "latency_percentiles": latency_percentiles(con, q),
        "latency_by_hour": latency_by_hour(con, q),
        "token_distribution": token_distribution(con, q),
    }
    return to_jsonable(data)
