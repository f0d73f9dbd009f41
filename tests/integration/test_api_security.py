"""API security over the published sample warehouse, on EVERY route of the app (the routes
are enumerated from the app, so a new endpoint is covered, or fails here until it is):

- team isolation, by difference: a team token gets byte-for-byte the same answers from the
  real snapshot and from a copy where every other team's data was deleted or changed;
- no token / a bad token: 401, the same answer whether the team in the path exists or not;
- no route serves a file from outside its folder (path traversal);
- rate limiting per token (a token bucket, AIUSAGE_API_RATE_LIMIT per minute, 429 with
  Retry-After).
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute
from starlette.routing import Mount
from starlette.testclient import TestClient

from aiusage.api.app import RateLimiter, create_app
from aiusage.api.tokens import create_token, revoke_token
from aiusage.delivery.state import connect_state
from aiusage.snapshot import published_duckdb_path
from tests.conftest import SAMPLE_END_DATE

PUBLIC_ROUTES = {"/health", "/", "/openapi.json"}
# query parameters whose isolation the tests below know how to probe; a new one fails
# test_every_parameter_has_an_isolation_probe until a probe is added here
KNOWN_QUERY = {"days", "end_date", "team", "client", "user"}
KNOWN_PATH = {"team"}


def _routes(app) -> list[tuple[str, object]]:
    found = []
    for route in app.routes:
        if isinstance(route, Mount) or "GET" in (getattr(route, "methods", None) or ()):
            found.append((route.path, route))
    return found


def _path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


def _fill(path: str, **values) -> str:
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], path)


def _query_params(route) -> set[str]:
    if isinstance(route, APIRoute):
        return {p.alias for p in route.dependant.query_params}
    return set()


@pytest.fixture(scope="module")
def world(sample_warehouse, tmp_path_factory):
    settings, _ = sample_warehouse
    root = tmp_path_factory.mktemp("api_security")
    full = published_duckdb_path(settings)
    with duckdb.connect(str(full), read_only=True) as con:
        teams = [
            t
            for (t,) in con.execute(
                "select team from fct_daily_usage where team <> '(unattributed)' "
                "group by team order by sum(requests) desc"
            ).fetchall()
        ]
        mine, other = teams[0], teams[1]
        my_workflows = {
            w for (w,) in con.execute(
                "select distinct workflow from fct_daily_usage where team = ?", [mine]
            ).fetchall()
        }  # fmt: skip
        other_user, other_client = con.execute(
            "select user_id, client from fct_daily_usage where team = ? "
            "and user_id not in (select user_id from fct_daily_usage where team = ?) limit 1",
            [other, mine],
        ).fetchone()
    others_changed = root / "others_changed.duckdb"
    shutil.copy(full, others_changed)
    _change_other_teams(others_changed, mine, my_workflows)
    state = root / "state.sqlite"
    con = connect_state(state)
    tokens = {
        "mine": create_token(con, team=mine, is_admin=False),
        "other": create_token(con, team=other, is_admin=False),
        "admin": create_token(con, team=None, is_admin=True),
    }
    revoked = create_token(con, team=mine, is_admin=False)
    revoke_token(con, revoked.split("_")[1])
    tokens["revoked"] = revoked
    con.close()
    apps = {
        name: create_app(path, state, rate_limit_per_minute=100_000, hold_open=True)
        for name, path in {"full": full, "changed": others_changed}.items()
    }
    with TestClient(apps["full"]) as full_client, TestClient(apps["changed"]) as changed:
        yield {
            "full": full_client,
            "changed": changed,
            "app": apps["full"],
            "tokens": tokens,
            "mine": mine,
            "other": other,
            "other_user": other_user,
            "other_client": other_client,
            "root": root,
            "state": state,
        }


def _change_other_teams(path: Path, team: str, workflows: set[str]) -> None:
    """Delete every row of another team; change every number not tied to a team."""
    with duckdb.connect(str(path)) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            columns = dict(
                con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ?",
                    [schema, table],
                ).fetchall()
            )
            relation = f'"{schema}"."{table}"'
            if "team" in columns:
                con.execute(f"delete from {relation} where team is distinct from ?", [team])
            elif "scope_id" in columns and ({"scope", "scope_type"} & set(columns)):
                kind = "scope_type" if "scope_type" in columns else "scope"
                con.execute(
                    f"delete from {relation} where not ({kind} = 'team' and scope_id = ?)",
                    [team],
                )
            elif "workflow" in columns:
                con.execute(
                    f"delete from {relation} where workflow not in (select unnest(?::varchar[]))",
                    [sorted(workflows)],
                )
            else:
                numeric = [
                    c
                    for c, t in columns.items()
                    if re.match(r"(BIGINT|INTEGER|HUGEINT|DOUBLE|FLOAT|DECIMAL)", t)
                ]
                if numeric:
                    sets = ", ".join(f'"{c}" = "{c}" * 3 + 1' for c in numeric)
                    con.execute(f"update {relation} set {sets}")


def _get(http, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.get(path, headers=headers, params={k: v for k, v in params.items() if v})


def _requests(world, route_path, route):
    """(label, path, params, expect_forbidden) probes of one route for the 'mine' token."""
    mine, other = world["mine"], world["other"]
    query = _query_params(route)
    explicit = {"days": 30, "end_date": SAMPLE_END_DATE} if "days" in query else {}
    own_path = _fill(route_path, team=mine) if _path_params(route_path) else route_path
    probes = [("defaults", own_path, {}, False), ("explicit", own_path, explicit, False)]
    if "team" in _path_params(route_path):
        probes.append(("other team in path", _fill(route_path, team=other), explicit, True))
    if "team" in query:
        probes.append(("other team in query", own_path, {**explicit, "team": other}, True))
    if "user" in query:
        probes.append(("other team's user", own_path, {**explicit, "user": world["other_user"]},
                       False))  # fmt: skip
    if "client" in query:
        probes.append(
            ("other team's client", own_path, {**explicit, "client": world["other_client"]}, False)
        )
    return probes


def test_every_parameter_has_an_isolation_probe(world):
    for path, route in _routes(world["app"]):
        assert not isinstance(route, Mount), f"{path}: a mounted app needs its own tests"
        unknown = set(_path_params(path)) - KNOWN_PATH
        assert not unknown, f"{path}: add an isolation probe for path parameter(s) {unknown}"
        unknown = _query_params(route) - KNOWN_QUERY
        assert not unknown, f"{path}: add an isolation probe for query parameter(s) {unknown}"


def test_a_team_token_reads_nothing_of_other_teams_on_any_route(world):
    checked = 0
    for path, route in _routes(world["app"]):
        for label, url, params, forbidden in _requests(world, path, route):
            token = world["tokens"]["mine"]
            full = _get(world["full"], url, token, **params)
            changed = _get(world["changed"], url, token, **params)
            where = f"{path} ({label}): {url} {params}"
            assert full.status_code < 500, where
            if forbidden:
                assert full.status_code == changed.status_code == 403, where
                assert other_team_named(world, full.text) is None, where
            else:
                # other teams' rows deleted or changed: nothing this token reads may differ
                assert full.status_code == changed.status_code, where
                assert full.content == changed.content, where
            checked += 1
    assert checked >= 20
    # the same comparison does see other teams' data through an admin token
    admin = world["tokens"]["admin"]
    params = {"days": 30, "end_date": SAMPLE_END_DATE}
    for path in ["/api/v1/report", "/api/v1/dashboard", "/api/v1/models"]:
        a = _get(world["full"], path, admin, **params)
        b = _get(world["changed"], path, admin, **params)
        assert a.status_code == b.status_code == 200 and a.content != b.content, path


def other_team_named(world, text: str) -> str | None:
    return world["other"] if f'"{world["other"]}"' in text else None


def test_no_token_or_a_bad_token_gets_401_that_says_nothing_about_teams(world):
    tokens = world["tokens"]
    bad = {
        "no header": {},
        "not bearer": {"Authorization": "Basic " + tokens["mine"]},
        "garbage": {"Authorization": "Bearer nonsense"},
        "forged secret": {"Authorization": "Bearer " + tokens["mine"][:-6] + "AAAAAA"},
        "unknown id": {"Authorization": "Bearer aiu_0123456789abcdef_" + "x" * 43},
        "revoked": {"Authorization": "Bearer " + tokens["revoked"]},
    }
    for path, _ in _routes(world["app"]):
        if path in PUBLIC_ROUTES:
            continue
        answers = set()
        for team in (world["mine"], world["other"], "no-such-team"):
            url = _fill(path, team=team) if _path_params(path) else path
            for label, headers in bad.items():
                response = world["full"].get(url, headers=headers)
                assert response.status_code == 401, (url, label)
                assert response.headers["www-authenticate"] == "Bearer"
                answers.add(response.content)
        assert answers == {b'{"detail":"a valid bearer token is required"}'}, path
    # a token of another team: the same 403 for an existing and a missing team
    other = tokens["other"]
    for path, _ in _routes(world["app"]):
        if "team" in _path_params(path):
            existing = _get(world["full"], _fill(path, team=world["mine"]), other)
            missing = _get(world["full"], _fill(path, team="no-such-team"), other)
            assert existing.status_code == missing.status_code == 403
            assert existing.content == missing.content


TRAVERSALS = [
    "../../../../../../../../etc/passwd",
    "..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "....//....//....//....//etc/passwd",
    "..\\..\\..\\..\\..\\..\\etc\\passwd",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "..%252F..%252F..%252Fetc%252Fpasswd",
]


def test_no_route_serves_files_outside_its_folder(world, tmp_path):
    secret = uuid.uuid4().hex
    target = world["root"] / "secret.txt"
    target.write_text(secret)
    relative = "../" * 12 + str(target).lstrip("/")
    payloads = [
        *TRAVERSALS,
        *(p.replace("etc/passwd", str(target).lstrip("/")) for p in TRAVERSALS),
        relative,
        str(target),
    ]
    passwd = Path("/etc/passwd").read_text().splitlines()[0] if Path("/etc/passwd").exists() else ""
    state_header = "SQLite format 3"
    token = world["tokens"]["admin"]  # the token that may read the most
    urls = []
    for path, _ in _routes(world["app"]):
        params = _path_params(path)
        plain = _fill(path, **{p: "x" for p in params})
        for payload in payloads:
            if params:
                urls.append(_fill(path, **{p: payload for p in params}))
            urls.append(plain.rstrip("/") + "/" + payload)
            urls.append(f"{plain}?file={payload}&path={payload}")
    for prefix in ["/static/", "/files/", "/api/v1/", "/dashboard/", "//"]:
        urls += [prefix + payload for payload in payloads]
    for url in urls:
        response = world["full"].get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, url
        body = response.text
        assert secret not in body, url
        assert not passwd or passwd not in body, url
        assert state_header not in body, url
        assert "[build-system]" not in body, url  # the project's own files


def test_rate_limit_per_token_with_retry_after(world):
    state = world["state"]
    con = connect_state(state)
    first = create_token(con, team=world["mine"], is_admin=False)
    second = create_token(con, team=world["mine"], is_admin=False)
    con.close()
    app = create_app(world["root"] / "missing.duckdb", state, rate_limit_per_minute=3)
    with TestClient(app) as client:
        codes = [_get(client, "/api/v1/me", first).status_code for _ in range(4)]
        limited = _get(client, "/api/v1/me", first)
        assert codes == [200, 200, 200, 429]
        assert limited.status_code == 429 and limited.json() == {"detail": "rate limit exceeded"}
        # 3 per minute: one request back every 20 s
        assert 1 <= int(limited.headers["Retry-After"]) <= 20
        # another token has its own bucket; the health check is not limited
        assert _get(client, "/api/v1/me", second).status_code == 200
        assert all(client.get("/health").status_code == 200 for _ in range(10))


def test_token_bucket_refills_at_the_configured_rate():
    now = [1000.0]
    limiter = RateLimiter(6, clock=lambda: now[0])  # one request back every 10 s
    assert [limiter.check("a") for _ in range(6)] == [None] * 6
    assert limiter.check("a") == 10
    assert limiter.check("b") is None  # per key
    now[0] += 4.0
    assert limiter.check("a") == 6
    now[0] += 6.0
    assert limiter.check("a") is None and limiter.check("a") == 10
    now[0] += 3600.0  # never more than the burst after a long pause
    assert [limiter.check("a") for _ in range(7)] == [None] * 6 + [10]
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_serve_reads_the_rate_limit_from_the_environment(monkeypatch, tmp_path):
    import uvicorn

    from aiusage.cli import main

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(app=app))
    env = {
        "AIUSAGE_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "published"),
        "AIUSAGE_API_RATE_LIMIT": "42",
    }
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 0, result.output
    assert served["app"].state.rate_limiter.per_minute == 42
    result = CliRunner().invoke(main, ["serve", "--rate-limit", "7"], env=env)
    assert served["app"].state.rate_limiter.per_minute == 7
    bad = CliRunner().invoke(main, ["serve"], env={**env, "AIUSAGE_API_RATE_LIMIT": "lots"})
    assert bad.exit_code != 0 and "AIUSAGE_API_RATE_LIMIT" in bad.output
