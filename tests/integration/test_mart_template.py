"""The template mart of docs/adding-a-mart.md (docs/mart_template/: the SQL file and its
YAML) is what the page shows, and it passes the project's lint and builds the first time:
copied into a scratch copy of the project, `make lint-dbt` (yamllint, dbt parse with the
contract enforced, dbt-score with the house rules, both sqlfluff passes over the template)
passes, and `dbt build` of the template (the view and its tests) over the sample
warehouse gives the weekly figures recomputed from the landing files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from aiusage.settings import staging_duckdb_path
from tests.conftest import PROJECT_DIR
from tests.support.reference import PriceBook, read_landing

TEMPLATE = PROJECT_DIR / "docs" / "mart_template"
SQL = "rpt_cost_by_workflow_week.sql"
YAML = "_rpt_cost_by_workflow_week.yml"
FOLDER = Path("models/marts/finance")
# What `make lint-dbt` and `dbt build` read: the dbt project, the lint configurations and
# the dbt-score rules (tests/lint, imported from the project root).
PROJECT_FILES = [
    "Makefile",
    "dbt_project.yml",
    "profiles.yml",
    "pyproject.toml",
    ".sqlfluff-macros",
    ".sqlfluffignore",
    ".yamllint",
    ".pre-commit-config.yaml",
    "models",
    "macros",
    "seeds",
    "tests/__init__.py",
    "tests/dbt",
    "tests/lint",
]


def _blocks(language: str) -> list[str]:
    page = (PROJECT_DIR / "docs" / "adding-a-mart.md").read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", page, flags=re.S | re.M)


def test_the_page_shows_the_template_files_as_they_are():
    assert (TEMPLATE / SQL).read_text(encoding="utf-8") in _blocks("sql")
    assert (TEMPLATE / YAML).read_text(encoding="utf-8") in _blocks("yaml")


def _scratch_project(root: Path) -> Path:
    project = root / "project"
    for name in PROJECT_FILES:
        source, target = PROJECT_DIR / name, project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    for name in (SQL, YAML):
        shutil.copy2(TEMPLATE / name, project / FOLDER / name)
    return project


@pytest.mark.slow
def test_the_template_passes_lint_and_builds_the_first_time(sample_warehouse, tmp_path):
    settings, _ = sample_warehouse
    project = _scratch_project(tmp_path)
    # the lint's own DuckDB file (LINT_ENV of the Makefile): a copy of the sample warehouse,
    # so the same parse serves the build below
    warehouse = project / "target" / "lint.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(settings.duckdb_path, warehouse)
    shutil.copyfile(settings.staging_duckdb_path, staging_duckdb_path(warehouse))
    venv = Path(sys.executable).parent.parent
    lint = subprocess.run(
        # -o install: the venv is this one, already installed (never reinstalled from here)
        ["make", "-o", "install", "lint-dbt", f"VENV={venv}", f"SQL_PATHS={FOLDER / SQL}"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, (lint.stdout + lint.stderr)[-4000:]
    assert "All Finished" in lint.stdout  # both sqlfluff passes ran to the end
    manifest = (project / "target" / "manifest.json").read_text(encoding="utf-8")
    assert '"model.aiusage.rpt_cost_by_workflow_week"' in manifest  # dbt-score read it

    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
        "DBT_PROFILES_DIR": ".",
        "AIUSAGE_DUCKDB_PATH": str(warehouse),
        "AIUSAGE_LANDING_DIR": str(settings.landing_dir),
    }
    build = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "-s", "rpt_cost_by_workflow_week"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout[-4000:]
    results = json.loads((project / "target" / "run_results.json").read_text(encoding="utf-8"))
    ran = sorted((r["unique_id"].split(".")[0], r["status"]) for r in results["results"])
    # the project's two on-run-start hooks, the view, its primary_key test and the two
    # not_null ones
    assert ran == [("model", "success")] + [("operation", "success")] * 2 + [("test", "pass")] * 3

    # the weekly figures, recomputed from the landing files (ISO weeks, UTC days)
    prices = PriceBook.load(PROJECT_DIR / "seeds")
    expected = defaultdict(lambda: [0, 0, Decimal(0)])
    for event in read_landing(settings.landing_dir).requests.values():
        day = event["occurred_at"].date()
        row = expected[(event["workflow"], day - timedelta(days=day.weekday()))]
        cost = prices.cost(event)
        row[0] += 1
        row[1] += cost is None
        row[2] += cost or 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """select workflow, week_start_date, requests, unpriced_requests, total_cost_usd
               from rpt_cost_by_workflow_week"""
        ).fetchall()
    assert {(w, d): [r, u, c] for w, d, r, u, c in rows} == dict(expected)
    assert len(expected) > 10
