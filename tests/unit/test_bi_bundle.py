"""The Superset bundle of `make bi` (bi/bundle/) is what bi/generate_bundle.py writes from
the marts' contracts and the semantic layer: a changed mart or metric cannot leave the
dashboard's datasets behind."""

from __future__ import annotations

import importlib.util

import yaml

from tests.conftest import PROJECT_DIR


def _generator():
    spec = importlib.util.spec_from_file_location(
        "generate_bundle", PROJECT_DIR / "bi" / "generate_bundle.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_bundle_is_the_generated_one(tmp_path):
    _generator().main(tmp_path)
    committed = PROJECT_DIR / "bi" / "bundle"
    names = sorted(p.relative_to(committed) for p in committed.rglob("*.yaml"))
    assert names == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.yaml"))
    for name in names:
        assert (tmp_path / name).read_text() == (committed / name).read_text(), name


def test_dataset_metrics_are_the_semantic_layers():
    """Hand-checked against models/semantic/_semantic__models.yml."""
    dataset = yaml.safe_load(
        (PROJECT_DIR / "bi/bundle/datasets/aiusage_published/fct_daily_usage.yaml").read_text()
    )
    metrics = {m["metric_name"]: m["expression"] for m in dataset["metrics"]}
    assert metrics["total_cost"] == "SUM(total_cost_usd)"
    assert metrics["active_users"] == (
        "COUNT(DISTINCT case when user_id != '(unattributed)' then user_id end)"
    )
    assert metrics["error_rate"] == (
        "CAST(SUM(requests - successful_requests) AS DOUBLE) / NULLIF(SUM(requests), 0)"
    )
    columns = {c["column_name"] for c in dataset["columns"]}
    assert {
        "usage_date",
        "team",
        "workflow",
        "feature",
        "model",
        "service_tier",
        "total_cost_usd",
    } <= columns
    database = yaml.safe_load(
        (PROJECT_DIR / "bi/bundle/databases/aiusage_published.yaml").read_text()
    )
    assert database["allow_dml"] is False
    assert database["extra"]["engine_params"]["connect_args"] == {"read_only": True}
