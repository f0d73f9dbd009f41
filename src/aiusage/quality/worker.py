"""The expectation checks of a refresh, run in one warm worker process.

Importing Great Expectations costs 5-7 s on 2 cores (pandas, scipy, altair, sqlalchemy), and
the first check of a refresh used to pay it on the critical path: the landed-batch check
runs before the dbt models and blocks them. A refresh that will run expectation checks
starts the worker as soon as it knows it has work (`start`: `aiusage build` after its plan,
the landing and seed-file steps, the first of every refresh); the worker imports GX on the
other core while the refresh process imports Dagster, loads its definitions and inventories
the landing. Every check of the refresh then runs in it (`run`). A worker forked from a
process that has GX imported (a refresh of the refresh server) costs nothing to start, so
there are two of them (FORKED_WORKERS): the landed-batch check runs beside the price
seed checks, which waited behind it (a 1M full build: 1.2 s, then 0.57 s, before dbt could
start). A spawned worker imports GX itself (3 s of CPU), so there is one. Workers that
render into one Data Docs site take turns (aiusage.quality.gx, `docs_site_lock`).

The worker renders the Data Docs of its checks when it is idle (aiusage.quality.gx,
`defer_data_docs`): a check returns its result at once, and the pages are built while dbt
runs, or at the worker's exit at the latest.

A refresh whose worker would otherwise wait (it has imported GX while the refresh process
still starts its Dagster run) hands it the refresh's checks in advance (`prefetch`, from
`aiusage build` after its plan). The check step then calls `run` with the same call, and
takes the prefetched result when the files the check read are as they were when it
started (`function.inputs(*args, **kwargs)`: path, size and modification time of each);
otherwise, or when the prefetched call raised, it runs the check again.

The worker lives as long as the process that started it (a refresh, a test session) and
keeps GX imported between refreshes of that process; it is stopped at the interpreter's
exit. A worker that died (killed, out of memory) is replaced by running the check in the
calling process: a check never fails because of the worker.
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing
import multiprocessing.util
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")

_POOL: ProcessPoolExecutor | None = None
# Workers forked from a process with GX imported (see the module docstring); a spawned
# worker imports GX itself, and is alone.
FORKED_WORKERS = 2
UNUSED_BY_CHECKS = ("pyspark", "sqlalchemy")
# Imported by GX's own modules for what the suites never ask: scipy.stats for the KL
# divergence expectation and two Kolmogorov-Smirnov metrics, altair for the KL divergence's
# chart. 1.1-1.3 s of the worker's 3 s of GX import; imported when first used instead.
DEFERRED_BY_CHECKS = ("scipy.stats", "altair")
_LOCK = threading.Lock()
# prefetched calls not taken yet: (function, args, kwargs, future of (inputs' stamp, result))
_PREFETCHED: list[tuple[Callable, tuple, dict, Future]] = []


def _initialize() -> None:
    """The worker's start: GX imported, Data Docs deferred to idle time, and an exit
    without the interpreter's teardown."""
    atexit.register(_exit_now)
    # GX imports its optional Spark and SQL integrations whenever pyspark and SQLAlchemy are
    # installed (the spark extra, Dagster): 0.3-0.4 s of CPU at the start of a refresh, when
    # the refresh process and the dbt server import on the same cores. The checks validate
    # pandas DataFrames only, so the worker hides both packages from GX (importing them
    # raises ImportError, which GX's compatibility modules take as "not installed").
    for package in UNUSED_BY_CHECKS:
        sys.modules.setdefault(package, None)
    for module in DEFERRED_BY_CHECKS:
        sys.modules.setdefault(module, DeferredModule(module))
    from aiusage.quality.gx import _gx, defer_data_docs, render_pending_docs_or_warn

    # The pages still pending when the worker leaves (after a rendering under way, which
    # holds the site's lock): rendered by multiprocessing's exit finalizers, which a worker
    # runs whether forked or spawned. A forked one leaves by os._exit, without the atexit
    # handlers: an atexit rendering lost its pages and cut a rendering under way off.
    multiprocessing.util.Finalize(None, render_pending_docs_or_warn, exitpriority=10)
    _gx()
    defer_data_docs()


class DeferredModule(ModuleType):
    """Stands for a module in sys.modules until a name of it is first read: then the real
    module is imported, and this one takes its names, so a reference to it taken at import
    (`from scipy import stats`) keeps working."""

    def __getattr__(self, name: str):  # a name this module does not have yet
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


