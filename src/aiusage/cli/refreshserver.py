"""The refresh server: `aiusage build` run in a warm process, forked per refresh.

Every `aiusage build` started cold pays, before dbt's first node, for three imports at once
on the machine's cores: Dagster and the code location in the refresh process, dbt in the dbt
server (aiusage.dbtserver) and Great Expectations in the GX worker (aiusage.quality.worker),
whose landed-batch check blocks the dbt models. About 6 s of CPU on two cores in a 100-event
refresh (docs/performance.md, issue 16's twenty-third and twenty-fourth rounds).

`aiusage refresh-server` (`serve`) does those imports once and keeps a dbt server running.
It listens on the Unix socket named by AIUSAGE_REFRESH_SERVER (mode 0600: this user only).
An `aiusage build` whose environment names that socket (`delegate`, called by the `aiusage`
executable before it imports anything else) sends the server its arguments, environment
and working folder, and its own standard input, output and error (the file descriptors
themselves, SCM_RIGHTS), then waits for the exit code. The server forks a handler per
connection, and the handler forks the refresh: a copy of the warm process, with no state
left over from an earlier refresh, which takes the caller's environment, folder and
streams and runs the same `aiusage build` (aiusage.cli), the one code path of every refresh:
the Dagster job refresh_warehouse in-process. In that copy the GX worker is forked from it
(GX already imported) and dbt commands go to the server's resident dbt server.

A client that is interrupted or killed closes its connection, and the handler stops the
refresh (SIGINT, then SIGKILL after a grace period). When no server answers, the socket is
not set, or the server runs older code than the one installed (any module of aiusage or
orchestration changed since it started: it answers `stale` and leaves), `aiusage build`
runs in its own process as it always did: the server only ever saves time. It leaves on
SIGTERM or SIGINT; a refresh under way finishes.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import select
import signal
import socket
import sys
from pathlib import Path

from aiusage.settings import process_environment

SOCKET_ENV = "AIUSAGE_REFRESH_SERVER"
SERVED_ENV = "AIUSAGE_REFRESH_SERVED_BY"  # set in each served refresh: the server's pid
STARTED = b"started\n"  # the refresh is forked
EXIT = b"exit "  # then its exit code and a newline
STALE = b"stale\n"
SERVED_COMMANDS = ("build",)  # the commands a server runs; any other runs in its caller
COMMANDS_LOG_ENV = "AIUSAGE_REFRESH_SERVER_LOG"  # optional: one line per refresh served


# --- the caller's side -----------------------------------------------------------------


def delegate(argv: list[str]) -> int | None:
    """Run `aiusage ARGV...` in the refresh server when the environment names one that
    answers and the command is one it serves: returns the refresh's exit code. None when
    the caller should run the command itself (no server, not reachable, stale, or a
    command it does not serve)."""
    environment = process_environment()
    path = environment.get(SOCKET_ENV)
    if not path or environment.get(SERVED_ENV) or not argv or argv[0] not in SERVED_COMMANDS:
        return None  # (a served refresh runs the command itself)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        request = {"argv": ["aiusage", *argv], "env": environment, "cwd": os.getcwd()}
        data = json.dumps(request).encode() + b"\n"
        socket.send_fds(connection, [data], [0, 1, 2])
    except OSError:
        connection.close()
        return None
    started = False
    reply = b""
    with connection:
        try:
            while not (reply.endswith(b"\n") and reply.startswith((EXIT, STALE))):
                chunk = connection.recv(64)
                if not chunk:
                    break
                reply += chunk
                if not started and reply.startswith(STARTED):
                    started, reply = True, reply[len(STARTED) :]
        except KeyboardInterrupt:
            return 130  # the connection closes: the server stops the refresh
    if reply.startswith(EXIT):
        return int(reply[len(EXIT) :])
    if not started:
        return None  # stale, or gone before the refresh started: the caller runs it
    sys.stderr.write("aiusage: the refresh server closed the connection before the refresh ended\n")
    return 2


# --- the server's side -----------------------------------------------------------------


def source_stamp() -> str:
    """A digest of the path, size and modification time of every module of the installed
    aiusage and orchestration packages: the code a forked refresh would run."""
    import aiusage
    import orchestration

    digest = hashlib.sha256()
    roots = [Path(root) for package in (aiusage, orchestration) for root in package.__path__]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def warm_up() -> str:
    """Import what a refresh imports (the command line, Dagster, dagster-dbt, the code
    location and what a run's instance imports on first use, Great Expectations and the
    checks) and start the resident dbt server; returns its socket path."""
    import orchestration.checks.expectations  # noqa: F401
    import orchestration.definitions  # noqa: F401
    import orchestration.run
    import orchestration.schedules  # noqa: F401
    from aiusage import dbtserver
    from aiusage.cli import warehouse  # noqa: F401
    from aiusage.quality import worker

    orchestration.run.warm_up()
    worker.warm_up()
    return dbtserver.start()


def serve(path: str) -> None:
    """Listen on `path`, warm up, then fork a handler per connection until SIGTERM or
    SIGINT."""
    Path(path).unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    dbt_socket = warm_up()
    stamp = source_stamp()
    gc.freeze()  # the imported objects stay shared with the forks (no copy on write by GC)
    stopping = []
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the kernel
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: stopping.append(True))
    print(f"aiusage refresh server: listening on {path} (pid {os.getpid()})", flush=True)
    try:
        while not stopping:
            try:
                ready, _, _ = select.select([listener], [], [], 1.0)
            except InterruptedError:
                continue
            if not ready:
                continue
            connection, _ = listener.accept()
            if source_stamp() != stamp:
                connection.sendall(STALE)  # its caller refreshes in its own process
                connection.close()
                print("aiusage refresh server: the installed code changed; leaving", flush=True)
                break
            if os.fork() == 0:
                listener.close()
                _handle(connection, dbt_socket)  # never returns
            connection.close()
    finally:
        listener.close()
        Path(path).unlink(missing_ok=True)


def _read_request(connection: socket.socket) -> tuple[dict, list[int]]:
    """The request line and the three file descriptors sent with it."""
    from aiusage import dbtserver

    data, fds, _, _ = socket.recv_fds(connection, 65536, 3)
    if len(fds) != 3:
        raise ConnectionError("a request without its three streams")
    return dbtserver.read_request(connection, data), fds


def _handle(connection: socket.socket, dbt_socket: str) -> None:
    """One connection: the refresh in a child, stopped when the client leaves; then the
    exit code to the client. Runs in a forked handler process."""
    from aiusage import dbtserver

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, signal.SIG_DFL)
    try:
        request, fds = _read_request(connection)
    except (OSError, ValueError):
        os._exit(0)
    server = os.getppid()
    child = os.fork()
    if child == 0:
        connection.close()
        _run(request, fds, dbt_socket, server)  # never returns
    for fd in fds:
        os.close(fd)
    try:
        connection.sendall(STARTED)
        code = dbtserver.wait_for_child(connection, child)
        _record(request, code)
        connection.sendall(EXIT + str(code).encode() + b"\n")
    except OSError:
        pass
    finally:
        os._exit(0)


def _record(request: dict, code: int) -> None:
    log = process_environment().get(COMMANDS_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{' '.join(request['argv'][1:])} exit={code}\n")


def _run(request: dict, fds: list[int], dbt_socket: str, server: int) -> None:
    """The refresh: the caller's streams, environment, folder and arguments, the resident
    dbt server, then the `aiusage` executable's own path (aiusage.cli.run), which leaves."""
    from aiusage import dbtserver

    dbtserver.take_streams(dict(enumerate(fds)))
    for fd in fds:
        os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # stopped as Ctrl-C stops it
    from aiusage.cli import run
    from aiusage.settings import adopt_environment

    adopt_environment({**request["env"], SERVED_ENV: str(server)})
    dbtserver.use_resident(dbt_socket)
    os.chdir(request["cwd"])
    sys.argv = list(request["argv"])
    run()
