"""The instance of an in-process refresh (orchestration.run.refresh_instance): Dagster's
ephemeral instance whose in-memory storages keep their connection. A small real job runs on
it and on Dagster's own ephemeral instance: the same events are stored and read back, while
the event storage opens a connection once instead of once for every event. And the refresh
server's warm-up (orchestration.run.warm_up): a run in a process warmed as the server warms
itself imports none of what a run imports on first use."""

from __future__ import annotations

import subprocess
import sys
import threading

import dagster as dg

from orchestration.run import refresh_instance


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers(context):
    context.log.info("counting")
    yield dg.Output([1, 2, 3])
    yield dg.AssetCheckResult(passed=True, check_name="positive")


@dg.asset
def total(numbers):
    return sum(numbers)


JOB = dg.Definitions(assets=[numbers, total], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")


def _run(instance: dg.DagsterInstance) -> tuple[list, int, int]:
    """Event types stored for one run of JOB, in order, materialisations read back, and how
    many connections the event storage opened meanwhile."""
    storage = instance.event_log_storage
    opened = []
    connect = storage._engine.connect
    storage._engine.connect = lambda *a, **k: opened.append(1) or connect(*a, **k)
    result = JOB.execute_in_process(instance=instance)
    storage._engine.connect = connect
    assert result.success
    types = [
        record.dagster_event.event_type_value
        for record in instance.all_logs(result.run_id)
        if record.dagster_event is not None
    ]
    materialised = instance.fetch_materializations(dg.AssetKey("total"), limit=10).records
    return types, len(materialised), len(opened)


def test_the_refresh_instance_stores_what_dagsters_own_does_on_one_connection():
    with dg.DagsterInstance.ephemeral() as plain:
        plain_types, plain_materialised, plain_opened = _run(plain)
    with refresh_instance() as instance:
        types, materialised, opened = _run(instance)
    assert types == plain_types
    assert "ASSET_MATERIALIZATION" in types and "ASSET_CHECK_EVALUATION" in types
    assert materialised == plain_materialised == 1
    assert plain_opened >= len(plain_types)  # Dagster's: one connection per call at least
    # the reused one, and one for each table whose existence was asked (once per table)
    assert opened <= 1 + len(instance.event_log_storage._tables) <= 4


def test_another_thread_and_a_nested_call_get_connections_of_their_own():
    with refresh_instance() as instance:
        storage = instance.event_log_storage
        with storage._connect() as first:
            pass
        with storage._connect() as again:
            assert again is first
        seen = []

        def other():
            with storage._connect() as conn:
                seen.append(conn)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert seen and seen[0] is not first
        runs = instance.run_storage
        with runs.connect() as outer, runs.connect() as inner:
            assert inner is not outer  # a call within a call, as Dagster's storage allows


# What a refresh imported on first use, in the refresh server's forks before warm_up: the
# instance's storages (Dagster's SQL storage, its daemon modules, and what they import) and the
# default IO manager's UPath.
FIRST_USE_PACKAGES = ("alembic", "sqlalchemy", "structlog", "rich", "pygments", "upath", "fsspec")
RUN_IN_A_WARMED_PROCESS = """
import sys
import dagster as dg
import orchestration.run
{warm}
before = set(sys.modules)

@dg.asset
def numbers():
    return [1, 2, 3]

job = dg.Definitions(assets=[numbers], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
with orchestration.run.refresh_instance() as instance:
    assert job.execute_in_process(instance=instance).success
print("\\n".join(sorted(set(sys.modules) - before)))
"""


def _imported_by_a_run(warm: str) -> list[str]:
    script = RUN_IN_A_WARMED_PROCESS.format(warm=warm)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    return [
        name
        for name in done.stdout.split()
        if name.split(".")[0] in FIRST_USE_PACKAGES
        or name.startswith(("dagster._core.storage.", "dagster._daemon"))
    ]


def test_a_warmed_process_imports_nothing_for_a_run_on_a_refresh_instance():
    """The refresh server's warm-up (orchestration.run.warm_up among the rest) leaves a run on
    a refresh instance nothing of those packages to import."""
    unwarmed = _imported_by_a_run("")
    assert "dagster._core.storage.event_log.in_memory" in unwarmed
    assert "upath.core" in unwarmed and "alembic" in unwarmed  # what the test would catch
    # warmed as the refresh server warms itself before it forks refreshes
    warm = "from aiusage.cli.refreshserver import warm_up\nwarm_up()"
    assert _imported_by_a_run(warm) == []
