"""The house rule that every model's key is tested (tests/lint/dbt_score_rules.py), on small
manifests: a view may name the unique test downstream that covers its key
(`key_tested_by`), which must exist; anything else needs a test of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dbt_score.models import ManifestLoader

from tests.lint.dbt_score_rules import primary_key_tested


def _model(name: str, materialized: str, parents=(), columns=None) -> dict:
    return {
        "unique_id": f"model.p.{name}",
        "resource_type": "model",
        "name": name,
        "package_name": "p",
        "original_file_path": f"models/intermediate/x/{name}.sql",
        "description": "",
        "config": {"materialized": materialized},
        "meta": {},
        "columns": {
            column: {
                "name": column,
                "description": "",
                "data_type": None,
                "meta": meta,
                "constraints": [],
                "tags": [],
            }
            for column, meta in (columns or {}).items()
        },
        "database": "d",
        "schema": "main",
        "raw_code": "",
        "language": "sql",
        "access": "protected",
        "alias": name,
        "tags": [],
        "depends_on": {"nodes": [f"model.p.{parent}" for parent in parents], "macros": []},
        "constraints": [],
    }


def _test(kind: str, model: str, column: str) -> dict:
    return {
        "unique_id": f"test.p.{kind}_{model}_{column}",
        "resource_type": "test",
        "name": f"{kind}_{model}_{column}",
        "package_name": "p",
        "attached_node": f"model.p.{model}",
        "column_name": column,
        "test_metadata": {"name": kind, "kwargs": {"column_name": column}},
        "config": {"severity": "ERROR"},
        "tags": [],
        "depends_on": {"nodes": [f"model.p.{model}"]},
    }


def _verdicts(tmp_path: Path, nodes: list[dict]) -> dict[str, str | None]:
    manifest = {"metadata": {"project_name": "p"}, "nodes": {n["unique_id"]: n for n in nodes}}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    loader = ManifestLoader(path)
    rule = primary_key_tested()
    verdicts = {}
    for model in loader.models.values():
        violation = rule.evaluate(model)
        verdicts[model.name] = violation.message if violation else None
    return verdicts


def _chain(meta: dict, materialized: str = "view", fact_tests=("unique", "not_null")) -> list[dict]:
    """int_rows_unioned (its key's meta) -> int_rows_priced -> fct_rows (tested key)."""
    return [
        _model("int_rows_unioned", materialized, columns={"row_key": meta}),
        _model("int_rows_priced", "view", ["int_rows_unioned"], {"row_key": {}}),
        _model("fct_rows", "incremental", ["int_rows_priced"], {"row_key": {}, "other": {}}),
        _model("int_elsewhere", "table", [], {"row_key": {}}),
        *(_test(kind, "fct_rows", "row_key") for kind in fact_tests),
        _test("primary_key", "int_rows_priced", "row_key"),
        _test("primary_key", "int_elsewhere", "row_key"),
    ]


def test_a_view_may_name_the_unique_test_downstream_that_covers_its_key(tmp_path):
    verdicts = _verdicts(tmp_path, _chain({"key_tested_by": "fct_rows.row_key"}))
    assert verdicts["int_rows_unioned"] is None
    assert verdicts["int_rows_priced"] is None  # its own primary_key test
    assert verdicts["fct_rows"] is None  # unique and not_null
    assert verdicts["int_elsewhere"] is None


@pytest.mark.parametrize(
    ("meta", "materialized", "fact_tests", "message"),
    [
        ({}, "view", ("unique",), "No column is tested unique and not null."),
        ({"key_tested_by": "fct_rows.other"}, "view", ("unique",), "key_tested_by fct_rows.other"),
        ({"key_tested_by": "int_elsewhere.row_key"}, "view", ("unique",), "key_tested_by int_"),
        ({"key_tested_by": "fct_rows.row_key"}, "view", ("not_null",), "key_tested_by fct_rows"),
        ({"key_tested_by": "fct_rows.row_key"}, "table", ("unique",), "No column is tested"),
    ],
)
def test_a_key_tested_nowhere_is_a_violation(tmp_path, meta, materialized, fact_tests, message):
    """No declaration; a column of the model downstream without a unique test; a tested
    model that is not downstream; a not_null test only; a table (it stores its rows: its
    own test reads them once)."""
    verdicts = _verdicts(tmp_path, _chain(meta, materialized, fact_tests))
    assert verdicts["int_rows_unioned"] is not None
    assert verdicts["int_rows_unioned"].startswith(message)
