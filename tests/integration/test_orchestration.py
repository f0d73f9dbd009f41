"""The Dagster job end to end: blocking checks, backfill, publish, `aiusage validate`."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tests.support.seeds import read_rows, write_rows

pytestmark = pytest.mark.slow

MARTS = ["fct_llm_requests", "fct_daily_usage", "fct_rejected_events", "rpt_cost_by_team"]


def _checksums(path, tables=MARTS, parquet_dir=None):
    with duckdb.connect(str(path) if parquet_dir is None else ":memory:", read_only=False) as con:
        out = {}
        for table in tables:
            source = (
                table if parquet_dir is None else f"read_parquet('{parquet_dir / table}.parquet')"
            )
            out[table] = con.execute(f"select count(*), sum(hash(t)) from {source} as t").fetchone()
        return out


def _dbt_invocations(result, settings) -> list[Path]:
    """The target folders of the dbt invocations of a run (dagster-dbt makes one per
    invocation: <step>-<run id>-<uuid>), and the dbt step's starts must match them."""

    folders = sorted(settings.target_dir.glob(f"*-{result.run_id[:7]}-*"))
    starts = [
        e.step_key
        for e in result.all_events
        if e.event_type_value == "STEP_START" and e.step_key.startswith("warehouse_dbt")
    ]
    assert len(starts) == len(folders), (starts, folders)
    return folders


def test_overlapping_price_window_stops_the_refresh_before_dbt_and_names_the_rows(
    sample_copy, tmp_path, monkeypatch
):
    """A price seed with two open windows for one model, in a whole refresh and in a refresh
    of that seed alone: the blocking check on the seed file fails, dbt never starts (no seed
    loaded: the warehouse's model_prices is the one it held, no model built), nothing is
    published, and the message names the rows."""
    from aiusage.settings import Settings
    from aiusage.snapshot import current_build_id
    from orchestration.run import outcome, run_refresh
    from orchestration.schedules import seed_refresh_selection
    from tests.support.project import copy_project

    project = copy_project(tmp_path / "project")
    prices = project / "seeds" / "model_prices.csv"
    rows = read_rows(prices)
    victim = next(
        r
        for r in rows
        if (r["provider"], r["model"]) == ("openai", "gpt-4o-mini") and not r["valid_to"]
    )
    overlapping = {**victim, "valid_from": "2025-01-01 00:00:00", "input_usd_per_mtok": "0.20"}
    write_rows(prices, [*rows, overlapping], list(rows[0]))
    for key, value in sample_copy.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIUSAGE_PROJECT_DIR", str(project))
    settings = Settings.from_env()
    build = current_build_id(settings)
    seeds_and_marts = ["model_prices", "fx_rates", *MARTS]
    before = _checksums(settings.duckdb_path, seeds_and_marts)

    for selection in (None, seed_refresh_selection(("model_prices",))):
        result = run_refresh(settings, selection=selection)

        assert not result.success
        message = outcome(result, settings).failure
        assert "check model_prices_expectations on seed_files/model_prices failed" in message
        # both rows of the overlap, as written in the seed
        assert "(openai, gpt-4o-mini, 2024-07-18" in message
        assert "(openai, gpt-4o-mini, 2025-01-01" in message
        built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert "seed_files/model_prices" in built
        assert not built & {*seeds_and_marts, "stg_events__usage_events", "published_warehouse"}
        assert _dbt_invocations(result, settings) == []
        assert _checksums(settings.duckdb_path, seeds_and_marts) == before
        assert current_build_id(settings) == build


def test_a_full_refresh_runs_one_dbt_invocation_of_the_seeds_models_and_tests(
    sample_warehouse, sample_copy, monkeypatch
):
    """The whole job (a full refresh here) builds every seed and model and runs the dbt
    tests in a single `dbt build`, and rebuilds the marts the sample's first build made."""
    import json

    from aiusage.project import manifest_path
    from aiusage.refresh import RefreshOptions
    from aiusage.settings import Settings
    from orchestration.run import outcome, run_refresh

    for key, value in sample_copy.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env()
    before = _checksums(settings.duckdb_path)

    # as `aiusage build` does: the refresh's checks handed to the GX worker in advance
    from aiusage.changes import plan
    from aiusage.quality import worker
    from orchestration.checks.expectations import prefetch_checks

    options = RefreshOptions(full_refresh=True)
    prefetch_checks(settings, options, plan(settings, options))
    assert len(worker._PREFETCHED) == 4  # the landed batch and the three price seeds
    result = run_refresh(settings, options)

    assert result.success, outcome(result, settings).failure
    assert worker._PREFETCHED == []  # each check took its prefetched call: the same call
    (invocation,) = _dbt_invocations(result, settings)
    assert invocation.name.startswith("warehouse_dbt-")
    ran = {
        r["unique_id"]: r["status"]
        for r in json.loads((invocation / "run_results.json").read_text())["results"]
    }
    manifest = json.loads(manifest_path(settings).read_text())
    project = manifest["metadata"]["project_name"]
    nodes = {
        uid: node["resource_type"]
        for uid, node in manifest["nodes"].items()
        if node["package_name"] == project and node["resource_type"] in ("seed", "model", "test")
    }
    expected = {uid for uid, kind in nodes.items() if kind in ("seed", "model")}
    assert {"seed.aiusage.model_prices", "model.aiusage.fct_llm_requests"} <= expected
    assert expected <= set(ran)
    assert any(nodes.get(uid) == "test" for uid in ran)
    assert set(ran.values()) <= {"success", "pass", "warn", "no-op"}, ran  # no-op: ephemeral
    assert _checksums(settings.duckdb_path) == before


