"""Report sections over the insight marts (docs/insights.md): why cost moved
(rpt_cost_change_drivers), runaway sessions (rpt_session_costs) and what to change
(rpt_savings_opportunities), plus the summary's one-sentence account of the drivers.

rpt_cost_change_drivers computes its periods at the end of the data (7 and 28 days) and for
the last full week (the weekly report's): the report shows the drivers of its own period
only, when the mart has it (same length, same last day), never another period's. A --team
filter keeps the team's workflows (dim_workflows) and sessions, a --client or --user filter
leaves the drivers and savings out (their grain has no client or user)."""

from __future__ import annotations

from decimal import Decimal

from aiusage.reporting.money import format_money
from aiusage.reporting.period import ReportQuery
from aiusage.reporting.queries import team_workflows_clause
from aiusage.warehouse import fetch_rows, relation_exists

EFFECTS = ("volume", "mix", "price", "efficiency", "reliability")


def _drivers_of_period(
    con, q: ReportQuery, scope_type: str, scope_id: str | None, columns="*", where=""
):
    """rpt_cost_change_drivers' `columns` of the report's period (its length and last day)
    for a scope type (and id), largest change first; none when the mart has no such period."""
    return fetch_rows(
        con,
        f"""
        select {columns} from rpt_cost_change_drivers
        where scope_type = ? and period_days = ? and period_end = ? {where}
            {"and scope_id = ?" if scope_id else ""}
        order by abs(delta_usd) desc, scope_id
        """,
        [scope_type, q.window.days, q.window.end, *([scope_id] if scope_id else [])],
    )


def cost_drivers(con, q: ReportQuery) -> list[dict]:
    """Scopes whose cost moved, largest change first, with the effect that moved it: every
    workflow, or with --team the team's own row (a workflow's row holds every team's
    requests of it, so a team reads only its team scope)."""
    if q.filters.keys() - {"team"} or not relation_exists(con, "rpt_cost_change_drivers"):
        return []
    scope_type, scope_id = ("team", q.filters["team"]) if q.filters else ("workflow", None)
    columns = """scope_type, scope_id, period_days, period_start, period_end, previous_cost_usd,
        cost_usd, delta_usd, volume_effect_usd, mix_effect_usd, price_effect_usd,
        efficiency_effect_usd, reliability_effect_usd, other_effect_usd, top_driver"""
    return _drivers_of_period(
        con, q, scope_type, scope_id, columns, where="and top_driver != 'none'"
    )


def drivers_sentence(
    con, q: ReportQuery, currency: str = "USD", usd_rate: Decimal = Decimal(1)
) -> str | None:
    """One sentence naming the top drivers of the cost change (company or --team), its
    amounts in `currency` (`usd_rate` units per USD)."""

    def _signed(value) -> str:
        return format_money(Decimal(value) * usd_rate, currency, signed=True)

    if q.filters.keys() - {"team"} or not relation_exists(con, "rpt_cost_change_drivers"):
        return None
    scope_type, scope_id = ("team", q.filters["team"]) if q.filters else ("total", "total")
    rows = _drivers_of_period(con, q, scope_type, scope_id)
    if not rows:
        return None
    row = rows[0]
    effects = sorted(
        ((name, Decimal(row[f"{name}_effect_usd"])) for name in EFFECTS),
        key=lambda item: (-abs(item[1]), item[0]),
    )
    days = row["period_days"]
    sentence = (
        f"Cost {_signed(row['delta_usd'])} in the {days} days to {row['period_end']} "
        f"vs the {days} before"
    )
    if row["top_driver"] == "none":
        return sentence + ": no material change."
    main = [f"{name} {_signed(value)}" for name, value in effects[:2] if value]
    workflows = [] if q.filters else cost_drivers(con, q)[:3]
    sentence += ", driven by " + " and ".join(main)
    if workflows:
        sentence += "; top workflows: " + ", ".join(
            f"{w['scope_id']} ({w['top_driver']} {_signed(w[w['top_driver'] + '_effect_usd'])})"
            for w in workflows
        )
    return sentence + "."


def runaway_sessions(con, q: ReportQuery) -> list[dict]:
    """Runaway sessions that started in the period (rpt_session_costs), largest first."""
    if q.filters.keys() - {"team", "user"} or not relation_exists(con, "rpt_session_costs"):
        return []
    clauses, params = [], []
    for name, column in (("team", "team"), ("user", "user_id")):
        if name in q.filters:
            clauses.append(f"and {column} = ?")
            params.append(q.filters[name])
    return fetch_rows(
        con,
        f"""
        select session_id, workflow, team, user_id, requests, cost_usd, started_at, ended_at,
               duration_minutes, workflow_p95_requests, runaway_ratio
        from rpt_session_costs
        where is_runaway and cast(started_at as date) between ? and ? {" ".join(clauses)}
        order by cost_usd desc, session_id
        """,
        [q.window.start, q.window.end, *params],
    )


def savings(con, q: ReportQuery) -> list[dict]:
    """The ranked savings menu (rpt_savings_opportunities); a team sees its workflows."""
    scope = team_workflows_clause(q)
    if scope is None or not relation_exists(con, "rpt_savings_opportunities"):
        return []
    clause, params = scope
    return fetch_rows(
        con,
        f"""
        select savings_rank, opportunity_type, workflow, provider, model, candidate,
               monthly_savings_usd, confidence, evidence
        from rpt_savings_opportunities
        where true {clause}
        order by savings_rank
        """,
        params,
    )
