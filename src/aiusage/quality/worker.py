"""The expectation checks of a refresh, run in one warm worker process.

Importing Great Expectations costs 5-7 s on 2 cores (pandas, scipy, altair, sqlalchemy), and
the first check of a refresh used to pay it on the critical path: the landed-batch check
runs before the dbt models and blocks them. A refresh that will run expectation checks
starts the worker as soon as it knows it has work (`start`: `aiusage build` after its plan,
the landing and seed-file steps, the first of every refresh); the worker imports GX on the
other core while the refresh process imports Dagster, loads its definitions and inventories
the landing. Every check of the refresh then runs in it (`run`), one after another, so the
Data Docs site has one writer.

The worker renders the Data Docs of its checks when it is idle (aiusage.quality.gx,
`defer_data_docs`): a check returns its result at once, and the pages are built while dbt
runs, or at the worker's exit at the latest.

The worker lives as long as the process that started it (a refresh, a test session) and
keeps GX imported between refreshes of that process; it is stopped at the interpreter's
exit. A worker that died (killed, out of memory) is replaced by running the check in the
calling process: a check never fails because of the worker.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")

_POOL: ProcessPoolExecutor | None = None
UNUSED_BY_CHECKS = ("pyspark", "sqlalchemy")
_LOCK = threading.Lock()


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
    from aiusage.quality.gx import _gx, defer_data_docs

    _gx()
    defer_data_docs()


def _call(function: Callable[..., T], *args, **kwargs) -> T:
    """In the worker: one check, during which deferred Data Docs are not rendered."""
    from aiusage.quality.gx import activity

    with activity():
        return function(*args, **kwargs)


def _exit_now() -> None:
    """The worker's last act when its pool shuts down: render the Data Docs still pending,
    flush and leave. Freeing the objects GX and pandas created (the interpreter's teardown)
    took 1-3 s, which the refresh process waited for at its own exit; the worker holds no
    file or connection open between checks, so nothing is lost."""
    from aiusage.quality.gx import render_pending_docs_or_warn

    render_pending_docs_or_warn()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def start() -> ProcessPoolExecutor:
    """Start the worker (once per process) and its GX import; returns at once."""
    global _POOL
    with _LOCK:
        if _POOL is None:
            # spawn: a fresh interpreter (a fork of a process running Dagster's threads
            # could inherit a held lock)
            _POOL = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_initialize,
            )
            _POOL.submit(int)  # the pool spawns its process on the first submit
        return _POOL


def run(function: Callable[..., T], *args, **kwargs) -> T:
    """`function(*args, **kwargs)` in the worker (started if needed). Arguments and result
    travel by pickle. An exception raised by the function is raised here; a dead worker is
    dropped and the call runs in this process."""
    global _POOL
    try:
        return start().submit(_call, function, *args, **kwargs).result()
    except BrokenProcessPool:
        with _LOCK:
            _POOL = None
        return function(*args, **kwargs)