def test_backfill_with_no_new_data_changes_no_mart_and_republishes_the_same_marts(
    sample_warehouse, sample_copy, monkeypatch
):
    """A backfill from the first landing day (older than the look-back) on unchanged landing
    files re-reads the range, changes no mart, and publishes a snapshot whose Parquet marts
    are byte-identical to the previous snapshot's."""
    from aiusage.refresh import RefreshOptions
    from aiusage.settings import Settings
    from aiusage.snapshot import current_build_id, published_duckdb_path
    from orchestration.run import outcome, run_refresh

    _, summary = sample_warehouse
    for key, value in sample_copy.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env()
    first_build = current_build_id(settings)
    assert first_build is not None
    before = _checksums(settings.duckdb_path)
    start = summary.start_date

    result = run_refresh(settings, RefreshOptions(backfill_start=start, backfill_end=start))

    assert result.success, outcome(result, settings).failure
    assert _checksums(settings.duckdb_path) == before
    second_build = current_build_id(settings)
    assert second_build != first_build
    published = published_duckdb_path(settings)
    assert published.parent.name == second_build
    assert _checksums(published) == before
    old_marts = settings.published_dir / first_build / "marts"
    new_marts = settings.published_dir / second_build / "marts"
    for mart in MARTS:
        # one file per mart, or one per landing day for the marts holding the history
        old_files = sorted(p.relative_to(old_marts) for p in old_marts.glob(f"{mart}*/**/*"))
        old_files = old_files or [Path(f"{mart}.parquet")]
        new_files = sorted(p.relative_to(new_marts) for p in new_marts.glob(f"{mart}*/**/*"))
        assert old_files == (new_files or [Path(f"{mart}.parquet")]), mart
        for name in old_files:
            assert (old_marts / name).read_bytes() == (new_marts / name).read_bytes(), name
    # dbt re-read the landing days from the backfill start: the cutoff it compiled
    target = settings.target_dir
    (compiled,) = target.glob(
        f"warehouse_dbt-{result.run_id[:7]}-*/compiled/**/fct_llm_requests.sql"
    )
    assert f"least(date '{start}'" in compiled.read_text(encoding="utf-8")
    # ... and the checks covered every row from that day on
    evaluations = {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    landed = evaluations["landed_events_expectations"]
    assert landed.passed and landed.metadata["first_landing_day"].value == str(start)
    # a backfill validates the whole range again, not only new files
    assert landed.metadata["already_validated"].value == 0
    assert landed.metadata["files"].value == len(list(settings.landing_dir.glob("events/*/*")))


def test_validate_runs_every_suite_and_builds_data_docs(sample_warehouse, tmp_path):
    from aiusage.cli import main

    settings, _ = sample_warehouse
    env = {**settings.environ(), "AIUSAGE_GX_DOCS_DIR": str(tmp_path / "docs")}

    outcome = CliRunner().invoke(main, ["validate"], env=env)

    assert outcome.exit_code == 0, outcome.output
    for suite in ["model_prices", "service_tier_multipliers", "fx_rates", "usage_events"]:
        assert f"PASSED Suite {suite}:" in outcome.output
    index = tmp_path / "docs" / "index.html"
    assert index.exists()
    assert "fx_rates" in index.read_text(encoding="utf-8")


def test_a_refresh_parses_a_changed_project_in_the_warm_dbt_server(
    sample_copy, tmp_path, monkeypatch
):
    """As `aiusage build` runs it (the dbt server started first): a model changed since the
    last parse is parsed by the refresh's dbt, in the warm server (dbt's imports already
    done), before the refresh's `dbt build`; the manifest the refresh reads and the model it
    builds have the change."""
    import json

    from aiusage import dbtserver
    from aiusage.project import manifest_path
    from aiusage.settings import Settings
    from orchestration.run import outcome, run_refresh
    from orchestration.schedules import seed_refresh_selection
    from tests.support.project import copy_project

    project = copy_project(tmp_path / "project")
    model = project / "models" / "marts" / "monitoring" / "rpt_alerts.sql"
    marker = "-- changed after the last parse"
    model.write_text(model.read_text() + f"\n{marker}\n")
    for key, value in sample_copy.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIUSAGE_PROJECT_DIR", str(project))
    settings = Settings.from_env()
    dbtserver.start()
    before = len(dbtserver.served_commands())

    # a refresh of one seed and the models that read it, the changed rpt_alerts among them
    result = run_refresh(settings, selection=seed_refresh_selection(("alert_thresholds",)))

    assert result.success, outcome(result, settings).failure
    served = [line.split()[1:4] for line in dbtserver.served_commands()[before:]]
    assert served == [["dbt", "parse", "exit=0"], ["dbt", "build", "exit=0"]], served
    manifest = json.loads(manifest_path(settings).read_text())
    assert marker in manifest["nodes"]["model.aiusage.rpt_alerts"]["raw_code"]
    compiled = next(settings.target_dir.glob("warehouse_dbt-*/compiled/**/rpt_alerts.sql"))
    assert marker in compiled.read_text()
