"""What a dbt command served by the warm server (aiusage.dbtserver) does not redo: work
whose result dbt throws away or recomputes identically in every command.

A `dbt build` of the warehouse on 100 events spends most of its time in Python, one node
after another under the GIL (docs/performance.md, "Issue 16, seventh round"). These parts
of it produce nothing a command keeps:

* **Events nobody receives.** dbt fires ~4,000 events in a build of the warehouse, most of
  them debug events of each query (SQLQuery, ConnectionUsed, SQLQueryStatus, CacheAction),
  and builds each one's protobuf message when it creates the event. Then it builds the
  full line of every event for every logger (protobuf to dict, JSON, a scan of the
  environment for secrets) and only then lets Python's logging drop it by level: those
  debug events were built three times and written nowhere. Here an event's message is
  built when something reads it, a logger first checks the level its line would be sent
  at, and an event that no logger and no callback would receive is dropped unread.
* **Jinja compilation.** dbt compiles the Jinja source of every node and of its macros
  into Python code in every command (`Environment.compile`; ~0.9 s of a full build). The
  code depends only on the source, the template's name and file name and the kind of
  environment, so it is kept on disk beside dbt's own partial-parse file (the file
  AIUSAGE_DBT_CODE_CACHE names, `<target>/aiusage_jinja_code.marshal` in the warehouse's
  settings; without it a command keeps its compiled code in memory), keyed by all of them
  plus the versions of Python, Jinja and dbt-common, and reused by the next command.
* **Each context's macros copied name by name.** Every context dbt renders with (two per
  node: compilation, then the materialization; ~390 in a build of the warehouse) copies its
  ~790 macros into the context dict through `MacroNamespace`'s Mapping interface: a set of
  every name, then a search of five dicts for each name (0.33 ms a context, alone). Here
  the five dicts are copied whole, from the last one the search visits to the first, so
  each name ends with the value the search finds (0.01 ms). The contexts are equal to
  dbt's (tests/unit/test_dbtwork.py compares them).
* **A type tester for every result.** dbt makes an agate table of every statement's
  result: an empty one for each statement that fetches nothing (~670 in a full build),
  whose default type tester builds agate's Date and DateTime types and each of those its
  parsedatetime locale tables (0.24 ms), and a new tester for the text columns of every
  result it fetches (0.37 ms). A served command shares one tester per set of text columns
  and one for the empty tables (0.002-0.014 ms a table); a tester only reads its types.
* **Garbage collection passes over the manifest.** Python's default thresholds run a
  collection every 700 new objects; a dbt command creates millions (the manifest, a
  context per node), so the collector walked the same live manifest again and again
  (~0.9 s of a full build). A served command collects less often: every 50,000 objects.
* **The manifest written twice, on the critical path.** A `build` (any command that runs
  the graph) writes manifest.json and semantic_manifest.json once after parsing, before
  its first node, and again, with the compiled nodes, after its last node, before it
  exits: 0.3 s and 0.5 s of every refresh. The first file is overwritten by the second.
  A served command keeps the first write until the command ends (when the command wrote
  no second one: `parse`, `ls`, a run that stopped early, it is written then, before the
  command returns), and the second is written by a forked copy of the command after it
  returns, each file to a temporary name and renamed, so a reader sees the old file or
  the new one. The writer holds a lock (ARTIFACTS_LOCK_ENV) that the next served command
  waits for before it starts, and the server's owner at its exit: no command reads or
  writes a target folder while the previous manifest is still being written. With
  DBT_UPLOAD_TO_ARTIFACTS_INGEST_API set (dbt Cloud uploads the files at the command's
  end) both are written as dbt writes them.

* **Nodes started by their depth.** dbt's queue gives a thread the ready node of the
  lowest depth in the graph (its generation from the roots), whatever waits on it. A mart
  that heads a long chain (`rpt_session_costs`, 1-2 s on the 10M bench when it was a table,
  then `rpt_alerts`)
  was started after every cheap mart of its depth and ended the run alone on one thread.
  dbt also takes every node off its queue as soon as it is ready and hands it to its
  thread pool, which runs what it was handed first in, first out, so a test that a long
  chain waits on queued behind the marts readied before it. In a served command the queue
  hands out a node only when a thread is free (each node marked done frees one), and then
  the ready node with the longest chain of work after it (critical path first). A node's
  work is its seconds in the last served command that ran it (the file
  AIUSAGE_DBT_NODE_SECONDS names, `<target>/aiusage_node_seconds.json` in the warehouse's
  settings, updated when a command writes run_results.json); a node not timed yet counts
  0.1 s as a model, 0.03 s as a test, 0.01 s otherwise. The same nodes run,
  each after what it depends on; only the order of ready nodes changes.

Each change leaves what dbt prints, writes and builds as the `dbt` executable gives it
(tests/unit/test_dbtwork.py compares the two); the `dbt` executable run by hand is
untouched. `install()` patches dbt in the server before it forks; `start_command()` and
`end_command()` frame each command.
"""

