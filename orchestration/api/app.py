"""The read-only team self-service API over the published marts (FastAPI).

Every data endpoint needs `Authorization: Bearer <token>` (tokens from `aiusage tokens
create`). A team token reads only its own team's rows; an admin token reads everything.
Queries are parameterized (values bound as `?`); path and query parameters are validated
(4xx on bad input). Requests are rate-limited per token. The OpenAPI spec is /openapi.json.
"""

import hashlib
import json
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import duckdb
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

from orchestration.api.tokens import TEAM_PATTERN, Principal, verify_token
from orchestration.dashboard.data import dashboard_data
from orchestration.dashboard.render import render_page
from orchestration.delivery.report import (
    ReportQuery,
    ReportWindow,
    _json_default,
    _rows,
    build_report_from_connection,
    by_model,
    relation_exists,
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
    Query(
        description="Last day of the period, 1970-01-01 to 9999-11-30 "
        "(default: the latest day with data).",
        ge=date(1970, 1, 1),
        le=date(9999, 11, 30),
    ),
]
TeamName = Annotated[str, PathParam(pattern=TEAM_REGEX, max_length=128)]
OptionalName = Annotated[str | None, Query(pattern=TEAM_REGEX, max_length=128)]


class RateLimiter:
    """A token bucket per key, in memory (one server process), thread-safe.

    Each key holds up to `per_minute` requests (the burst) and regains one every
    60 / per_minute seconds, so a client may send `per_minute` requests per minute on
    average and never more than `per_minute` at once."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("the rate limit must be at least 1 request per minute")
        self.per_minute = per_minute
        self.rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def check(self, key: str) -> int | None:
        """None when allowed (one token taken), else the whole seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # forget full buckets (idle keys)
                    self._forget_full(now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _forget_full(self, now: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate >= self.per_minute:
                del self._buckets[key]


class _Held:
    """A read-only connection to one snapshot and the requests using it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.users = 0
        self.retired = False


class Warehouse:
    """The published snapshot as the API reads it.

    `source()` names the DuckDB file to read (the published snapshot, resolved on every
    request, so a new build is served as soon as it is published). A snapshot is identified
    by its path and file identity (inode, size, mtime); results are cached per snapshot and
    dropped when it changes. When `hold_open(path)` is true (an immutable published snapshot)
    one read-only connection is kept per snapshot and each request reads through its own
    cursor; otherwise (the build file, which a refresh writes) each read opens and closes
    the file, so the API never holds a lock the builder needs."""

    def __init__(
        self,
        source: Callable[[], Path],
        hold_open: Callable[[Path], bool],
        max_cached: int = 512,
    ) -> None:
        self._source = source
        self._hold_open = hold_open
        self._max_cached = max_cached
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._held: _Held | None = None
        self._results: OrderedDict[tuple, bytes] = OrderedDict()

    def exists(self) -> bool:
        try:
            return Path(self._source()).exists()
        except FileNotFoundError:
            return False

    def _current(self) -> tuple[Path, tuple]:
        try:
            path = Path(self._source())
            st = path.stat()
        except FileNotFoundError as error:
            raise HTTPException(503, "the warehouse is not built or published yet") from error
        key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            if key != self._key:
                self._key = key
                self._results.clear()
                if self._held is not None:
                    self._retire(self._held)
                    self._held = None
        return path, key

    def _retire(self, held: _Held) -> None:
        held.retired = True
        if held.users == 0:
            held.con.close()

    def cached(self, what: tuple) -> bytes | None:
        """The cached body of `what` in the current snapshot, if any."""
        _, key = self._current()
        with self._lock:
            body = self._results.get((key, what))
            if body is not None:
                self._results.move_to_end((key, what))
            return body

    def compute(self, what: tuple, produce: Callable[[duckdb.DuckDBPyConnection], bytes]):
        """produce(con) over the current snapshot, cached under `what`."""
        path, key = self._current()
        with self._lock:
            body = self._results.get((key, what))
        if body is not None:
            return body
        with self.connect(path, key) as con:
            body = produce(con)
        with self._lock:
            if self._key == key:
                self._results[(key, what)] = body
                while len(self._results) > self._max_cached:
                    self._results.popitem(last=False)
        return body

    @contextmanager
    def connect(self, path: Path | None = None, key: tuple | None = None):
        if path is None:
            path, key = self._current()
        if not self._hold_open(path):
            con = duckdb.connect(str(path), read_only=True)
            try:
                yield con
            finally:
                con.close()
            return
        with self._lock:
            if self._key == key and self._held is None:
                self._held = _Held(duckdb.connect(str(path), read_only=True))
            held = self._held if self._key == key else None
            if held is not None:
                held.users += 1
        if held is None:  # the snapshot changed meanwhile: read the one we resolved
            con = duckdb.connect(str(path), read_only=True)
            try:
                yield con
            finally:
                con.close()
            return
        cursor = held.con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                held.users -= 1
                if held.retired and held.users == 0:
                    held.con.close()


class TokenCache:
    """Verified tokens, kept while the token store is unchanged (a revoke or a new token
    changes the state file, which empties the cache: a revoked token fails at once)."""

    def __init__(self, state_path: Callable[[], Path]) -> None:
        self._state_path = state_path
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._known: dict[str, Principal] = {}

    def _file_stamp(self) -> tuple:
        stamps = []
        for suffix in ("", "-wal", "-journal"):
            try:
                st = os.stat(f"{self._state_path()}{suffix}")
                stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                stamps.append(None)
        return tuple(stamps)

    def verify(self, token: str) -> Principal | None:
        stamp = self._file_stamp()
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._known = stamp, {}
            found = self._known.get(digest)
        if found is not None:
            return found
        state = connect_state(Path(self._state_path()))
        try:
            found = verify_token(state, token)
        finally:
            state.close()
        if found is not None:
            with self._lock:
                if self._stamp == stamp and len(self._known) < 10_000:
                    self._known[digest] = found
        return found


def _json_bytes(data) -> bytes:
    return json.dumps(data, default=_json_default, separators=(",", ":")).encode()


class ApiError(BaseModel):
    detail: str | list


class Health(BaseModel):
    status: str
    warehouse: bool


class Me(BaseModel):
    team: str | None
    is_admin: bool
    token_id: str


class DailyUsage(BaseModel):
    usage_date: date
    total_cost_usd: float | None
    requests: int
    successful_requests: int
    total_tokens: int
    unpriced_requests: int


class TeamUsage(BaseModel):
    team: str
    start: date
    end: date
    days: int
    total_cost_usd: float
    requests: int
    daily: list[DailyUsage]


class Report(BaseModel):
    """Same JSON as `aiusage report --format json` (docs/delivery.md)."""

    model_config = ConfigDict(extra="allow")
    report_version: int
    period: dict[str, Any]
    filters: dict[str, str]
    currency: str | dict[str, Any]
    summary: dict[str, Any]
    warnings: dict[str, list[dict[str, Any]]]


class ModelComparison(BaseModel):
    start: date
    end: date
    team: str | None
    models: list[dict[str, Any]]


class MartRows(BaseModel):
    mart: str
    team: str | None
    rows: list[dict[str, Any]]


ERRORS = {
    400: {"model": ApiError, "description": "A period the warehouse cannot answer."},
    401: {"model": ApiError, "description": "No valid bearer token (the same for any path)."},
    403: {"model": ApiError, "description": "A team token asking for another team."},
    429: {"model": ApiError, "description": "Rate limit of the token (see Retry-After)."},
    503: {"model": ApiError, "description": "The warehouse or this mart is not published."},
}
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


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
        if end_date is None:
            (latest,) = con.execute("select max(usage_date) from fct_daily_usage").fetchone()
            end_date = latest or date.today()
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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(render_page(None), headers={"Cache-Control": "no-store"})

    return app
