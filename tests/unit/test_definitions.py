"""The Dagster code location loads and has the shape the docs describe."""

from __future__ import annotations

import dagster as dg


def test_definitions_load_with_assets_checks_and_schedule(monkeypatch):
    monkeypatch.setenv("AIUSAGE_SCHEDULE_TIMEZONE", "Europe/Paris")
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {
        "landing/events",
        "model_prices",
        "stg_events__usage_events",
        "fct_llm_requests",
        "fct_daily_usage",
        "rpt_cost_by_team",
    } <= keys

    check_names = {key.name for key in repo.asset_graph.asset_check_keys}
    assert {"model_prices_expectations", "landed_events_expectations"} <= check_names
    # dbt tests become asset checks too
    assert any(name.startswith("unique_fct_llm_requests") for name in check_names)

    schedule = defs.resolve_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Europe/Paris"
    assert defs.resolve_job_def("refresh_warehouse") is not None


def test_groups_and_owners_come_from_folders_and_meta():
    from orchestration.definitions import build_definitions

    repo = build_definitions().get_repository_def()
    specs = {
        spec.key.to_user_string(): spec
        for assets_def in repo.asset_graph.assets_defs
        for spec in assets_def.specs
    }
    assert specs["fct_llm_requests"].group_name == "marts_usage"
    assert specs["stg_events__usage_events"].group_name == "staging_events"
    assert specs["rpt_cost_by_team"].group_name == "marts_finance"
    assert specs["model_prices"].group_name == "seeds"
    assert specs["model_prices"].owners == ["team:finops"]
    assert specs["fct_llm_requests"].owners == ["team:data-platform"]


def test_price_check_is_blocking():
    from orchestration.checks.expectations import model_prices_expectations

    (spec,) = model_prices_expectations.check_specs
    assert spec.blocking
    assert spec.asset_key == dg.AssetKey(["model_prices"])


def test_dbt_is_found_without_the_venv_on_path(monkeypatch, tmp_path):
    """`dagster dev` may run the code server with a resolved interpreter and a PATH without
    the venv: the project's dbt must still be found (it is what every dbt step runs)."""
    import sys
    from pathlib import Path

    from orchestration.project import dbt_executable

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("AIUSAGE_DBT_EXECUTABLE", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    found = Path(dbt_executable())
    assert found.is_absolute() and found.exists() and found.name == "dbt"


def test_dbt_resource_skips_the_version_subprocess_and_the_in_process_adapter(monkeypatch):
    """The two dagster-dbt start-up costs WarehouseDbtCliResource overrides: the overridden
    private methods must still exist and still be called by DbtCliResource.cli()."""
    import inspect
    import subprocess
    from functools import cached_property
    from importlib.metadata import version

    from dagster_dbt import DbtCliResource
    from packaging.version import Version

    from orchestration.definitions import build_definitions

    assert isinstance(DbtCliResource.__dict__["_cli_version"], cached_property)
    assert "_initialize_dbt_core_adapter" in DbtCliResource.__dict__
    cli_source = inspect.getsource(DbtCliResource.cli)
    assert "self._initialize_dbt_core_adapter(" in cli_source
    assert "self._cli_version" in cli_source

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"unexpected subprocess {args}")

    monkeypatch.setattr(subprocess, "check_output", no_subprocess)
    resource = build_definitions().resources["dbt"]
    assert resource._cli_version == Version(version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None