from __future__ import annotations

import fcntl
import functools
import gc
import json
import marshal
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import CodeType

from aiusage.jinjacode import install_code_cache
from aiusage.settings import DBT_CODE_CACHE_ENV, DBT_NODE_SECONDS_ENV, process_environment

# A lock file the writer of a command's manifest holds (set by the server, beside its
# socket): the next served command waits for it (aiusage.dbtserver).
ARTIFACTS_LOCK_ENV = "AIUSAGE_DBT_ARTIFACTS_LOCK"
# The scheduling priority of the manifest writer (_fork_manifest_writer): well below the
# refresh's, not the lowest (a writer at 19 could wait minutes on cores busy with other
# work, and the next served command waits for it).
WRITER_NICENESS = 10
MAX_CACHED = 20_000  # entries kept on disk; past it only the last command's are kept
GC_THRESHOLDS = (50_000, 20, 100)

_installed = False
_cache: dict[str, CodeType] = {}
_used: set[str] = set()
_loaded_count = 0
_cache_path: Path | None = None


def install() -> None:
    """Patch dbt's event manager and Jinja's compile in this process (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    _install_lazy_event_messages()
    _install_log_levels_first()
    _install_jinja_code_cache()
    _install_manifest_writes()
    _install_direct_macro_namespaces()
    _install_critical_path_order()
    _install_shared_type_testers()


# --- events ----------------------------------------------------------------------------


def _install_lazy_event_messages() -> None:
    """An event's protobuf message is built when something reads the event, not when it is
    created: a debug event nobody receives (fire_event_if_received) is never built."""
    from dbt_common.events.base_types import BaseEvent

    build = BaseEvent.__init__
    set_field = BaseEvent.__setattr__

    def build_now(event) -> None:
        pending = event.__dict__.pop("_pending", None)
        if pending is not None:
            build(event, *pending[0], **pending[1])

    def init_later(self, *args, **kwargs) -> None:
        self.__dict__["_pending"] = (args, kwargs)

    def getattr_built(self, key):
        # called when normal lookup fails: the message is not built yet, or a field of it
        if key == "_pending":
            raise AttributeError(key)
        build_now(self)
        if "pb_msg" not in self.__dict__:
            raise AttributeError(key)
        message = self.__dict__["pb_msg"]
        return message if key == "pb_msg" else getattr(message, key)

    def setattr_built(self, key, value) -> None:
        if key != "pb_msg":
            build_now(self)
        set_field(self, key, value)

    BaseEvent.__init__ = init_later
    BaseEvent.__getattr__ = getattr_built
    BaseEvent.__setattr__ = setattr_built


def _install_log_levels_first() -> None:
    # dbt's own callback, added to every command: it reads behaviour-change warnings only
    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.logger import PRINT_EVENT_NAMES, _log_level_map

    add_logger = EventManager.add_logger
    fire_event = EventManager.fire_event

    def python_level(name: str, level: str) -> int:
        # what _Logger.write_line sends the line at: print events go out as errors
        return 40 if name in PRINT_EVENT_NAMES else _log_level_map[EventLevel(level)]

    def add_logger_checking_level(self, config) -> None:
        add_logger(self, config)
        logger = self.loggers[-1]
        python_logger = logger._python_logger
        if python_logger is None:
            return
        accepts = logger.filter

        def level_then_filter(msg) -> bool:
            level = python_level(msg.info.name, msg.info.level)
            return python_logger.isEnabledFor(level) and accepts(msg)

        logger.filter = level_then_filter

    def received(manager: EventManager, name: str, level: str) -> bool:
        if any(callback is not track_behavior_change_warn for callback in manager.callbacks):
            return True
        level_number = python_level(name, level)
        return any(
            logger._python_logger is None or logger._python_logger.isEnabledFor(level_number)
            for logger in manager.loggers
        )

    def fire_event_if_received(
        self, e, level=None, node=None, force_warn_or_error_handling=False
    ) -> None:
        tag = level or e.level_tag()
        if (
            not force_warn_or_error_handling
            and tag in (EventLevel.DEBUG, EventLevel.TEST)
            and not received(self, type(e).__name__, tag)
        ):
            return
        fire_event(self, e, level, node, force_warn_or_error_handling)

    EventManager.add_logger = add_logger_checking_level
    EventManager.fire_event = fire_event_if_received


# --- macro namespaces ------------------------------------------------------------------


def _install_direct_macro_namespaces() -> None:
    """A context's macro namespace copied into it dict by dict (ManifestContext.to_dict),
    instead of name by name through MacroNamespace's Mapping interface."""
    from dbt.context.macros import MacroNamespace
    from dbt.context.manifest import ManifestContext

    copy_by_name = ManifestContext.to_dict

    def to_dict(self):
        namespace = self.namespace
        if type(namespace) is not MacroNamespace:  # a test's namespace (TestMacroNamespace)
            return copy_by_name(self)
        context = super(ManifestContext, self).to_dict()
        # MacroNamespace.__getitem__ returns a name's value from the first dict of its
        # search order that has it: copied from the last to the first, the first wins
        for part in reversed(list(namespace._search_order())):  # noqa: SLF001
            context.update(part)
        return context

    ManifestContext.to_dict = to_dict


