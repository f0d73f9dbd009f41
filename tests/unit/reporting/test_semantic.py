"""The semantic layer compiler: the project's metric definitions to SQL, and the errors for
what it does not compile (MetricFlow's job)."""

from __future__ import annotations

import duckdb
import pytest

from aiusage.reporting.semantic import SemanticError, load_semantic_layer
from tests.conftest import PROJECT_DIR


@pytest.fixture(scope="module")
def layer():
    return load_semantic_layer(PROJECT_DIR / "target" / "semantic_manifest.json")


def test_a_ratio_divides_the_sums_of_its_metrics(layer):
    sql = layer.expression("cost_per_request")
    assert sql == (
        "cast(sum((total_cost_usd)) as double) / "
        "nullif(cast(sum((requests - unpriced_requests)) as double), 0)"
    )


def test_compiled_metrics_run_on_a_table_of_the_semantic_model(layer, tmp_path):
    with duckdb.connect() as con:
        con.execute(
            """create table fct_daily_usage as select * from (values
                ('a', 10, 2, 1.0, 'u1'), ('a', 10, 0, 2.0, '(unattributed)'),
                ('b', 5, 5, null, 'u2')
            ) as t(team, requests, unpriced_requests, total_cost_usd, user_id)"""
        )
        metrics = {"cost": "cost_per_request", "users": "active_users", "n": "requests"}
        sql = layer.select(metrics, ["team"], "true", order_by="team", nonzero="total_cost")
        rows = con.execute(sql).fetchall()
    # team a: 3.0 over 18 priced requests; the unattributed placeholder is not a user;
    # team b (no cost at all) is left out by nonzero
    assert rows == [("a", pytest.approx(3.0 / 18), 1, 20)]


def test_what_it_does_not_compile_is_named(layer):
    with pytest.raises(SemanticError, match="no metric 'nope'"):
        layer.expression("nope")
    with pytest.raises(SemanticError, match="query it with MetricFlow"):
        layer.expression("p95_latency_ms")
    with pytest.raises(SemanticError, match="has no dimension"):
        layer.select(["requests"], ["status; drop table x"])
    with pytest.raises(SemanticError, match="span semantic models"):
        layer.select(["requests", "p95_latency_ms"])
