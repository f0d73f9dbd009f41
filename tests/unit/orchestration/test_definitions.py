"""The Dagster code location loads lazily from the settings and has the shape the docs
describe: one refresh job from landing to delivery, blocking checks, the dbt project of
AIUSAGE_PROJECT_DIR."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from aiusage.settings import Settings
from orchestration.definitions import build_definitions


@pytest.fixture(scope="module")
def defs():
    return build_definitions(Settings.from_env())


def _specs(defs):
    repo = defs.get_repository_def()
    return {
        spec.key.to_user_string(): spec
        for assets_def in repo.asset_graph.assets_defs
        for spec in assets_def.specs
    }


def test_the_code_location_loads_lazily():
    import orchestration.definitions as module

    # @dg.definitions: nothing is read when the module is imported; Dagster calls defs()
    assert callable(module.defs) and not isinstance(module.defs, dg.Definitions)
    assert isinstance(module.defs(), dg.Definitions)


def test_definitions_load_with_assets_checks_and_schedule(monkeypatch):
    monkeypatch.setenv("AIUSAGE_SCHEDULE_TIMEZONE", "Europe/Paris")
    defs = build_definitions(Settings.from_env())
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {
        "landing/events",
        "landing/openai_usage",
        "model_prices",
        "stg_events__usage_events",
        "fct_llm_requests",
        "fct_daily_usage",
        "rpt_cost_by_team",
        "published_warehouse",
        "alerts/usage_alerts",
        "reports/weekly_usage_report",
    } <= keys
    check_names = {key.name for key in repo.asset_graph.asset_check_keys}
    assert {
        "model_prices_expectations",
        "service_tier_multipliers_expectations",
        "fx_rates_expectations",
        "landed_events_expectations",
    } <= check_names
    # dbt tests become asset checks too
    assert any(name.startswith("unique_fct_llm_requests") for name in check_names)
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "Europe/Paris")
    assert schedule.job_name == "refresh_warehouse"
    tick = datetime(2026, 11, 23, 6, 0, tzinfo=ZoneInfo("Europe/Paris"))
    from orchestration.resources import WarehouseSettings

    context = dg.build_schedule_context(
        scheduled_execution_time=tick,
        resources={"warehouse": WarehouseSettings()},
        repository_def=defs.get_repository_def(),
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    # no refresh recorded its inputs in this test's (empty) published folder: a refresh
    assert request.tags["aiusage/plan"] == "refresh" and request.asset_selection is None


def test_every_staging_model_hangs_under_its_landing_asset(defs):
    graph = defs.get_repository_def().asset_graph
    staging = [k for k in graph.get_all_asset_keys() if k.path[-1].startswith("stg_")]
    assert len(staging) >= 5
    for key in staging:
        parents = {p.to_user_string() for p in graph.get(key).parent_keys}
        assert any(p.startswith("landing/") for p in parents), (key, parents)


def test_groups_and_owners_come_from_folders_and_meta(defs):
    specs = _specs(defs)
    assert specs["fct_llm_requests"].group_name.startswith("marts_")
    assert specs["stg_events__usage_events"].group_name == "staging_events"
    assert specs["rpt_cost_by_team"].group_name == "marts_finance"
    assert specs["model_prices"].group_name == "seeds"
    assert specs["model_prices"].owners == ["team:finops"]
    assert specs["fct_llm_requests"].owners == ["team:data-platform"]
    assert specs["landing/events"].group_name == "landing"


def test_one_refresh_job_runs_everything_in_one_dbt_invocation(defs):
    from orchestration.assets.dbt import mart_asset_keys

    job = defs.resolve_job_def("refresh_warehouse")
    steps = set(job.graph.node_dict)
    # one dbt build for the seeds and every model: no other dbt step, no subset steps
    assert {"warehouse_dbt", "seed_files", "landing_files"} <= steps
    assert {"published_warehouse", "alerts__usage_alerts", "reports__weekly_usage_report"} <= steps
    dbt_steps = {
        assets_def.node_def.name
        for assets_def in defs.get_repository_def().asset_graph.assets_defs
        if any("dagster_dbt/manifest" in spec.metadata for spec in assets_def.specs)
    }
    assert dbt_steps == {"warehouse_dbt"}
    repo = defs.get_repository_def()
    dbt_assets = [a for a in repo.asset_graph.assets_defs if a.node_def.name == "warehouse_dbt"]
    marts = {k.to_user_string() for k in mart_asset_keys(dbt_assets)}
    assert {
        "fct_llm_requests",
        "rpt_cost_by_team",
    } <= marts and "stg_events__usage_events" not in marts
    published = repo.asset_graph.get(dg.AssetKey("published_warehouse"))
    assert {k.to_user_string() for k in published.parent_keys} == marts
    for delivered in (["alerts", "usage_alerts"], ["reports", "weekly_usage_report"]):
        parents = repo.asset_graph.get(dg.AssetKey(delivered)).parent_keys
        assert parents == {dg.AssetKey("published_warehouse")}
    checks = {k.name for k in repo.asset_graph.asset_check_keys}
    assert any("freshness" in name for name in checks)
    assert {s.name for s in defs.sensors} == {
        "landing_files_sensor",
        "slack_on_run_failure",
        "marts_freshness_sensor",
    }
    assert [s.name for s in defs.schedules] == ["daily_refresh"]


def test_input_checks_are_blocking():
    from orchestration.checks.expectations import EXPECTATION_CHECKS

    assert len(EXPECTATION_CHECKS) == 4
    for check in EXPECTATION_CHECKS:
        (spec,) = check.check_specs
        assert spec.blocking, spec.name


def test_the_dbt_project_comes_from_the_settings(tmp_path, monkeypatch):
    """The project Dagster builds is the settings' (AIUSAGE_PROJECT_DIR, else the working
    directory), not the checkout the package was installed from. (A whole refresh of a
    copied project: tests/integration/test_orchestration.py.)"""
    from aiusage.project import manifest_path

    copy = tmp_path / "copy"
    (copy / "models").mkdir(parents=True)
    (copy / "dbt_project.yml").write_text("name: copy\n")
    monkeypatch.delenv("AIUSAGE_PROJECT_DIR")
    monkeypatch.chdir(copy / "models")
    settings = Settings.from_env()
    assert settings.project_dir == copy
    assert manifest_path(settings) == copy / "target" / "manifest.json"
    monkeypatch.setenv("AIUSAGE_PROJECT_DIR", str(tmp_path / "elsewhere"))
    assert Settings.from_env().project_dir == tmp_path / "elsewhere"


def test_dbt_is_found_without_the_venv_on_path(monkeypatch, tmp_path):
    """`dagster dev` may run the code server with a resolved interpreter and a PATH without
    the venv: the project's dbt must still be found (it is what every dbt step runs)."""
    import sys
    from pathlib import Path

    from aiusage.project import dbt_executable

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("AIUSAGE_DBT_EXECUTABLE", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    found = Path(dbt_executable(Settings.from_env()))
    assert found.is_absolute() and found.exists() and found.name == "dbt"


def test_dbt_resource_skips_the_version_subprocess_and_the_in_process_adapter(monkeypatch, defs):
    """The two dagster-dbt start-up costs WarehouseDbtCliResource overrides: the overridden
    private methods must still exist and still be called by DbtCliResource.cli()."""
    import inspect
    import subprocess
    from functools import cached_property
    from importlib.metadata import version

    from dagster_dbt import DbtCliResource
    from packaging.version import Version

    assert isinstance(DbtCliResource.__dict__["_cli_version"], cached_property)
    assert "_initialize_dbt_core_adapter" in DbtCliResource.__dict__
    cli_source = inspect.getsource(DbtCliResource.cli)
    assert "self._initialize_dbt_core_adapter(" in cli_source
    assert "self._cli_version" in cli_source

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"unexpected subprocess {args}")

    monkeypatch.setattr(subprocess, "check_output", no_subprocess)
    resource = defs.resources["dbt"]
    assert resource._cli_version == Version(version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_a_seed_refresh_selects_the_seed_its_downstream_publish_and_delivery(defs):
    from orchestration.schedules import seed_refresh_selection, selected_keys

    graph = defs.get_repository_def().asset_graph
    names = {
        "/".join(key.path)
        for key in selected_keys(seed_refresh_selection(("model_prices",)), graph)
    }
    assert {"model_prices", "int_usage_events_priced", "fct_llm_requests"} <= names
    assert {"published_warehouse", "alerts/usage_alerts", "reports/weekly_usage_report"} <= names
    assert "landing/events" in names  # records the run's inputs
    assert not {n for n in names if n.startswith("stg_")}
    assert "fx_rates" not in names and "fct_landed_rows" not in names
    # the seed's file and its blocking check, not those of the other seeds
    assert "seed_files/model_prices" in names
    assert not {n for n in names if n.startswith("seed_files/") and n != "seed_files/model_prices"}
    checks = {key.name for key in seed_refresh_selection(("model_prices",)).resolve_checks(graph)}
    assert "model_prices_expectations" in checks
    assert not checks & {"fx_rates_expectations", "service_tier_multipliers_expectations"}


def test_a_refresh_with_the_seeds_unchanged_selects_no_seed_file_seed_or_seed_check(defs):
    from aiusage.changes import RefreshInputs, RefreshPlan
    from orchestration.schedules import selection_for

    graph = defs.get_repository_def().asset_graph
    selection = selection_for(RefreshPlan(RefreshInputs(), changed=("landing",)))
    names = {key.to_user_string() for key in selection.resolve(graph)}
    assert {"landing/events", "fct_llm_requests", "published_warehouse"} <= names
    seeds = {key.to_user_string() for key in graph.get_all_asset_keys()}
    seeds = {n for n in seeds if graph.get(dg.AssetKey.from_user_string(n)).group_name == "seeds"}
    assert {"model_prices", "seed_files/model_prices", "seed_files/budgets"} <= seeds
    assert not names & seeds
    checks = {key.name for key in selection.resolve_checks(graph)}
    assert "landed_events_expectations" in checks
    assert not {name for name in checks if name.endswith("_expectations")} - {
        "landed_events_expectations"
    }


def test_a_refresh_of_landed_files_alone_skips_the_models_no_changed_source_feeds(defs):
    """Only landed files changed: the staging of the other sources and the marts of seeds
    alone (dim_models) are what the last build made; they and their tests are not run. What
    a changed source feeds is, down to publish and the alerts."""
    from aiusage.changes import RefreshInputs, RefreshPlan
    from orchestration.schedules import selection_for

    graph = defs.get_repository_def().asset_graph

    def selected(*sources, changed=("landing",)):
        plan = RefreshPlan(RefreshInputs(), changed=changed, changed_sources=sources)
        selection = selection_for(plan)
        names = {key.to_user_string() for key in selection.resolve(graph)}
        return names, {key.name for key in selection.resolve_checks(graph)}

    names, checks = selected("events")
    assert {"landing/events", "stg_events__usage_events", "fct_llm_requests"} <= names
    assert {"fct_landed_rows", "fct_daily_usage", "rpt_alerts", "published_warehouse"} <= names
    skipped = {
        "stg_litellm__spend_logs",
        "stg_openai__usage_results",
        "stg_outcomes__task_outcomes",
        "dim_models",
    }
    assert not names & skipped
    assert "unique_fct_llm_requests_request_key" in checks
    assert not {c for c in checks if "stg_litellm" in c or "dim_models" in c}

    names, _ = selected("litellm_spend_logs")
    assert {"stg_litellm__spend_logs", "fct_llm_requests"} <= names
    assert "stg_events__usage_events" not in names

    # a setting changed too, or the sources are not known: every table and incremental model
    for names, _ in (selected("events", changed=("landing", "settings")), selected()):
        assert skipped <= names


def test_every_dbt_seed_hangs_under_its_file_which_the_price_checks_guard(defs):
    """The price expectations block the seed files, upstream of the dbt seeds: a broken
    price seed stops the refresh before the one dbt invocation starts."""
    import json

    from tests.conftest import PROJECT_DIR

    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    seeds = {
        node["name"]: node["original_file_path"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "seed"
    }
    assert {"model_prices", "fx_rates", "service_tier_multipliers", "model_aliases"} <= set(seeds)
    graph = defs.get_repository_def().asset_graph
    specs = _specs(defs)
    for seed, path in seeds.items():
        assert graph.get(dg.AssetKey(seed)).parent_keys == {dg.AssetKey(["seed_files", seed])}
        file_spec = specs[f"seed_files/{seed}"]
        assert file_spec.group_name == "seeds" and path in file_spec.description
        assert file_spec.owners == specs[seed].owners
    assert specs["seed_files/model_prices"].owners == ["team:finops"]
    blocking = {
        key.asset_key.to_user_string(): key.name
        for key in graph.asset_check_keys
        if graph.get_check_spec(key).blocking and key.name.endswith("_expectations")
    }
    assert blocking == {
        "seed_files/model_prices": "model_prices_expectations",
        "seed_files/service_tier_multipliers": "service_tier_multipliers_expectations",
        "seed_files/fx_rates": "fx_rates_expectations",
        "landing/events": "landed_events_expectations",
    }


def test_asset_and_check_descriptions_read_as_documentation(defs):
    """Every asset carries its dbt description (no "Raw SQL" dump of dagster-dbt's default)
    and every check says what it guards, whatever kind of dbt test it comes from."""
    import json

    from tests.conftest import PROJECT_DIR

    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    described = {
        node["name"]: " ".join(node["description"].split())
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
    }
    repo = defs.get_repository_def()
    checks = {}
    for assets_def in repo.asset_graph.assets_defs:
        for spec in assets_def.specs:
            assert spec.description, spec.key
            assert "Raw SQL" not in spec.description and "{{" not in spec.description
            name = spec.key.to_user_string()  # a dbt model or seed (not seed_files/<seed>)
            if name in described:
                assert spec.description == described[name]
        for check in assets_def.check_specs:
            checks[(check.asset_key.to_user_string(), check.name)] = check.description
    assert len(checks) > 80 and all(checks.values())
    # a key's unique and not-null tests in one (macros/tests/primary_key.sql)
    assert checks[
        (
            "stg_events__usage_events",
            next(
                n
                for a, n in checks
                if a == "stg_events__usage_events" and n.startswith("primary_key_")
            ),
        )
    ] == (
        "Guards that stg_events__usage_events.landed_row_key identifies one row: never null, "
        "no value appears twice."
    )
    # a seed's not_null tests in one (macros/tests/not_null_columns.sql)
    assert [d for (a, n), d in checks.items() if a == "budgets" and "not_null" in n] == [
        "Guards that budgets.{scope, scope_id, monthly_limit_usd} are never null."
    ]
    assert checks[("fct_llm_requests", "unique_fct_llm_requests_request_key")] == (
        "Guards that fct_llm_requests.request_key identifies one row: no value appears twice."
    )
    # a singular test: the comment it starts with (tests/dbt/.../assert_token_arithmetic_holds)
    assert checks[("fct_llm_requests", "assert_token_arithmetic_holds")].startswith(
        "Cached tokens are part of the prompt"
    )
    accepted = [d for (_, n), d in checks.items() if n.startswith("accepted_values_")]
    assert accepted and all(" only takes the values " in d for d in accepted)


def test_a_refresh_runs_dbt_through_the_warm_server_unless_a_dbt_is_configured(monkeypatch):
    """The dbt resource runs aiusage-dbt (aiusage.dbtserver), which falls back to the real
    dbt; AIUSAGE_DBT_EXECUTABLE names a dbt that runs as it is."""
    import sys
    from pathlib import Path

    from orchestration.definitions import build_definitions

    monkeypatch.delenv("AIUSAGE_DBT_EXECUTABLE", raising=False)
    resource = build_definitions(Settings.from_env()).resources["dbt"]
    assert resource.dbt_executable == str(Path(sys.executable).with_name("aiusage-dbt"))
    real = str(Path(sys.executable).with_name("dbt"))
    monkeypatch.setenv("AIUSAGE_DBT_EXECUTABLE", real)
    assert build_definitions(Settings.from_env()).resources["dbt"].dbt_executable == real


_DUMP_DEFINITIONS = """
import json, sys
if sys.argv[1] == "dbt-first":
    import dbt.version  # dagster-dbt then imports dbt-core, as it does in a process that has it
from aiusage.settings import Settings
from orchestration.definitions import build_definitions
import dagster_dbt.compat as compat

graph = build_definitions(Settings.from_env()).get_repository_def().asset_graph
assets = {}
for assets_def in graph.assets_defs:
    for spec in assets_def.specs:
        assets[spec.key.to_user_string()] = {
            "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
            "group": spec.group_name,
            "tags": dict(spec.tags),
            "owners": list(spec.owners),
            "kinds": sorted(spec.kinds),
        }
checks = {
    f"{key.asset_key.to_user_string()}:{key.name}": graph.get_check_spec(key).blocking
    for key in graph.asset_check_keys
}
print(json.dumps({
    "assets": assets,
    "checks": checks,
    "dbt_core_imported": "dbt" in sys.modules,
    "dagster_dbt_dbt_version": str(compat.DBT_PYTHON_VERSION),
}))
"""


def test_dagster_dbt_imports_without_dbt_core_and_builds_the_same_definitions():
    """The refresh process imports dagster-dbt without dbt-core (orchestration/__init__.py:
    1.0-1.3 s of CPU at the start of every refresh). Its assets, their dependencies,
    groups, tags and owners, and the dbt tests' checks are the same as when dagster-dbt
    imports dbt-core, and dbt is not imported by loading the definitions."""
    import json
    import subprocess
    import sys

    def dump(mode: str) -> dict:
        completed = subprocess.run(
            [sys.executable, "-c", _DUMP_DEFINITIONS, mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(completed.stdout.strip().splitlines()[-1])

    without, with_dbt = dump("refresh-process"), dump("dbt-first")
    assert without["dbt_core_imported"] is False
    assert without["dagster_dbt_dbt_version"] == "None"
    assert with_dbt["dbt_core_imported"] is True
    assert with_dbt["dagster_dbt_dbt_version"] != "None"
    assert without["assets"] == with_dbt["assets"]
    assert without["checks"] == with_dbt["checks"]
    # every model, seed and dbt test of the project is there, not a subset
    assert len(without["assets"]) > 70 and len(without["checks"]) > 80
    tests = [name for name in without["checks"] if not name.endswith("_expectations")]
    assert any(name.startswith("fct_llm_requests:") for name in tests)
