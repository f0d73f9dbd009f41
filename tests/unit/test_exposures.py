"""The dbt exposures say what each consumer really reads: every SQL statement the report, the
API, the dashboard and the alert delivery run on a warehouse of the marts' contracts is
recorded, and the relations it names are compared with the exposure's depends_on. Every
mart is in at least one exposure; bi_tools holds exactly what no application reads."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.conftest import PROJECT_DIR
from tests.support.contract_warehouse import contracts, small_warehouse

WEEK = (date(2026, 11, 14), date(2026, 11, 20))
APPLICATIONS = ("usage_report", "team_api", "usage_dashboard", "alert_delivery")


class _Recording:
    """A DuckDB connection (or cursor) that records the SQL it runs."""

    def __init__(self, real, log: list[str]):
        self._real, self._log = real, log

    def execute(self, sql, *args, **kwargs):
        self._log.append(sql)
        return self._real.execute(sql, *args, **kwargs)

    def cursor(self):
        return _Recording(self._real.cursor(), self._log)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def record(monkeypatch):
    """{consumer: [sql]} of what each block of a test ran."""
    logs: dict[str, list[str]] = {}
    current: list[list[str]] = [[]]
    real_connect = duckdb.connect

    def connect(*args, **kwargs):
        return _Recording(real_connect(*args, **kwargs), current[0])

    monkeypatch.setattr(duckdb, "connect", connect)

    def start(name: str) -> None:
        current[0] = logs.setdefault(name, [])

    return start, logs


def _relations(statements: list[str], names: set[str]) -> set[str]:
    text = "\n".join(statements)
    return {name for name in names if re.search(rf"\b{re.escape(name)}\b", text)}


def _exposures() -> dict[str, set[str]]:
    import json

    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    return {
        e["name"]: {node.split(".")[-1] for node in e["depends_on"]["nodes"]}
        for e in manifest["exposures"].values()
    }


@pytest.fixture
def warehouse(tmp_path):
    path = small_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(path)) as con:  # the seed the report converts currencies with
        con.execute(
            f"create table fx_rates as select * from read_csv('{PROJECT_DIR}/seeds/fx_rates.csv')"
        )
    return path


def test_each_application_exposure_lists_what_its_code_reads(record, warehouse, tmp_path):
    from aiusage.api.app import create_app
    from aiusage.api.tokens import create_token
    from aiusage.cli import main
    from aiusage.delivery.alerts import read_alerts
    from aiusage.delivery.state import connect_state
    from aiusage.reporting.build import build_report
    from aiusage.reporting.period import ReportWindow

    start, logs = record
    window = ReportWindow(*WEEK)
    start("usage_report")
    for filters in ({}, {"team": "search"}, {"client": "acme"}, {"user": "u1"}):
        build_report(warehouse, window, filters)
    build_report(warehouse, window, currency="EUR")

    start("team_api")
    state = tmp_path / "state.sqlite"
    con = connect_state(state)
    tokens = [
        create_token(con, team=None, is_admin=True),
        create_token(con, team="search", is_admin=False),
    ]
    con.close()
    routes = ["/api/v1/teams/search/usage", "/api/v1/report", "/api/v1/models", "/api/v1/dashboard",
              "/api/v1/budgets", "/api/v1/alerts", "/api/v1/substitutions", "/api/v1/savings",
              "/api/v1/cost-drivers", "/api/v1/runaway-sessions"]  # fmt: skip
    with TestClient(create_app(warehouse, state)) as client:
        for token in tokens:
            for route in routes:
                answer = client.get(route, params={"end_date": str(WEEK[1])},
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                assert answer.status_code == 200, (route, answer.text)

    start("usage_dashboard")
    for args in ([], ["--team", "search"]):
        result = CliRunner().invoke(
            main,
            ["dashboard", "--output", str(tmp_path / "d.html"), "--end-date", str(WEEK[1]), *args],
            env={"AIUSAGE_DUCKDB_PATH": str(warehouse), "AIUSAGE_PUBLISHED_DIR": str(tmp_path)},
        )
        assert result.exit_code == 0, result.output

    start("alert_delivery")
    read_alerts(warehouse)

    relations = set(contracts()) | {"fx_rates"}
    exposures = _exposures()
    for name in APPLICATIONS:
        assert _relations(logs[name], relations) == exposures[name], name


def test_every_mart_has_a_reader_and_bi_tools_holds_the_rest():
    exposures = _exposures()
    marts = set(contracts())
    read_by_applications = set().union(*(exposures[name] for name in APPLICATIONS))
    assert exposures["bi_tools"] == marts - read_by_applications
    assert set().union(*exposures.values()) >= marts


def test_the_roll_ups_only_bi_reads_are_views(tmp_path):
    """A roll-up of fct_daily_usage that no application reads is a view: no second stored
    copy of figures the daily mart already holds."""
    import json

    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    bi_only = _exposures()["bi_tools"]
    for name in bi_only:
        node = models[name]
        parents = {p.split(".")[-1] for p in node["depends_on"]["nodes"]}
        roll_up = name.startswith("rpt_") and "fct_daily_usage" in parents
        if roll_up:
            assert node["config"]["materialized"] == "view", name
