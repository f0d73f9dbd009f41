"""The read-only team self-service API over the published marts (FastAPI).

Every data endpoint needs `Authorization: Bearer <token>` (tokens from `aiusage tokens
create`). A team token reads only its own team's rows; an admin token reads everything.
Queries are parameterized (values bound as `?`); path and query parameters are validated
(4xx on bad input). Requests are rate-limited per token. The OpenAPI spec is /openapi.json.
"""

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import duckdb
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestration.api.tokens import TEAM_PATTERN, Principal, verify_token
from orchestration.dashboard.data import dashboard_data
from orchestration.dashboard.render import render_page
from orchestration.delivery.report import (
    ReportQuery,
    ReportWindow,
    _rows,
    build_report_from_connection,
    by_model,
    relation_exists,
    to_jsonable,
)
from orchestration.delivery.report import alerts as report_alerts
from orchestration.delivery.report import budgets as report_budgets
from orchestration.delivery.report import substitution as report_substitution
from orchestration.delivery.state import connect_state

API_VERSION = "1"
TEAM_REGEX = TEAM_PATTERN.pattern

Days = Annotated[int, Query(ge=1, le=366, description="Days in the period (1-366).")]
EndDate = Annotated[
    date | None,
    Query(description="Last day of the period (default: the latest day with data)."),
]
TeamName = Annotated[str, PathParam(pattern=TEAM_REGEX, max_length=128)]
OptionalName = Annotated[str | None, Query(pattern=TEAM_REGEX, max_length=128)]