# --- agate's type testers ---------------------------------------------------------------


def _install_shared_type_testers() -> None:
    """The agate tables dbt makes of its statements' results type their columns with
    testers shared by every table of the same text columns, instead of a new tester for
    each. dbt makes an empty table for every statement that fetches nothing
    (`agate.Table(rows=[])`, whose default tester is built anew) and a tester for the text
    columns of every result it fetches (`build_type_tester`); each new tester builds agate's
    Date and DateTime types, and each of those its parsedatetime locale tables. A tester
    only reads its types and the forced columns when it runs, so a shared one types a
    table as a new one would."""
    import agate
    from dbt_common.clients import agate_helper

    build = agate_helper.build_type_tester
    default = agate.TypeTester()

    @functools.lru_cache(maxsize=256)
    def shared(text_columns: frozenset, string_null_values: tuple | None):
        return build(text_columns, string_null_values=string_null_values)

    def build_type_tester(text_columns, string_null_values=("null", "")):
        nulls = None if string_null_values is None else tuple(string_null_values)
        return shared(frozenset(text_columns), nulls)

    def empty_table():
        return agate.Table(rows=[], column_types=default)

    agate_helper.build_type_tester = build_type_tester
    agate_helper.empty_table = empty_table


# --- the order of ready nodes ----------------------------------------------------------

# Estimated seconds of a node not timed yet, by its resource type (the prefix of its
# unique id). Measured per node in the eighteenth round of issue 16 (docs/performance.md):
# ~74 ms a model, ~28 ms a test.
NODE_SECONDS = {"model": 0.1, "test": 0.03}
OTHER_NODE_SECONDS = 0.01

_node_seconds: dict[str, float] = {}  # unique id: seconds in the last command that ran it
_node_seconds_path: Path | None = None


def chain_seconds(graph, seconds: Mapping[str, float] | None = None) -> dict[str, float]:
    """Each node's seconds plus the longest chain of seconds that waits on it in `graph` (a
    networkx DiGraph of unique ids, edges from a node to what depends on it). A node's
    seconds: `seconds` (default: the last served commands' times), else NODE_SECONDS by
    its type."""
    import networkx as nx

    seconds = _node_seconds if seconds is None else seconds
    chains: dict[str, float] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        own = seconds.get(node)
        if own is None:
            own = NODE_SECONDS.get(node.split(".", 1)[0], OTHER_NODE_SECONDS)
        chains[node] = own + max((chains[after] for after in graph.successors(node)), default=0.0)
    return chains


def _install_critical_path_order() -> None:
    """GraphQueue's scores (lower runs first): minus each node's chain_seconds; and each
    node's seconds recorded when the command writes run_results.json."""
    from dbt.artifacts.schemas.run import RunExecutionResult
    from dbt.graph.queue import GraphQueue

    def scores(self, graph) -> dict[str, float]:
        return {node: -seconds for node, seconds in chain_seconds(graph).items()}

    write_results = RunExecutionResult.write

    def write_and_record(self, path: str) -> None:
        write_results(self, path)
        _record_node_seconds(self.results)

    GraphQueue._get_scores = scores  # noqa: SLF001
    RunExecutionResult.write = write_and_record
    _install_one_node_per_free_thread()


