"""Property-based API tests generated from the app's own OpenAPI spec (schemathesis), in
process over the published sample warehouse, with a valid team token and a valid admin
token: no answer is a 5xx, every answer has a documented status code and content type and
matches the documented response schema."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from aiusage.api.app import create_app
from aiusage.api.tokens import create_token
from aiusage.delivery.state import connect_state
from aiusage.snapshot import published_duckdb_path

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The spec is read when the module loads; the warehouse and the token store are named by
# the `served` fixture (schemathesis' lazy fixture loader does not run on pytest 9).
SERVED: dict[str, Path] = {}
APP = create_app(
    lambda: SERVED["warehouse"],
    lambda: SERVED["state"],
    rate_limit_per_minute=1_000_000,
    hold_open=True,
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.fixture(scope="module")
def tokens(sample_warehouse, tmp_path_factory):
    settings_, _ = sample_warehouse
    SERVED["warehouse"] = published_duckdb_path(settings_)
    SERVED["state"] = tmp_path_factory.mktemp("schemathesis") / "state.sqlite"
    with duckdb.connect(str(SERVED["warehouse"]), read_only=True) as warehouse:
        (team,) = warehouse.execute(
            "select team from fct_daily_usage group by team order by sum(requests) desc limit 1"
        ).fetchone()
    con = connect_state(SERVED["state"])
    made = {
        "team_name": team,
        "team": create_token(con, team=team, is_admin=False),
        "admin": create_token(con, team=None, is_admin=True),
    }
    con.close()
    return made


def _call_and_check(case, token: str, team: str | None = None) -> None:
    # a generated team name is almost never a team with data: half of the cases ask for a
    # real team, so that answers full of rows are checked against the schema too
    generated = (case.path_parameters or {}).get("team")
    if team and generated is not None and len(str(generated)) % 2 == 0:
        case.path_parameters["team"] = team
    headers = {"Authorization": f"Bearer {token}"}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


@schema.parametrize()
@HYPOTHESIS
def test_api_honours_its_spec_with_a_team_token(case, tokens):
    _call_and_check(case, tokens["team"], tokens["team_name"])


@schema.parametrize()
@HYPOTHESIS
def test_api_honours_its_spec_with_an_admin_token(case, tokens):
    _call_and_check(case, tokens["admin"], tokens["team_name"])