class RateLimiter:
    """Fixed one-minute window per key; thread-safe; in memory (one server process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))

    def check(self, key: str) -> int | None:
        """None when allowed, else the seconds to wait."""
        now = time.monotonic()
        window = int(now // 60)
        with self._lock:
            current, count = self._windows[key]
            if current != window:
                current, count = window, 0
            if count >= self.per_minute:
                return max(1, int(60 - now % 60))
            self._windows[key] = (current, count + 1)
            return None


def create_app(
    duckdb_path: Path | Callable[[], Path], state_path: Path, *, rate_limit_per_minute: int = 120
):
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

    def current_path() -> Path:
        # A callable resolves the published snapshot on every request, so a new build is
        # served as soon as it is published, without restarting the server.
        return Path(duckdb_path() if callable(duckdb_path) else duckdb_path)

    @contextmanager
    def warehouse():
        path = current_path()
        if not path.exists():
            raise HTTPException(503, "the warehouse is not built or published yet")
        con = duckdb.connect(str(path), read_only=True)
        try:
            yield con
        finally:
            con.close()

    def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        client = request.client.host if request.client else "unknown"
        found = None
        if credentials is not None and credentials.scheme.lower() == "bearer":
            state = connect_state(state_path)
            try:
                found = verify_token(state, credentials.credentials)
            finally:
                state.close()
        if found is None:
            wait = auth_failures.check(f"ip:{client}")
            if wait is not None:
                raise HTTPException(429, "too many failed logins", {"Retry-After": str(wait)})
            raise HTTPException(
                401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
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
        if end_date is None:
            (latest,) = con.execute("select max(usage_date) from fct_daily_usage").fetchone()
            end_date = latest or date.today()
        return ReportWindow(end_date - timedelta(days=days - 1), end_date)

    @app.exception_handler(ValueError)
    async def value_error(_request, error: ValueError):
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.get("/health", tags=["meta"])
    def health() -> dict:
        return {"status": "ok", "warehouse": current_path().exists()}

    @app.get("/api/v1/me", tags=["meta"])
    def me(who: Auth) -> dict:
        return {"team": who.team, "is_admin": who.is_admin, "token_id": who.token_id}

    def team_usage(team: str, who: Principal, days: int, end_date: date | None) -> dict:
        if not who.can_read_team(team):
            raise HTTPException(403, "this token can only read its own team")
        with warehouse() as con:
            w = window(con, days, end_date)
            daily = _rows(
                con,
                """
                select usage_date, sum(total_cost_usd) as total_cost_usd,
                    sum(requests) as requests, sum(successful_requests) as successful_requests,
                    sum(total_tokens) as total_tokens, sum(unpriced_requests) as unpriced_requests
                from fct_daily_usage
                where team = ? and usage_date between ? and ?
                group by usage_date
                order by usage_date
                """,
                [team, w.start, w.end],
            )
        total = sum((r["total_cost_usd"] or 0) for r in daily)
        return to_jsonable(
            {
                "team": team,
                "start": w.start,
                "end": w.end,
                "days": w.days,
                "total_cost_usd": total,
                "requests": sum(r["requests"] for r in daily),
                "daily": daily,
            }
        )

    @app.get("/api/v1/teams/{team}/usage", tags=["usage"])
    def usage_by_team(team: TeamName, who: Auth, days: Days = 30, end_date: EndDate = None):
        """Cost, requests and tokens of one team per day."""
        return team_usage(team, who, days, end_date)

    @app.get("/usage/team/{team}", tags=["usage"], include_in_schema=False)
    def usage_by_team_legacy(team: TeamName, who: Auth, days: Days = 30, end_date: EndDate = None):
        return team_usage(team, who, days, end_date)

    @app.get("/api/v1/report", tags=["report"])
    def report(
        who: Auth,
        days: Days = 7,
        end_date: EndDate = None,
        team: OptionalName = None,
        client: OptionalName = None,
        user: OptionalName = None,
    ) -> dict:
        """The usage report (same JSON as `aiusage report --format json`)."""
        filters = {"team": scoped_team(who, team), "client": client, "user": user}
        with warehouse() as con:
            q = ReportQuery(window(con, days, end_date), {k: v for k, v in filters.items() if v})
            data = build_report_from_connection(con, q)
        if not who.is_admin:
            # Rejected lines carry no trusted team: only admins see the global quarantine.
            data["warnings"]["rejected_lines"] = []
        return to_jsonable(data)

    @app.get("/usage/report", tags=["report"], include_in_schema=False)
    def report_legacy(who: Auth, days: Days = 7, end_date: EndDate = None) -> dict:
        return report(who, days, end_date)

    @app.get("/api/v1/models", tags=["usage"])
    def models(who: Auth, days: Days = 30, end_date: EndDate = None) -> dict:
        """Model comparison: cost, volume, success, quality, latency per model."""
        team = scoped_team(who, None)
        with warehouse() as con:
            w = window(con, days, end_date)
            rows = by_model(con, ReportQuery(w, {"team": team} if team else {}))
        return to_jsonable({"start": w.start, "end": w.end, "team": team, "models": rows})

    @app.get("/api/v1/dashboard", tags=["dashboard"])
    def dashboard(who: Auth, days: Days = 30, end_date: EndDate = None, team: OptionalName = None):
        """The data behind the dashboard charts."""
        team = scoped_team(who, team)
        with warehouse() as con:
            w = window(con, days, end_date)
            return dashboard_data(con, ReportQuery(w, {"team": team} if team else {}))

    def section_rows(
        mart: str, section, who: Principal, team: str | None, days: int, end_date
    ) -> dict:
        """Rows of a report section over a mart of the marts layer, through the same
        parameterized query as the report; team tokens get their team's scope only."""
        team = scoped_team(who, team)
        with warehouse() as con:
            if not relation_exists(con, mart):
                raise HTTPException(503, f"{mart} is not published in this warehouse yet")
            w = window(con, days, end_date)
            rows = section(con, ReportQuery(w, {"team": team} if team else {}))
        return to_jsonable({"mart": mart, "team": team, "rows": rows})

    @app.get("/api/v1/budgets", tags=["marts"])
    def budgets(
        who: Auth, team: OptionalName = None, days: Days = 30, end_date: EndDate = None
    ) -> dict:
        """Budget status and month-end forecast at the end of the period (rpt_budget_status)."""
        return section_rows("rpt_budget_status", report_budgets, who, team, days, end_date)

    @app.get("/api/v1/alerts", tags=["marts"])
    def alerts(
        who: Auth, team: OptionalName = None, days: Days = 30, end_date: EndDate = None
    ) -> dict:
        """Alerts firing as of the latest data (rpt_alerts)."""
        return section_rows("rpt_alerts", report_alerts, who, team, days, end_date)

    @app.get("/api/v1/substitutions", tags=["marts"])
    def substitutions(
        who: Auth, team: OptionalName = None, days: Days = 30, end_date: EndDate = None
    ) -> dict:
        """Model substitution opportunities, best candidate first (rpt_model_substitution);
        a team token sees its own workflows."""
        return section_rows(
            "rpt_model_substitution", report_substitution, who, team, days, end_date
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(render_page(None), headers={"Cache-Control": "no-store"})

    return app