def _install_one_node_per_free_thread() -> None:
    """GraphQueue.get waits for a free thread (a count of the task's threads that each
    mark_done gives back) before it takes the best ready node; run_queue sets the count."""
    from dbt.graph.queue import GraphQueue
    from dbt.task.runnable import GraphRunnableTask

    take, mark_done, run_queue = GraphQueue.get, GraphQueue.mark_done, GraphRunnableTask.run_queue

    def get_when_a_thread_is_free(self, block: bool = True, timeout: float | None = None):
        free = self.__dict__.get("free_threads")
        if free is None:  # a queue no task runs (dbt ls, a test)
            return take(self, block, timeout)
        if not free.acquire(block, timeout):
            raise queue.Empty
        try:
            return take(self, block, timeout)
        except BaseException:
            free.release()
            raise

    def mark_done_freeing_a_thread(self, node_id) -> None:
        try:
            mark_done(self, node_id)
        finally:
            if (free := self.__dict__.get("free_threads")) is not None:
                free.release()

    def run_queue_one_node_per_thread(self, pool) -> None:
        limit_to_threads(self.job_queue, self.config.threads)
        run_queue(self, pool)

    GraphQueue.get = get_when_a_thread_is_free
    GraphQueue.mark_done = mark_done_freeing_a_thread
    GraphRunnableTask.run_queue = run_queue_one_node_per_thread


def limit_to_threads(graph_queue, threads: int) -> None:
    """From now on `graph_queue` (a dbt GraphQueue) hands out a node only while fewer than
    `threads` of those it handed out are not marked done."""
    graph_queue.free_threads = threading.Semaphore(max(1, threads))


