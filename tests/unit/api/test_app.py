"""The team API under a real uvicorn server on 127.0.0.1, over a small warehouse built from
the marts' contracts."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

from aiusage.api.app import create_app
from aiusage.cli import main
from aiusage.delivery.state import connect_state
from tests.support.contract_warehouse import small_warehouse
from tests.support.servers import run_uvicorn


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    warehouse = small_warehouse(root / "tiny.duckdb")
    state_path = root / "delivery_state.sqlite"
    runner = CliRunner()
    env = {"AIUSAGE_DUCKDB_PATH": str(warehouse), "AIUSAGE_DELIVERY_STATE_PATH": str(state_path)}
    tokens = {}
    for name, args in {"search": ["--team", "search"], "admin": ["--admin"]}.items():
        result = runner.invoke(main, ["tokens", "create", *args], env=env)
        assert result.exit_code == 0, result.output
        tokens[name] = result.stdout.strip().splitlines()[0]
    app = create_app(warehouse, state_path, rate_limit_per_minute=1000)
    with run_uvicorn(app) as base:
        yield base, tokens, state_path


def _get(api, path, token=None, **params):
    base, tokens, _ = api
    headers = {"Authorization": f"Bearer {tokens[token]}"} if token else {}
    return httpx.get(base + path, headers=headers, params=params, timeout=30)


def test_tokens_are_stored_hashed(api):
    _, tokens, state_path = api
    con = connect_state(state_path)
    stored = " ".join(
        " ".join(str(v) for v in tuple(r)) for r in con.execute("select * from api_tokens")
    )
    for token in tokens.values():
        secret = token.split("_", 2)[2]  # the secret itself may contain "_"
        assert len(secret) >= 32 and secret not in stored


def test_team_token_reads_its_own_team(api):
    response = _get(api, "/api/v1/teams/search/usage", "search", days=7, end_date="2026-11-20")
    assert response.status_code == 200
    body = response.json()
    assert body["total_cost_usd"] == pytest.approx(1.50)
    assert body["requests"] == 12
    assert [d["usage_date"] for d in body["daily"]] == ["2026-11-19", "2026-11-20"]
    # the default period ends on the latest day with data
    assert _get(api, "/usage/team/search", "search", days=7).json()["end"] == "2026-11-20"


def test_team_token_cannot_see_other_teams(api):
    assert _get(api, "/api/v1/teams/legal/usage", "search").status_code == 403
    assert _get(api, "/api/v1/report", "search", team="legal").status_code == 403
    report = _get(api, "/api/v1/report", "search", days=7).json()
    assert report["filters"] == {"team": "search"}
    assert {r["team"] for r in report["by_team"]} == {"search"}
    assert report["warnings"]["rejected_lines"] == []
    models = _get(api, "/api/v1/models", "search", days=7).json()["models"]
    assert {m["model"] for m in models} == {"gpt-4o", "gemini-3-pro-preview"}
    dash = _get(api, "/api/v1/dashboard", "search", days=7, team="legal")
    assert dash.status_code == 403


def test_admin_token_reads_everything(api):
    report = _get(api, "/api/v1/report", "admin", days=7).json()
    assert report["summary"]["total_cost_usd"] == pytest.approx(3.50)
    assert report["warnings"]["rejected_lines"] == [
        {"rejection_reason": "malformed_json", "lines": 2}
    ]
    legal = _get(api, "/api/v1/teams/legal/usage", "admin", days=7).json()
    assert legal["total_cost_usd"] == pytest.approx(2.00)


def test_missing_or_bad_tokens_are_refused(api):
    base, tokens, _ = api
    assert _get(api, "/api/v1/report").status_code == 401
    forged = tokens["search"][:-4] + "AAAA"
    response = httpx.get(base + "/api/v1/report", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert _get(api, "/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    "path, params",
    [
        ("/api/v1/teams/search/usage", {"days": 0}),
        ("/api/v1/teams/search/usage", {"days": 367}),
        ("/api/v1/teams/search/usage", {"end_date": "2026-13-01"}),
        ("/api/v1/teams/x' or '1'='1/usage", {}),
        ("/api/v1/report", {"client": "a;drop table fct_daily_usage"}),
    ],
)
def test_bad_parameters_get_422(api, path, params):
    assert _get(api, path, "admin", **params).status_code == 422


def test_pending_marts_answer_503(tmp_path):
    """A warehouse built before a mart existed: its route answers 503 naming the mart."""
    import duckdb
    from starlette.testclient import TestClient

    from aiusage.api.tokens import create_token

    warehouse = small_warehouse(tmp_path / "old.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table rpt_budget_status")
    con = connect_state(tmp_path / "state.sqlite")
    token = create_token(con, team=None, is_admin=True)
    con.close()
    with TestClient(create_app(warehouse, tmp_path / "state.sqlite")) as client:
        response = client.get("/api/v1/budgets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503 and "rpt_budget_status" in response.json()["detail"]


def test_openapi_lists_the_endpoints(api):
    spec = _get(api, "/openapi.json").json()
    assert {
        "/api/v1/teams/{team}/usage",
        "/api/v1/report",
        "/api/v1/models",
        "/api/v1/budgets",
        "/api/v1/alerts",
        "/api/v1/substitutions",
        "/api/v1/dashboard",
    } <= set(spec["paths"])
    days = next(
        p for p in spec["paths"]["/api/v1/report"]["get"]["parameters"] if p["name"] == "days"
    )
    assert (days["schema"]["minimum"], days["schema"]["maximum"]) == (1, 366)


def test_rate_limit_per_token(tmp_path):
    warehouse = small_warehouse(tmp_path / "tiny.duckdb")
    state_path = tmp_path / "state.sqlite"
    from aiusage.api.tokens import create_token

    con = connect_state(state_path)
    token = create_token(con, team="search", is_admin=False)
    con.close()
    with run_uvicorn(create_app(warehouse, state_path, rate_limit_per_minute=3)) as base:
        headers = {"Authorization": f"Bearer {token}"}
        codes = [httpx.get(base + "/api/v1/me", headers=headers).status_code for _ in range(4)]
        last = httpx.get(base + "/api/v1/me", headers=headers)
    assert codes == [200, 200, 200, 429]
    assert int(last.headers["Retry-After"]) >= 1
