"""The GX worker: checks run in one other process, started once, that keeps GX imported;
a check's exception reaches the caller; a dead worker never fails a check."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from aiusage.quality import worker


def _gx_is_imported() -> bool:
    return "great_expectations" in sys.modules


def _fail(message: str) -> None:
    raise ValueError(message)


def test_checks_run_in_one_warm_worker_process():
    first = worker.run(os.getpid)
    assert first != os.getpid()
    assert worker.run(os.getpid) == first  # the same process, started once
    assert worker.run(_gx_is_imported)  # imported by the worker when it started
    with pytest.raises(ValueError, match="no such seed"):
        worker.run(_fail, "no such seed")
    assert worker.run(os.getpid) == first  # an exception in a check keeps the worker


def test_a_dead_worker_is_replaced_by_running_the_check_here():
    dead = worker.run(os.getpid)
    os.kill(dead, signal.SIGKILL)
    assert worker.run(os.getpid) == os.getpid()  # this call: in the caller's process
    replacement = worker.run(os.getpid)  # the next call starts a new worker
    assert replacement not in (dead, os.getpid())


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def test_the_worker_leaves_at_shutdown_after_finishing_its_work(tmp_path):
    """The worker exits without the interpreter's teardown (os._exit in its atexit), with
    status 0 and what its checks wrote on disk."""
    pool = worker.start()
    target = tmp_path / "written.txt"
    worker.run(_write, str(target), "done")
    processes = list(pool._processes.values())
    assert len(processes) == 1
    pool.shutdown(wait=True)
    worker._POOL = None  # the next test starts a new worker
    assert processes[0].exitcode == 0
    assert target.read_text() == "done"
