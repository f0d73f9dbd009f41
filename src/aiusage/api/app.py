"""The read-only team self-service API over the published marts (FastAPI).

Every data endpoint needs `Authorization: Bearer <token>` (tokens from `aiusage tokens
create`). A team token reads only its own team's rows; an admin token reads everything.
Queries are parameterized (values bound as `?`); path and query parameters are validated
(4xx on bad input). Requests are rate-limited per token. The OpenAPI spec is /openapi.json.
"""

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aiusage.api.limiter import RateLimiter
from aiusage.api.schemas import (
    ERRORS,
    UNAUTHORIZED,
    Days,
    EndDate,
    Health,
    MartRows,
    Me,
    ModelComparison,
    OptionalName,
    Report,
    TeamName,
    TeamUsage,
)
from aiusage.api.store import TokenCache, Warehouse
from aiusage.api.tokens import Principal
from aiusage.dashboard.data import dashboard_data
from aiusage.dashboard.render import render_page
from aiusage.reporting.build import build_report_from_connection
from aiusage.reporting.insights import cost_drivers as report_cost_drivers
from aiusage.reporting.insights import runaway_sessions as report_runaway_sessions
from aiusage.reporting.insights import savings as report_savings
from aiusage.reporting.period import ReportQuery, ReportWindow
from aiusage.reporting.queries import alerts as report_alerts
from aiusage.reporting.queries import budgets as report_budgets
from aiusage.reporting.queries import substitution as report_substitution
from aiusage.reporting.usage import by_model, period_end, team_daily_usage
from aiusage.warehouse import json_default, relation_exists

API_VERSION = "1"


def _json_bytes(data) -> bytes:
    return json.dumps(data, default=json_default, separators=(",", ":")).encode()


