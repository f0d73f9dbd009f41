"""rpt_model_substitution finds the substitutions the generator planted, and only those.

A dedicated data set (21 days x 3,000 events) is large enough for the quality guard to
separate the generator's substitutable pairs (true quality gap <= 0.02) from the others
(gap >= 0.15). The ground truth comes from orchestration/generate.py; which model is
cheaper per successful request is computed independently from the landing files and the
price seeds (tests/support/reference.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from aiusage.sample import (
    QUALITY_GROUND_TRUTH,
    QUALITY_TOLERANCE,
    SUBSTITUTION_GROUND_TRUTH,
    generate,
)
from tests.conftest import PROJECT_DIR
from tests.support.cli_env import dbt_command, dbt_env
from tests.support.reference import PriceBook, read_landing

pytestmark = pytest.mark.slow

DAYS = 21


@pytest.fixture(scope="module")
def substitution_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("substitution_warehouse")
    landing, duckdb_path = root / "landing", root / "warehouse.duckdb"
    generate(
        landing,
        days=DAYS,
        events_per_day=3000,
        seed=11,
        end_date=date(2026, 11, 20),
        progress=False,
    )
    env = dbt_env(root, PROJECT_DIR, AIUSAGE_DUCKDB_PATH=str(duckdb_path))
    # Seeds and models only (the data tests run in the other end-to-end tests), in a
    # subprocess so that no DuckDB connection stays open in this one.
    result = dbt_command(
        env,
        PROJECT_DIR,
        "build",
        "--quiet",
        "--select",
        "+rpt_model_substitution",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return landing, duckdb_path


@pytest.fixture(scope="module")
def cost_per_success(substitution_warehouse):
    """(workflow, model) -> (cost per successful request, successes), independently priced;
    None for a model with an unpriced request."""
    landing, _ = substitution_warehouse
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    totals = defaultdict(lambda: [Decimal(0), 0, False])
    for event in read_landing(landing).requests.values():
        key = (event["workflow"], prices.canonical(event["provider"], event["model"]))
        cost = prices.cost(event)
        totals[key][0] += cost or 0
        totals[key][1] += event["status"] == "success"
        totals[key][2] |= cost is None
    return {
        key: None if unpriced or not ok else (cost / ok, ok)
        for key, (cost, ok, unpriced) in totals.items()
    }


@pytest.fixture(scope="module")
def opportunities(substitution_warehouse):
    _, duckdb_path = substitution_warehouse
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        rows = con.execute(
            """select workflow, current_model, candidate_model, period_days,
                      current_successful_requests, estimated_monthly_savings_usd
               from rpt_model_substitution"""
        ).fetchall()
    return {(w, cur, cand): rest for w, cur, cand, *rest in rows}


def test_finds_every_cheaper_substitutable_pair_and_no_other(opportunities, cost_per_success):
    checked = 0
    for pair in SUBSTITUTION_GROUND_TRUTH:
        current = cost_per_success.get((pair.workflow, pair.expensive_model))
        candidate = cost_per_success.get((pair.workflow, pair.cheap_model))
        cheaper = bool(current and candidate and candidate[0] < current[0])
        found = (pair.workflow, pair.expensive_model, pair.cheap_model) in opportunities
        assert found == (pair.substitutable and cheaper), pair
        checked += found
    assert checked >= 12


def test_every_listed_pair_is_truly_within_tolerance(opportunities):
    assert opportunities
    for workflow, current, candidate in opportunities:
        truth = QUALITY_GROUND_TRUTH[workflow]
        assert truth[current] - truth[candidate] <= QUALITY_TOLERANCE + 1e-9


def test_monthly_savings_scale_the_window_to_30_days(opportunities, cost_per_success):
    for (workflow, current, candidate), row in opportunities.items():
        period_days, successes, savings = row
        assert period_days == DAYS
        cur_cost, cur_ok = cost_per_success[(workflow, current)]
        cand_cost, _ = cost_per_success[(workflow, candidate)]
        assert successes == cur_ok
        expected = (cur_cost - cand_cost) * cur_ok * 30 / DAYS
        assert float(savings) == pytest.approx(float(expected), rel=1e-9)