def _load_node_seconds(environment: Mapping[str, str]) -> None:
    global _node_seconds_path
    _node_seconds.clear()
    configured = environment.get(DBT_NODE_SECONDS_ENV)
    _node_seconds_path = Path(configured) if configured else None
    if _node_seconds_path is None or not _node_seconds_path.is_file():
        return
    try:
        loaded = json.loads(_node_seconds_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # unreadable: rewritten by this command
    if isinstance(loaded, dict):
        _node_seconds.update(
            (node, float(value))
            for node, value in loaded.items()
            if isinstance(value, int | float) and value >= 0
        )


def _record_node_seconds(results) -> None:
    """The seconds of each node this command ran, merged into the file (_replace_file)."""
    timed = {
        result.node.unique_id: round(result.execution_time, 3)
        for result in results
        if result.execution_time
    }
    if _node_seconds_path is None or not timed or not _node_seconds_path.parent.is_dir():
        return
    _node_seconds.update(timed)
    _replace_file(_node_seconds_path, json.dumps(dict(sorted(_node_seconds.items()))).encode())


def _replace_file(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path` and rename it over `path`: a reader,
    or a concurrent command writing the same file, sees one whole file. A failed write
    leaves the old file."""
    handle, temporary = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


# --- the manifest ----------------------------------------------------------------------

_held_manifest: tuple | None = None  # the parse's write, kept until the command ends
_write_manifest_now = None  # dbt's write_manifest


def _install_manifest_writes() -> None:
    import dbt.parser.manifest as parser_manifest
    import dbt.task.runnable as runnable

    global _write_manifest_now
    _write_manifest_now = parser_manifest.write_manifest

    def hold(manifest, target_path: str, which=None) -> None:
        global _held_manifest
        if _uploading():
            _write_manifest_now(manifest, target_path, which)
            return
        _held_manifest = (manifest, target_path, which)

    def write_after_return(manifest, target_path: str, which=None) -> None:
        global _held_manifest
        _held_manifest = None
        lock = process_environment().get(ARTIFACTS_LOCK_ENV)
        if _uploading() or not lock:
            _write_manifest_now(manifest, target_path, which)
            return
        _fork_manifest_writer(manifest, target_path, lock)

    parser_manifest.write_manifest = hold  # the write after parsing
    runnable.write_manifest = write_after_return  # the write after the last node


def _uploading() -> bool:
    flag = process_environment().get("DBT_UPLOAD_TO_ARTIFACTS_INGEST_API", "")
    return flag.lower() in ("1", "true")


def _lock(path: str) -> int:
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def wait_for_artifacts(path: str | None = None) -> None:
    """Wait until the manifest of the previous served command is written."""
    path = path or process_environment().get(ARTIFACTS_LOCK_ENV)
    if path and Path(path).exists():
        os.close(_lock(path))


def _fork_manifest_writer(manifest, target_path: str, lock_path: str) -> None:
    """Write manifest.json and semantic_manifest.json in a forked copy of this process,
    which holds the lock until both are renamed into place. The events of the write are
    fired here, as dbt fires them."""
    from dbt.contracts.graph.semantic_manifest import SemanticManifest
    from dbt.events.types import ArtifactWritten
    from dbt.utils.artifact_upload import add_artifact_produced
    from dbt_common.events.functions import fire_event

    paths = {
        name: os.path.join(target_path, name)
        for name in ("manifest.json", "semantic_manifest.json")
    }
    lock = _lock(lock_path)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork():
        os.close(lock)  # the writer holds it
        fire_event(
            ArtifactWritten(artifact_type="WritableManifest", artifact_path=paths["manifest.json"])
        )
        for path in paths.values():
            add_artifact_produced(path)
        return
    code = 1
    try:  # the writer: no output, no exit handlers, nothing flushed or closed twice
        # Behind the refresh for the cores: the write (1.9 s of CPU on a slow machine)
        # runs beside the refresh's own work after dbt (DuckDB's checkpoint as the command
        # closes the database, then publish), which nothing waits on it for; the next
        # served command waits for the lock, by which time the cores are free.
        os.nice(WRITER_NICENESS)
        null = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(null, descriptor)
        os.makedirs(target_path, exist_ok=True)
        writes = {
            "manifest.json": manifest.writable_manifest().write,
            "semantic_manifest.json": SemanticManifest(manifest).write_json_to_file,
        }
        for name, write in writes.items():
            temporary = f"{paths[name]}.{os.getpid()}.tmp"
            write(temporary)
            os.replace(temporary, paths[name])
        code = 0
    finally:
        os._exit(code)


def _write_held_manifest() -> None:
    """At a command's end: the parse's manifest, when the command wrote no later one."""
    global _held_manifest
    held, _held_manifest = _held_manifest, None
    if held is not None:
        _write_manifest_now(*held)


# --- Jinja code ------------------------------------------------------------------------


def _versions() -> str:
    """What compiled code depends on besides its key: marshal's format and the bytecode
    (Python), the code generator (Jinja) and dbt's environment classes (dbt-common)."""
    from importlib.metadata import version

    python = ".".join(map(str, sys.version_info[:3]))
    return f"python={python} jinja2={version('jinja2')} dbt-common={version('dbt-common')}"


def _install_jinja_code_cache() -> None:
    from dbt_common.clients import jinja as dbt_jinja

    # dbt's macro debugging compiles with its own debug information: never from the cache
    install_code_cache(_cache, _used, bypass=lambda: dbt_jinja.MACRO_DEBUGGING)


def start_command(environment: Mapping[str, str]) -> None:
    """Before a served command (its environment): its GC thresholds, each node's seconds
    in earlier commands (from the file DBT_NODE_SECONDS_ENV names), and the compiled Jinja
    of earlier commands (from the file DBT_CODE_CACHE_ENV names; none: this command's
    cache stays in memory)."""
    global _cache_path, _loaded_count
    gc.set_threshold(*GC_THRESHOLDS)
    _load_node_seconds(environment)
    _cache.clear()
    _used.clear()
    configured = environment.get(DBT_CODE_CACHE_ENV)
    _cache_path = Path(configured) if configured else None
    if _cache_path is None or not _cache_path.is_file():
        _loaded_count = 0
        return
    try:
        versions, entries = marshal.loads(_cache_path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        entries = {}  # unreadable: rebuilt by this command
    else:
        if versions != _versions():
            entries = {}
    _cache.update(entries)
    _loaded_count = len(_cache)


def end_command() -> None:
    """After a served command: the manifest of its parse when it wrote no later one, and
    the Jinja cache when it compiled something new (a temporary file renamed over the old
    one: concurrent commands leave one whole file)."""
    _write_held_manifest()
    if _cache_path is None or len(_cache) == _loaded_count or not _cache_path.parent.is_dir():
        return
    entries = _cache if len(_cache) <= MAX_CACHED else {key: _cache[key] for key in _used}
    _replace_file(_cache_path, marshal.dumps((_versions(), entries)))
