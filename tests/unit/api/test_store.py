"""The API's per-snapshot cache and connection: a newly published snapshot is served on the
next request (no stale cached answer), and a snapshot replaced in place is noticed too."""

from __future__ import annotations

import os
import shutil

import duckdb
from starlette.testclient import TestClient

from aiusage.api.app import create_app
from aiusage.api.tokens import create_token
from aiusage.delivery.state import connect_state
from tests.support.contract_warehouse import small_warehouse


def _cost(client, token) -> float:
    response = client.get(
        "/api/v1/teams/search/usage",
        params={"days": 7, "end_date": "2026-11-20"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["total_cost_usd"]


def test_a_new_snapshot_is_served_at_once(tmp_path):
    old = small_warehouse(tmp_path / "old.duckdb")
    new = tmp_path / "new.duckdb"
    shutil.copy(old, new)
    with duckdb.connect(str(new)) as con:
        con.execute("update fct_daily_usage set total_cost_usd = total_cost_usd * 10")
    current = {"path": old}
    state = tmp_path / "state.sqlite"
    con = connect_state(state)
    token = create_token(con, team="search", is_admin=False)
    con.close()
    app = create_app(lambda: current["path"], state, hold_open=True)
    with TestClient(app) as client:
        # by hand (contract_warehouse): search spent 1.50 in the week ending 2026-11-20
        assert _cost(client, token) == 1.50
        assert _cost(client, token) == 1.50  # cached
        current["path"] = new  # the CURRENT pointer names a new build
        assert _cost(client, token) == 15.0
        # a file replaced in place (os.replace) is a new snapshot too
        replacement = tmp_path / "replacement.duckdb"
        shutil.copy(old, replacement)
        os.replace(replacement, new)
        assert _cost(client, token) == 1.50


def test_a_revoked_token_fails_at_once(tmp_path):
    warehouse = small_warehouse(tmp_path / "w.duckdb")
    state = tmp_path / "state.sqlite"
    con = connect_state(state)
    token = create_token(con, team="search", is_admin=False)
    con.close()
    with TestClient(create_app(warehouse, state)) as client:
        assert _cost(client, token) == 1.50
        from aiusage.api.tokens import revoke_token

        con = connect_state(state)
        assert revoke_token(con, token.split("_")[1])
        con.close()
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
