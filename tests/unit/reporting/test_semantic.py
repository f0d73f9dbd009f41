"""The semantic layer compiler: the project's metric definitions to SQL, and the errors for
what it does not compile (MetricFlow's job)."""

from __future__ import annotations

import duckdb
import pytest

from aiusage.reporting.semantic import SemanticError, SemanticLayer, load_semantic_layer
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
    with pytest.raises(SemanticError, match="is derived, not simple"):
        SemanticLayer(layer.models, {"d": {"name": "d", "type": "derived"}}).expression("d")
    with pytest.raises(SemanticError, match="has no dimension"):
        layer.select(["requests"], ["status; drop table x"])
    with pytest.raises(SemanticError, match="span semantic models"):
        layer.select(["requests", "p95_latency_ms"])


def test_percentiles_compile_with_the_metric_filter(layer):
    """p95_latency_ms (models/semantic): a continuous percentile over the successful
    requests of interactive tiers, the filter applied to the aggregate."""
    assert layer.expression("p95_latency_ms") == (
        "quantile_cont((latency_ms), 0.95) filter (where (status = 'success' and "
        "service_tier not in ('batch', 'flex')))"
    )
    assert layer.expression("p50_latency_by_tier_ms") == (
        "quantile_cont((latency_ms), 0.5) filter (where (status = 'success'))"
    )


def test_a_filter_on_another_models_dimension_is_an_error(layer):
    metric = {**layer.metrics["p95_latency_ms"]}
    metric["filter"] = {"where_filters": [{"where_sql_template": "{{ Dimension('x__nope') }} = 1"}]}
    bad = SemanticLayer(layer.models, {**layer.metrics, "p95_latency_ms": metric})
    with pytest.raises(SemanticError, match="'nope', not a dimension of llm_requests"):
        bad.expression("p95_latency_ms")
