"""The GX worker: checks run in one other process, started once, that keeps GX imported;
a check's exception reaches the caller; a dead worker never fails a check."""

from __future__ import annotations

import math
import os
import signal
import sys
import time

import pytest

from aiusage.quality import gx, worker
from tests.conftest import PROJECT_DIR


@pytest.fixture(autouse=True)
def _no_prefetched_calls_of_other_tests():
    """These tests assert on the worker's prefetched calls; a test that ran a build in this
    process before them (tests/unit/cli) may have left its own."""
    worker._PREFETCHED.clear()


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


def _deferred_modules() -> tuple:
    return tuple(
        (name, type(sys.modules.get(name)).__name__) for name in worker.DEFERRED_BY_CHECKS
    ) + (("scipy.stats._stats_py" in sys.modules),)


def _kl_divergence_modules() -> tuple:
    """What GX's KL divergence expectation reaches through the deferred modules."""
    from great_expectations.expectations.core import (
        expect_column_kl_divergence_to_be_less_than as kl,
    )

    return float(kl.stats.entropy([0.5, 0.5])), kl.alt.Chart.__name__


def test_gx_is_imported_without_scipy_stats_and_altair_until_they_are_used():
    """The worker defers the two modules GX imports for expectations the suites never use;
    a GX module that imported them reaches the real ones at first use."""
    os.kill(worker.run(os.getpid), signal.SIGKILL)  # a fresh worker, whatever ran before
    worker.run(os.getpid)  # in this process: the dead worker is replaced
    assert worker.run(os.getpid) != os.getpid()  # the new worker has imported GX
    deferred = [(name, "DeferredModule") for name in worker.DEFERRED_BY_CHECKS]
    assert worker.run(_deferred_modules) == (*deferred, False)
    assert worker.run(_kl_divergence_modules) == (pytest.approx(math.log(2)), "Chart")
    loaded = [(name, "module") for name in worker.DEFERRED_BY_CHECKS]
    assert worker.run(_deferred_modules) == (*loaded, True)


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


def _set_docs_idle(seconds: float) -> None:
    gx.DOCS_IDLE_SECONDS = seconds


def _price_check(docs: str):
    from aiusage.quality.prices import validate_price_seed

    return validate_price_seed(
        "fx_rates", PROJECT_DIR / "seeds", build_docs=True, docs_dir=docs
    ).success


def test_the_worker_renders_data_docs_when_idle_and_before_it_leaves(tmp_path):
    """A check in the worker returns before its Data Docs exist; the worker renders them
    once idle, and renders what is still pending when it shuts down."""
    idle = tmp_path / "idle"
    assert worker.run(_price_check, str(idle))
    deadline = time.monotonic() + 60
    while not (idle / "index.html").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "fx_rates" in (idle / "index.html").read_text()

    at_exit = tmp_path / "at_exit"
    pool = worker.start()
    worker.run(_set_docs_idle, 3600.0)  # never idle long enough: only the exit renders
    assert worker.run(_price_check, str(at_exit))
    time.sleep(1)
    assert not (at_exit / "index.html").exists()
    pool.shutdown(wait=True)
    worker._POOL = None  # the next test starts a new worker
    assert "fx_rates" in (at_exit / "index.html").read_text()


def _count_and_read(log: str, data: str) -> str:
    """A check that reads `data` and logs each run to `log`."""
    with open(log, "a") as handle:
        handle.write("ran\n")
    with open(data) as handle:
        return handle.read()


_count_and_read.inputs = lambda log, data: [data]


def _runs(log) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_prefetched_check_is_taken_while_its_files_are_unchanged(tmp_path):
    log, data = tmp_path / "runs.log", tmp_path / "batch.txt"
    data.write_text("first")
    worker.prefetch(_count_and_read, str(log), str(data))
    assert worker.run(_count_and_read, str(log), str(data)) == "first"
    assert _runs(log) == 1  # the check ran once, ahead of the call that took it
    assert worker._PREFETCHED == []

    # a file changed after the prefetched call read it: the call runs again
    worker.prefetch(_count_and_read, str(log), str(data))
    deadline = time.monotonic() + 60
    while _runs(log) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    data.write_text("second, longer")
    assert worker.run(_count_and_read, str(log), str(data)) == "second, longer"
    assert _runs(log) == 3

    # another call (other arguments) does not take it
    other = tmp_path / "other.txt"
    other.write_text("other")
    worker.prefetch(_count_and_read, str(log), str(data))
    assert worker.run(_count_and_read, str(log), str(other)) == "other"
    assert len(worker._PREFETCHED) == 1
    worker.run(_count_and_read, str(log), str(data))  # taken
    assert worker._PREFETCHED == []


def test_a_prefetched_call_that_raised_runs_again_and_only_named_inputs_prefetch(tmp_path):
    log, missing = tmp_path / "runs.log", tmp_path / "not-landed.txt"
    worker.prefetch(_count_and_read, str(log), str(missing))
    deadline = time.monotonic() + 60
    while _runs(log) < 1:  # the prefetched call ran, and raised
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(FileNotFoundError):
        worker.run(_count_and_read, str(log), str(missing))
    assert _runs(log) == 2  # raised by a second run, not handed over from the first
    with pytest.raises(TypeError, match="no `inputs`"):
        worker.prefetch(_fail, "x")