def _call(function: Callable[..., T], *args, **kwargs) -> T:
    """In the worker: one check, during which deferred Data Docs are not rendered."""
    from aiusage.quality.gx import activity

    with activity():
        return function(*args, **kwargs)


def _exit_now() -> None:
    """A spawned worker's last act when its pool shuts down (its pending Data Docs were
    rendered by the exit finalizer): flush and leave. Freeing the objects GX and pandas
    created (the interpreter's teardown) took 1-3 s, which the refresh process waited for
    at its own exit; the worker holds no file or connection open between checks, so
    nothing is lost."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def warm_up() -> None:
    """Import what the worker imports (GX and its checks) and compile the Data Docs
    templates in this process, for a worker forked from it (`start`): the refresh server's
    warm-up (aiusage.cli.refreshserver)."""
    from aiusage.quality import events, prices  # noqa: F401 (the checks' own modules)
    from aiusage.quality.gx import compile_docs_templates

    compile_docs_templates()  # GX imported, and the Data Docs templates compiled


def _single_threaded() -> bool:
    """Whether this process runs one thread, native threads included (Linux: /proc)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def start() -> ProcessPoolExecutor:
    """Start the worker (once per process) and its GX import; returns at once."""
    global _POOL
    with _LOCK:
        if _POOL is None:
            # spawn: a fresh interpreter (a fork of a process running Dagster's threads
            # could inherit a held lock). A fork when GX is already imported here (a
            # refresh of the refresh server, before it starts any thread): the worker
            # then starts without importing GX.
            warm = "great_expectations" in sys.modules and _single_threaded()
            _POOL = ProcessPoolExecutor(
                max_workers=FORKED_WORKERS if warm else 1,
                mp_context=multiprocessing.get_context("fork" if warm else "spawn"),
                initializer=_initialize,
            )
            _POOL.submit(int)  # the pool starts its processes on the first submit
        return _POOL


def input_stamp(function: Callable, args: tuple, kwargs: dict) -> tuple:
    """(path, size, modification time) of each file the call reads (None for a missing
    file), from the function's `inputs`, which takes the call's arguments."""
    stamps = []
    for path in function.inputs(*args, **kwargs):
        try:
            stat = Path(path).stat()
        except FileNotFoundError:
            stamps.append((str(path), None))
        else:
            stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


def _stamped_call(function: Callable[..., T], args: tuple, kwargs: dict) -> tuple[tuple, T]:
    """In the worker: the inputs' stamp, taken before the call reads them, and the result."""
    stamp = input_stamp(function, args, kwargs)
    return stamp, _call(function, *args, **kwargs)


def prefetch(function: Callable[..., T], *args, **kwargs) -> None:
    """Start `function(*args, **kwargs)` in the worker now (started if needed), for a later
    `run` of an equal call. The function names the files it reads (`function.inputs`)."""
    if not callable(getattr(function, "inputs", None)):
        raise TypeError(f"{function.__qualname__} has no `inputs`: it cannot be prefetched")
    future = start().submit(_stamped_call, function, args, kwargs)
    with _LOCK:
        _PREFETCHED.append((function, args, kwargs, future))


def _prefetched_result(function: Callable[..., T], args: tuple, kwargs: dict) -> tuple[bool, T]:
    """(True, result) of a prefetched equal call whose inputs have not changed since it
    started; (False, None) when there is none, it raised, or its files changed."""
    with _LOCK:
        matching = [
            entry
            for entry in _PREFETCHED
            if entry[0] is function and entry[1] == args and entry[2] == kwargs
        ]
        if not matching:
            return False, None
        _PREFETCHED.remove(matching[0])
        future = matching[0][3]
    try:
        stamp, result = future.result()
    except Exception:  # noqa: BLE001 (the call runs again and raises, or the worker died)
        return False, None
    if stamp != input_stamp(function, args, kwargs):
        return False, None
    return True, result


def run(function: Callable[..., T], *args, **kwargs) -> T:
    """`function(*args, **kwargs)` in the worker (started if needed), or the result of the
    same call prefetched when the files it read are unchanged. Arguments and result travel
    by pickle. An exception raised by the function is raised here; a dead worker is
    dropped and the call runs in this process."""
    global _POOL
    prefetched, result = _prefetched_result(function, args, kwargs)
    if prefetched:
        return result
    try:
        return start().submit(_call, function, *args, **kwargs).result()
    except BrokenProcessPool:
        with _LOCK:
            _POOL = None
        return function(*args, **kwargs)
