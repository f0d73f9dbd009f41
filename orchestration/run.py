"""A refresh run in this process: the job `refresh_warehouse` of the code location, as the
schedule, the sensor and the Dagster UI run it. `aiusage build` and the tests call this, so a
command-line refresh and a scheduled one are one code path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg

from aiusage.errors import explain_refresh_failure
from aiusage.project import ensure_manifest
from aiusage.refresh import RefreshOptions
from aiusage.settings import Settings
from orchestration.assets.delivery import ALERTS, WEEKLY_REPORT
from orchestration.schedules import REFRESH_JOB, selected_keys


def run_refresh(
    settings: Settings,
    options: RefreshOptions | None = None,
    log_level: str | None = None,
    selection: dg.AssetSelection | None = None,
) -> dg.ExecuteInProcessResult:
    """Run refresh_warehouse in-process and return Dagster's result (never raises on a failed
    step). `options` sets a backfill range or a full refresh, as the launchpad does through
    the warehouse resource's run config; `log_level` the console log level (default DEBUG,
    Dagster's); `selection` a subset of the job's assets (a refresh of changed seeds: see
    orchestration.schedules.refresh_request)."""
    from orchestration.definitions import build_definitions, refresh_dbt_executable

    settings.apply_to_environ()
    # parsed with this run's vars and paths, so that dbt parses partially, and by the dbt of
    # the refresh: in the warm dbt server `aiusage build` started, when one runs (a project
    # changed since the last parse: 6.1-6.5 s in a cold dbt, 1.6-2.0 s served)
    ensure_manifest(settings, dbt=refresh_dbt_executable(settings))
    defs = build_definitions(settings)
    job = defs.resolve_job_def(REFRESH_JOB)
    keys = None if selection is None else selected_keys(selection, defs.resolve_asset_graph())
    run_config: dict = {}
    config = (options or RefreshOptions()).as_config()
    if config:
        run_config["resources"] = {"warehouse": {"config": config}}
    if log_level:
        run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    with refresh_instance() as instance:
        return job.execute_in_process(
            run_config=run_config, raise_on_error=False, asset_selection=keys, instance=instance
        )


class _ReusedConnection:
    """For an in-memory SQLite storage of Dagster: the thread that created the storage (the
    run's, which stores its events) keeps one connection for the storage's life instead of
    opening a new one, and setting its two pragmas, on every call. Another thread, or a call
    within a call, gets a connection of its own, as before (SQLite's connections belong to
    the thread that opened them)."""

    def _setup_reused_connection(self) -> None:
        self._owner_thread = threading.get_ident()
        self._reused = None

    @contextmanager
    def _connection(self) -> Iterator:
        if threading.get_ident() != self._owner_thread or (
            self._reused is not None and self._reused.in_transaction()
        ):
            with self._engine.connect() as conn, conn.begin():
                yield conn
            return
        if self._reused is None:
            self._reused = self._engine.connect()
        with self._reused.begin():
            yield self._reused

    def _close_reused_connection(self) -> None:
        if self._reused is not None and threading.get_ident() == self._owner_thread:
            self._reused.close()
            self._reused = None


def warm_up() -> None:
    """Import, in a process that forks refreshes (`aiusage refresh-server`), what a refresh
    imports on first use rather than at import time: the storages of its instance (Dagster's
    SQL storage with SQLAlchemy and Alembic, its daemon modules with structlog and rich), by
    creating and disposing one instance, and the `UPath` of the run's default IO manager for
    a local folder (with fsspec, which reads every installed package's entry points). Each
    served refresh paid these imports: ~0.6 s of its process before its run started
    (docs/performance.md, thirty-sixth round)."""
    import upath

    with refresh_instance():
        pass
    upath.UPath(".")  # a lazy attribute (its first access imports upath.core), then a local path


def refresh_instance() -> dg.DagsterInstance:
    """The ephemeral instance of a refresh run in this process: what `execute_in_process`
    creates when given none (run and event storage in in-memory SQLite databases), except
    that both storages keep their connection (_ReusedConnection) and the event storage
    remembers which
    of its tables exist. Dagster's open a connection and set two pragmas on every call, that
    is for every event of the run (each dbt model's materialisation, each check's planned
    and done evaluation, each step's events: 455 in a new day of the 1M bench), and ask
    SQLite for a table on every check evaluation: storing those events took 1.54-1.82 s of
    the refresh process, 0.95-1.06 s with these storages (docs/performance.md,
    twenty-fourth round). The pragmas change nothing there: an in-memory database keeps its
    journal in memory, and SQLite ignores foreign_keys inside the transaction Dagster sets
    it in. The scheduled runs of `make dagster` keep the instance of DAGSTER_HOME."""
    from dagster._core.instance import DagsterInstance, InstanceType
    from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
    from dagster._core.run_coordinator import DefaultRunCoordinator
    from dagster._core.storage.event_log import InMemoryEventLogStorage
    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
    from dagster._core.storage.root import TemporaryLocalArtifactStorage
    from dagster._core.storage.runs import InMemoryRunStorage

    class EventLogStorage(_ReusedConnection, InMemoryEventLogStorage):
        def __init__(self):
            super().__init__()
            self._setup_reused_connection()
            self._tables: dict[str, bool] = {}

        @contextmanager
        def _connect(self):
            with self._db_lock, self._connection() as conn:
                yield conn

        def has_table(self, table_name: str) -> bool:
            # the tables are created with the storage and never dropped
            if table_name not in self._tables:
                self._tables[table_name] = super().has_table(table_name)
            return self._tables[table_name]

        def dispose(self) -> None:
            self._close_reused_connection()
            super().dispose()

    class RunStorage(_ReusedConnection, InMemoryRunStorage):
        def __init__(self):
            super().__init__()
            self._setup_reused_connection()

        def connect(self):
            return self._connection()

        def dispose(self) -> None:
            self._close_reused_connection()
            super().dispose()

    return DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=RunStorage(),
        event_storage=EventLogStorage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """One message per failed step or failed check, in the order they happened."""
    messages = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            text = error.message.strip() if error else "unknown error"
            messages.append(f"step {event.step_key} failed: {text}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            if not data.passed:
                key = data.asset_key.to_user_string()
                description = data.description or ""
                messages.append(f"check {data.check_name} on {key} failed. {description}".strip())
    return messages


def _metadata(result: dg.ExecuteInProcessResult, key: dg.AssetKey, field: str) -> str | None:
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key == key and field in materialization.metadata:
            return str(materialization.metadata[field].value)
    return None


@dataclass(frozen=True)
class RefreshOutcome:
    success: bool
    failure: str | None  # one line naming what failed and the fix
    alerts: str | None  # what the alert delivery did
    weekly_report: str | None  # what the weekly report delivery did


def outcome(result: dg.ExecuteInProcessResult, settings: Settings) -> RefreshOutcome:
    messages = failure_messages(result)
    if result.success and not messages:
        return RefreshOutcome(
            True,
            None,
            _metadata(result, ALERTS, "summary"),
            _metadata(result, WEEKLY_REPORT, "delivery"),
        )
    return RefreshOutcome(
        False, explain_refresh_failure(messages or ["the run failed"], settings), None, None
    )