def create_app(
    duckdb_path: Path | Callable[[], Path],
    state_path: Path | Callable[[], Path],
    *,
    rate_limit_per_minute: int = 120,
    hold_open: bool | Callable[[Path], bool] = False,
):
    """The API app. `duckdb_path` is the file to read or a callable naming it per request
    (the published snapshot), `state_path` the token store (or a callable naming it);
    `hold_open` says whether a path is an immutable snapshot the API may keep open (see
    `Warehouse`)."""
    app = FastAPI(
        title="aiusage team API",
        version=API_VERSION,
        description=__doc__,
        docs_url=None,  # Swagger UI would load from a CDN; the spec is at /openapi.json
        redoc_url=None,
    )
    bearer = HTTPBearer(auto_error=False)
    limiter = RateLimiter(rate_limit_per_minute)
    auth_failures = RateLimiter(max(10, rate_limit_per_minute // 4))
    tokens = TokenCache(state_path if callable(state_path) else (lambda: Path(state_path)))
    source = duckdb_path if callable(duckdb_path) else (lambda: Path(duckdb_path))
    keep = hold_open if callable(hold_open) else (lambda _path: bool(hold_open))
    store = Warehouse(source, keep)
    app.state.warehouse = store
    app.state.rate_limiter = limiter

    async def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        client = request.client.host if request.client else "unknown"
        found = None
        if credentials is not None and credentials.scheme.lower() == "bearer":
            found = tokens.verify(credentials.credentials)
        if found is None:
            wait = auth_failures.check(f"ip:{client}")
            if wait is not None:
                raise HTTPException(429, "too many failed logins", {"Retry-After": str(wait)})
            raise HTTPException(401, "a valid bearer token is required", UNAUTHORIZED)
        wait = limiter.check(f"token:{found.token_id}")
        if wait is not None:
            raise HTTPException(429, "rate limit exceeded", {"Retry-After": str(wait)})
        return found

    Auth = Annotated[Principal, Depends(principal)]

    def scoped_team(who: Principal, team: str | None) -> str | None:
        """The team filter a caller gets: a team token is pinned to its own team."""
        if who.is_admin:
            return team
        if team is not None and team != who.team:
            raise HTTPException(403, "this token can only read its own team")
        return who.team

    def window(con, days: int, end_date: date | None) -> ReportWindow:
        end_date = period_end(con, end_date)
        return ReportWindow(end_date - timedelta(days=days - 1), end_date)

    async def answer(what: tuple, produce: Callable) -> Response:
        """The JSON body of `what` (endpoint and every parameter that shapes the answer,
        the caller's scope included) over the current snapshot: cached per snapshot."""
        body = store.cached(what)
        if body is None:
            body = await run_in_threadpool(
                store.compute, what, lambda con: _json_bytes(produce(con))
            )
        return Response(body, media_type="application/json")

    @app.exception_handler(ValueError)
    async def value_error(_request, error: ValueError):
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.get("/health", tags=["meta"], response_model=Health)
    async def health() -> dict:
        return {"status": "ok", "warehouse": store.exists()}

    @app.get("/api/v1/me", tags=["meta"], response_model=Me, responses=ERRORS)
    async def me(who: Auth) -> dict:
        return {"team": who.team, "is_admin": who.is_admin, "token_id": who.token_id}

    def team_usage(con, team: str, days: int, end_date: date | None) -> dict:
        w = window(con, days, end_date)
        daily = team_daily_usage(con, ReportQuery(w, {"team": team}))
        return {
            "team": team,
            "start": w.start,
            "end": w.end,
            "days": w.days,
            "total_cost_usd": sum((r["total_cost_usd"] or 0) for r in daily),
            "requests": sum(r["requests"] for r in daily),
            "daily": daily,
        }

    async def usage_answer(team: str, who: Principal, days: int, end_date: date | None):
        if not who.can_read_team(team):
            raise HTTPException(403, "this token can only read its own team")
        return await answer(
            ("usage", team, days, end_date),
            lambda con: team_usage(con, team, days, end_date),
        )

    @app.get(
        "/api/v1/teams/{team}/usage", tags=["usage"], response_model=TeamUsage, responses=ERRORS
    )
    async def usage_by_team(team: TeamName, who: Auth, days: Days = 30, end_date: EndDate = None):
        """Cost, requests and tokens of one team per day."""
        return await usage_answer(team, who, days, end_date)

    @app.get("/usage/team/{team}", tags=["usage"], include_in_schema=False)
    async def usage_by_team_legacy(
        team: TeamName, who: Auth, days: Days = 30, end_date: EndDate = None
    ):
        return await usage_answer(team, who, days, end_date)

    async def report_answer(who: Principal, days, end_date, team, client, user):
        filters = {"team": scoped_team(who, team), "client": client, "user": user}
        filters = {k: v for k, v in filters.items() if v}

        def produce(con):
            data = build_report_from_connection(
                con, ReportQuery(window(con, days, end_date), filters)
            )
            if not who.is_admin:
                # Rejected lines carry no trusted team: only admins see the global quarantine.
                data["warnings"]["rejected_lines"] = []
            return data

        scope = "admin" if who.is_admin else "team"
        return await answer(
            ("report", scope, days, end_date, tuple(sorted(filters.items()))), produce
        )

    @app.get("/api/v1/report", tags=["report"], response_model=Report, responses=ERRORS)
    async def report(
        who: Auth,
        days: Days = 7,
        end_date: EndDate = None,
        team: OptionalName = None,
        client: OptionalName = None,
        user: OptionalName = None,
    ):
        """The usage report (same JSON as `aiusage report --format json`)."""
        return await report_answer(who, days, end_date, team, client, user)

    @app.get("/usage/report", tags=["report"], include_in_schema=False)
    async def report_legacy(who: Auth, days: Days = 7, end_date: EndDate = None):
        return await report_answer(who, days, end_date, None, None, None)

    @app.get("/api/v1/models", tags=["usage"], response_model=ModelComparison, responses=ERRORS)
    async def models(who: Auth, days: Days = 30, end_date: EndDate = None):
        """Model comparison: cost, volume, success, quality, latency per model."""
        team = scoped_team(who, None)

        def produce(con):
            w = window(con, days, end_date)
            rows = by_model(con, ReportQuery(w, {"team": team} if team else {}))
            return {"start": w.start, "end": w.end, "team": team, "models": rows}

        return await answer(("models", team, days, end_date), produce)

    @app.get("/api/v1/dashboard", tags=["dashboard"], response_model=dict[str, Any],
             responses=ERRORS)  # fmt: skip
    async def dashboard(
        who: Auth, days: Days = 30, end_date: EndDate = None, team: OptionalName = None
    ):
        """The data behind the dashboard charts."""
        team = scoped_team(who, team)

        def produce(con):
            w = window(con, days, end_date)
            return dashboard_data(con, ReportQuery(w, {"team": team} if team else {}))

        return await answer(("dashboard", team, days, end_date), produce)

    async def section_rows(mart: str, section, who: Principal, team: str | None, days, end_date):
        """Rows of a report section over a mart of the marts layer, through the same
        parameterized query as the report; team tokens get their team's scope only."""
        team = scoped_team(who, team)

        def produce(con):
            if not relation_exists(con, mart):
                raise HTTPException(503, f"{mart} is not published in this warehouse yet")
            w = window(con, days, end_date)
            rows = section(con, ReportQuery(w, {"team": team} if team else {}))
            return {"mart": mart, "team": team, "rows": rows}

        return await answer((mart, team, days, end_date), produce)

    @app.get("/api/v1/budgets", tags=["marts"], response_model=MartRows, responses=ERRORS)
    async def budgets(
        who: Auth, team: OptionalName = None, days: Days = 30, end_date: EndDate = None
    ):
        """Budget status and month-end forecast at the end of the period (rpt_budget_status)."""
        return await section_rows("rpt_budget_status", report_budgets, who, team, days, end_date)

    @app.get("/api/v1/alerts", tags=["marts"], response_model=MartRows, responses=ERRORS)
    async def alerts(
        who: Auth, team: OptionalName = None, days: Days = 30, end_date: EndDate = None
    ):
        """Alerts firing as of the latest data (rpt_alerts)."""
        return await section_rows("rpt_alerts", report_alerts, who, team, days, end_date)

    @app.get("/api/v1/substitutions", tags=["marts"], response_model=MartRows, responses=ERRORS)
    async def substitutions(
        who: Auth, team: OptionalName = None, days: Days = 30, end_date: EndDate = None
    ):
        """Model substitution opportunities, best candidate first (rpt_model_substitution);
        a team token sees its own workflows."""
        return await section_rows(
            "rpt_model_substitution", report_substitution, who, team, days, end_date
        )

    @app.get("/api/v1/savings", tags=["marts"], response_model=MartRows, responses=ERRORS)
    async def savings(
        who: Auth, team: OptionalName = None, days: Days = 30, end_date: EndDate = None
    ):
        """What to change, ranked by monthly saving (rpt_savings_opportunities); a team
        token sees its own workflows."""
        return await section_rows(
            "rpt_savings_opportunities", report_savings, who, team, days, end_date
        )

    @app.get("/api/v1/cost-drivers", tags=["marts"], response_model=MartRows, responses=ERRORS)
    async def cost_drivers(
        who: Auth, team: OptionalName = None, days: Days = 7, end_date: EndDate = None
    ):
        """Why cost moved per workflow over the last 7 (or, with days >= 28, 28) days vs the
        period before (rpt_cost_change_drivers)."""
        return await section_rows(
            "rpt_cost_change_drivers", report_cost_drivers, who, team, days, end_date
        )

    @app.get("/api/v1/runaway-sessions", tags=["marts"], response_model=MartRows,
             responses=ERRORS)  # fmt: skip
    async def runaway(
        who: Auth, team: OptionalName = None, days: Days = 7, end_date: EndDate = None
    ):
        """Runaway sessions started in the period (rpt_session_costs)."""
        return await section_rows(
            "rpt_session_costs", report_runaway_sessions, who, team, days, end_date
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(render_page(None), headers={"Cache-Control": "no-store"})

    return app