_REFRESH_PROCESS = """
import sys

import orchestration.definitions  # every module of the refresh's Dagster definitions
from aiusage.quality import worker
from aiusage.quality.checks import landed_batch_check, price_seed_check
from aiusage.refresh import RefreshOptions
from aiusage.settings import Settings

settings = Settings.from_env()
batch = worker.run(landed_batch_check, settings, RefreshOptions())
prices = worker.run(price_seed_check, "fx_rates", settings.project_dir / "seeds")
heavy = [m for m in ("pandas", "numpy", "great_expectations") if m in sys.modules]
print(batch.success, batch.files, batch.result.row_count, prices.success, prices.suite, heavy)
"""


def test_the_refresh_process_hands_checks_over_without_importing_pandas_or_gx(
    warehouse_env,
):
    """The refresh process imports its definitions, runs the checks in the worker and reads
    their results, and imports neither pandas nor GX itself (they cost it 0.4 s and 2 s
    of CPU at the start of a refresh): the checks import their implementation in the
    worker."""
    import subprocess
    from datetime import date

    from aiusage.sample import generate
    from aiusage.settings import process_environment

    settings = warehouse_env
    generate(settings.landing_dir, days=1, events_per_day=30, seed=3,
             end_date=date(2026, 11, 20), progress=False)  # fmt: skip
    lines = sum(
        1
        for path in (settings.landing_dir / "events").rglob("*.jsonl")
        for line in path.read_text().splitlines()
        if line.strip()
    )
    done = subprocess.run(
        [sys.executable, "-c", _REFRESH_PROCESS],
        capture_output=True,
        text=True,
        env=process_environment(),
        cwd=PROJECT_DIR,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[-2] == f"True 1 {lines} True fx_rates []"


FORK_OR_SPAWN = """
import os, sys, threading
from aiusage.quality import worker


def compiled_templates():
    from aiusage.quality import gx

    return len(gx._TEMPLATE_CODE)


worker.warm_up()  # GX imported and the Data Docs templates compiled, as in the refresh server
read, write = os.pipe()
child = os.fork()
if child == 0:  # one thread: a refresh forked by the refresh server, before its first thread
    pool = worker.start()
    method = pool._mp_context.get_start_method()
    pid = worker.run(os.getpid)
    inherited = worker.run(compiled_templates)  # none compiled in the worker yet
    os.write(write, f"{method} {pid != os.getpid()} {inherited >= 40}".encode())
    pool.shutdown()
    os._exit(0)
os.close(write)
print(os.read(read, 100).decode())
os.waitpid(child, 0)
release = threading.Event()
threading.Thread(target=release.wait).start()  # a thread of this process: never a fork
print(worker.start()._mp_context.get_start_method())
release.set()
"""


def test_the_worker_is_forked_from_a_process_with_gx_imported_and_one_thread():
    """A forked worker starts with GX imported and the Data Docs templates compiled by the
    process it was forked from; a process with threads spawns it."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", FORK_OR_SPAWN], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["fork True True", "spawn"]


TWO_FORKED_WORKERS = """
import json, os, sys, time
from pathlib import Path

from aiusage.quality import worker
from aiusage.quality.checks import price_seed_check

docs, seeds, expectations = (Path(arg) for arg in sys.argv[1:4])


def nap(seconds):
    started = time.monotonic()
    time.sleep(seconds)
    return os.getpid(), started, time.monotonic()


nap.inputs = lambda seconds: []
worker.warm_up()
read, write = os.pipe()
child = os.fork()
if child == 0:  # one thread, GX imported: a refresh forked by the refresh server
    pool = worker.start()
    worker.prefetch(nap, 1.0)
    worker.prefetch(nap, 1.5)
    naps = [worker.run(nap, 1.0), worker.run(nap, 1.5)]
    checks = {}
    for seed in ("fx_rates", "service_tier_multipliers"):  # handed over together
        worker.prefetch(price_seed_check, seed, seeds, context_root=expectations,
                        build_docs=True, docs_dir=docs)
    for seed in ("fx_rates", "service_tier_multipliers"):
        checks[seed] = worker.run(price_seed_check, seed, seeds, context_root=expectations,
                                  build_docs=True, docs_dir=docs).success
    workers = len(pool._processes)
    pool.shutdown(wait=True)  # each worker renders its pending pages as it leaves
    os.write(write, json.dumps([workers, naps, checks]).encode())
    os._exit(0)
os.close(write)
print(os.read(read, 10000).decode())
os.waitpid(child, 0)
"""


def test_forked_workers_run_two_checks_side_by_side_and_share_the_data_docs(tmp_path):
    """A refresh forked from a process with GX imported has two workers: two prefetched
    calls run at the same time in two processes, and two price seed checks handed over
    together both reach the one Data Docs site, whose index lists both suites: the pages
    are rendered as the workers leave (a forked worker leaves without the atexit
    handlers, which rendered them before)."""
    import json
    import subprocess

    docs = tmp_path / "docs"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            TWO_FORKED_WORKERS,
            str(docs),
            str(PROJECT_DIR / "seeds"),
            str(PROJECT_DIR / "expectations"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_DIR,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    workers, naps, checks = json.loads(result.stdout.splitlines()[0])
    assert workers == worker.FORKED_WORKERS == 2
    (first, start1, end1), (second, start2, end2) = naps
    assert first != second
    assert start2 < end1 and start1 < end2  # the two calls overlapped in time
    assert checks == {"fx_rates": True, "service_tier_multipliers": True}
    index = (docs / "index.html").read_text()
    assert "fx_rates" in index and "service_tier_multipliers" in index
    results = list((docs / "_validation_results").rglob("*.json"))
    assert len(results) == 2
    for suite in ("fx_rates", "service_tier_multipliers"):  # each result's page
        assert len(list((docs / "validations" / suite).rglob("*.html"))) == 1
