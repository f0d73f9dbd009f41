"""dbt with its imports already done: a warm process that forks one dbt command per call.

Every `dbt build` of a refresh starts a Python process that spends ~3 s of one core
importing dbt-core, the DuckDB adapter, agate, networkx and jinja before it reads the
manifest (docs/performance.md). A refresh that knows it will run dbt starts this server
first (`start`: `aiusage build` right after its plan, the dbt step of every refresh), so
the imports run on the other core while the refresh process imports Dagster and inventories
the landing.

The server imports dbt and waits on a Unix socket in a private temporary folder. Each
connection is one dbt command: the server forks a handler, the handler forks the command
(a copy of the warm process, with no state left over from an earlier command), and the
command runs dbt's own command line (`dbt.cli.main.cli`, what the `dbt` executable runs)
with the caller's arguments, environment and working folder, its output written straight to
the connection. The handler then sends the exit code. `aiusage-dbt` (the `client`) is the
executable that dagster-dbt runs in place of `dbt`: it passes its command to the server
and copies the output and the exit code, so dagster-dbt sees what a dbt process would have
printed. Nothing else changes: the same arguments, the same structured log lines, the
same exit codes, one fresh process per command.

Each command decodes the project's saved manifest (partial_parse.msgpack), and mashumaro
builds the decoders of dbt's node classes on their first use: 0.3 s of every command that a
fresh process would pay again. So a command tells the server, through a pipe, which saved
manifest it read, and the server, idle between commands, decodes it once: every command
forked after that starts with the decoders built.

When no server runs (a shell, `dagster dev` before a run started one) or it cannot be
reached, the client runs the real dbt instead: the server only ever saves time. A client
that is interrupted or killed closes its connection, and the handler stops the dbt command
(SIGINT, then SIGKILL after a grace period). The server leaves when its parent process
does.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiusage import dbtwork
from aiusage.settings import (
    adopt_environment,
    leave,
    process_environment,
    set_process_variable,
)

SOCKET_ENV = "AIUSAGE_DBT_SERVER"
EXIT_MARKER = b"\0AIUSAGE-DBT-EXIT "
STOP_GRACE_SECONDS = 10.0

# What a dbt command imports before it reads the manifest: the CLI, its tasks, the parser,
# the adapter and the libraries they load. Imported once by the server.
WARM_MODULES = (
    "dbt.cli.main",
    "dbt.cli.requires",
    "dbt.task.build",
    "dbt.task.run",
    "dbt.task.test",
    "dbt.task.seed",
    "dbt.parser.manifest",
    "dbt.contracts.graph.manifest",
    "dbt.adapters.duckdb",
    "dbt.adapters.duckdb.impl",
    "dbt.adapters.duckdb.connections",
    "dbt.adapters.duckdb.environments.local",
    "dbt_common.clients.agate_helper",
    "agate",
    "babel.dates",
    "networkx",
    "duckdb",
    "multiprocessing.dummy",
    "_strptime",
)

# What every command validates before its first node, against a JSON schema that dbt
# builds from the class on first use and caches in the process (0.26 s of a command's
# start): built once by the server, and inherited by each fork.
# tests/unit/test_dbtserver.py lists what a command builds without them.
WARM_SCHEMAS = (
    "dbt.adapters.duckdb.credentials:DuckDBCredentials",
    "dbt.contracts.project:Configuration",
    "dbt.contracts.project:PackageConfig",
    "dbt.contracts.project:ProfileConfig",
    "dbt.contracts.project:Project",
    "dbt.contracts.project:ProjectFlags",
    "dbt.contracts.selection:SelectorFile",
)

_SERVER: subprocess.Popen | None = None
# A server another process started and owns (the refresh server's, aiusage.cli.refreshserver),
# which a refresh forked by it uses as its own: never started or stopped here.
_RESIDENT: str | None = None
_SERVER_PID = 0  # in the server and its children: the server's pid
_PATH: str | None = None
COMMANDS_LOG = "commands.log"
WARMUP_LOG = "warmup.log"  # what the server built between commands (warm_manifest_decoders)
ARTIFACTS_LOCK = "artifacts.lock"  # held while a command's manifest is written
_SOCKET_PATH = ""  # in the server: where it listens
_WARM_PIPE = -1  # in the server's children: where a command names the saved manifest it read
SERVED_ENV = "AIUSAGE_DBT_SERVED_BY"  # set in each served command: the server's pid


# --- the caller's side -----------------------------------------------------------------


def start() -> str:
    """Start the server (once per process) and return its socket path, which is also set
    in this process's environment (SOCKET_ENV), so every dbt command it starts finds it.
    Returns once the server listens; its imports go on in the background."""
    global _SERVER, _PATH
    if _RESIDENT is not None and Path(_RESIDENT).exists():
        set_process_variable(SOCKET_ENV, _RESIDENT)
        return _RESIDENT
    if _SERVER is not None and _SERVER.poll() is None and _PATH:
        set_process_variable(SOCKET_ENV, _PATH)
        return _PATH
    if _SERVER is None:
        atexit.register(stop)
    else:
        stop()  # it died: a new one
    _SERVER, _PATH = spawn()
    set_process_variable(SOCKET_ENV, _PATH)
    return _PATH


def spawn() -> tuple[subprocess.Popen, str]:
    """A new server process, listening in a private temporary folder (mode 0700: this user
    only), and its socket path; returns once it listens (or died, or 10 s passed). `start`
    keeps one per process; a caller of its own stops it with `shut_down`."""
    folder = Path(tempfile.mkdtemp(prefix="aiusage-dbt-"))
    path = folder / "dbt.sock"
    server = subprocess.Popen(
        [sys.executable, "-m", "aiusage.dbtserver", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "server.log", "wb"),  # noqa: SIM115 (the child owns it)
        close_fds=True,
    )
    deadline = time.monotonic() + 10
    while not path.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return server, str(path)


def stop() -> None:
    """Stop the server and remove its folder (at exit; commands still running finish)."""
    global _SERVER, _PATH
    server, _SERVER = _SERVER, None
    path, _PATH = _PATH, None
    if path and process_environment().get(SOCKET_ENV) == path:
        set_process_variable(SOCKET_ENV, None)
    shut_down(server, path)


def shut_down(server: subprocess.Popen | None, path: str | None) -> None:
    """Stop a server `spawn` started and remove its folder, once the manifest of its last
    command is written (aiusage.dbtwork)."""
    if server is not None and server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
    if path:
        wait_for_manifest(path)
        shutil.rmtree(Path(path).parent, ignore_errors=True)


def wait_for_manifest(path: str) -> None:
    """Wait until the manifest of the last command of the server at `path` is written: a
    served command's manifest.json is written by a fork after the command returns."""
    dbtwork.wait_for_artifacts(str(Path(path).parent / ARTIFACTS_LOCK))


def use_resident(path: str) -> None:
    """In a process forked from the one that started the server at `path` (a refresh of the
    refresh server): use that server as this process's own. The server object inherited
    from the parent is dropped, so this process neither replaces nor stops it."""
    global _SERVER, _PATH, _RESIDENT
    _SERVER, _PATH, _RESIDENT = None, None, path
    set_process_variable(SOCKET_ENV, path)


def served_commands() -> list[str]:
    """The lines of commands.log of this process's server (empty when none runs)."""
    path = _PATH or _RESIDENT
    if not path:
        return []
    log = Path(path).parent / COMMANDS_LOG
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def warm_ups() -> list[str]:
    """The lines of warmup.log of this process's server (empty when none runs)."""
    path = _PATH or _RESIDENT
    log = Path(path).parent / WARMUP_LOG if path else None
    return log.read_text(encoding="utf-8").splitlines() if log and log.exists() else []


def client_executable() -> str | None:
    """The `aiusage-dbt` executable of this installation (None when it is not installed)."""
    candidate = Path(sys.executable).with_name("aiusage-dbt")
    return str(candidate) if candidate.exists() else shutil.which("aiusage-dbt")


def client() -> None:
    """`aiusage-dbt ARGS...`: run `dbt ARGS...` in the warm server when one is reachable,
    else run the real dbt. Exits with dbt's exit code."""
    argv = ["dbt", *sys.argv[1:]]
    environment = process_environment()
    path = environment.get(SOCKET_ENV)
    connection = None
    if path:
        try:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(path)
        except OSError:
            connection = None
    if connection is None:
        _exec_real_dbt(argv)
    request = {"argv": argv, "env": environment, "cwd": os.getcwd()}
    connection.sendall(json.dumps(request).encode() + b"\n")
    out = sys.stdout.buffer
    pending = b""
    received = False
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received = True
        pending += chunk
        marker = pending.find(EXIT_MARKER)
        if marker >= 0:
            out.write(pending[:marker])
            out.flush()
            code = pending[marker + len(EXIT_MARKER) :].split(b"\n", 1)[0]
            sys.exit(int(code))
        # keep a possible partial marker for the next chunk
        keep = len(EXIT_MARKER) - 1
        if len(pending) > keep:
            out.write(pending[:-keep])
            out.flush()
            pending = pending[-keep:]
    if not received:
        _exec_real_dbt(argv)  # the server went away before it ran anything
    out.write(pending)
    out.flush()
    sys.stderr.write("aiusage-dbt: the dbt server closed the connection before dbt ended\n")
    sys.exit(2)


def _exec_real_dbt(argv: list[str]) -> None:
    from aiusage.project import installed_dbt

    dbt = installed_dbt()
    os.execv(dbt, [dbt, *argv[1:]])


# --- the server's side -----------------------------------------------------------------


def serve(path: str) -> None:
    """Listen on `path` first (a caller may connect at once; it waits in the backlog), then
    import dbt, then fork a handler per connection, until the parent process is gone."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    global _SERVER_PID, _SOCKET_PATH, _WARM_PIPE
    _SERVER_PID = os.getpid()
    _SOCKET_PATH = path
    parent = os.getppid()
    import importlib

    for name in WARM_MODULES:
        importlib.import_module(name)
    warm_schemas()
    warm_module_lookup()
    dbtwork.install()
    gc.freeze()  # the imported objects stay shared with the forks (no copy on write by GC)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    named, _WARM_PIPE = os.pipe()
    decoders_built = False
    while os.getppid() == parent:
        ready, _, _ = select.select([listener, named], [], [], 1.0)
        if named in ready:
            saved = os.read(named, 65536).decode("utf-8", "replace").split()
            if saved and not decoders_built:
                decoders_built = warm_manifest_decoders(saved[-1])
        if listener not in ready:
            continue
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _handle(connection)  # never returns
        connection.close()
    os._exit(0)


def warm_schemas() -> None:
    """Build the JSON schemas of WARM_SCHEMAS (dbt caches each in its class)."""
    import importlib

    for name in WARM_SCHEMAS:
        module, _, cls = name.partition(":")
        getattr(importlib.import_module(module), cls).json_schema()


def warm_module_lookup() -> None:
    """Fill `inspect.getmodule`'s map of source files to modules, once, in the server.

    Every command asks it for the module of each frame on its stack when the adapter is
    registered (dbt-common's BehaviorFlagRendered names each behaviour flag's source through
    `inspect.stack()`), and a map that lacks a frame's file is filled by walking every loaded
    module: 0.1-0.3 s of each command's start with the server's 1,600 modules. Forks inherit
    the filled map; a module a command imports later is added on its first lookup, as
    before (docs/performance.md, thirty-fourth round)."""
    import inspect

    inspect.getmodule(sys._getframe())


def warm_manifest_decoders(saved_manifest: str) -> bool:
    """Decode a saved manifest (partial_parse.msgpack) in the server, so that mashumaro's
    decoders of the node classes, built on their first use, are inherited by every command
    forked from now on. Logged in warmup.log beside the socket. False when the file cannot
    be decoded (a later command's may)."""
    import multiprocessing

    import dbt.mp_context
    from dbt.contracts.graph.manifest import Manifest

    started = time.time()
    # The decoded manifest takes a lock of dbt's multiprocessing context (spawn), whose
    # semaphore would start a resource tracker process beside the server for good; a lock
    # of the fork context is a plain one, and the manifest is dropped at once.
    spawn = dbt.mp_context._MP_CONTEXT
    dbt.mp_context._MP_CONTEXT = multiprocessing.get_context("fork")
    try:
        Manifest.from_msgpack(Path(saved_manifest).read_bytes())
    except Exception:  # noqa: BLE001 (a partial or foreign file: the commands decode their own)
        return False
    finally:
        dbt.mp_context._MP_CONTEXT = spawn
    gc.collect()
    gc.freeze()
    with open(Path(_SOCKET_PATH).parent / WARMUP_LOG, "a", encoding="utf-8") as log:
        log.write(
            f"{datetime.now(UTC).isoformat(timespec='seconds')} manifest decoders built from "
            f"{saved_manifest} {time.time() - started:.2f}s\n"
        )
    return True


def _name_saved_manifest() -> None:
    """In a command that ran: tell the server which saved manifest it read (dbt's
    partial_parse.msgpack in the project's target path), a line on its pipe, which the
    server reads between commands (and decodes, once)."""
    try:
        from dbt.flags import get_flags

        flags = get_flags()
        project = Path(getattr(flags, "PROJECT_DIR", None) or os.getcwd())
        target = Path(getattr(flags, "TARGET_PATH", None) or "target")
        saved = (target if target.is_absolute() else project / target) / "partial_parse.msgpack"
        if saved.is_file():
            os.write(_WARM_PIPE, (str(saved) + "\n").encode())
    except (OSError, AttributeError):
        pass


def read_request(connection: socket.socket, data: bytes = b"") -> dict:
    """The JSON request line of a connection (`data`: what was already received of it)."""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the client left before its request")
        data += chunk
    return json.loads(data)


def _handle(connection: socket.socket) -> None:
    """One connection: run its dbt command in a child, stop the child when the client
    leaves, then send the exit code. Runs in a forked handler process."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        request = read_request(connection)
    except (OSError, ValueError):
        os._exit(0)
    child = os.fork()
    if child == 0:
        # the command leaves as the dbt executable does, up to the interpreter's teardown
        leave(_run_dbt(connection, request))
    started = time.time()
    try:
        code = wait_for_child(connection, child)
        _record(request["argv"], code, time.time() - started)
        connection.sendall(EXIT_MARKER + str(code).encode() + b"\n")
    except OSError:
        pass
    finally:
        os._exit(0)


def _record(argv: list[str], code: int, seconds: float) -> None:
    """One line per command served, in commands.log beside the socket: what ran, its exit
    code and its wall time (the arguments after the command are left out: --vars)."""
    command = next((arg for arg in argv[1:] if not arg.startswith("-")), "")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    line = f"{now} dbt {command} exit={code} {seconds:.2f}s\n"
    with open(Path(_SOCKET_PATH).parent / COMMANDS_LOG, "a", encoding="utf-8") as log:
        log.write(line)


def wait_for_child(connection: socket.socket, child: int) -> int:
    """The child's exit code; the child is stopped when the client closes the connection
    (SIGINT, as Ctrl-C would, then SIGKILL after STOP_GRACE_SECONDS)."""
    stop_at = None
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code
        if stop_at is None:
            readable, _, _ = select.select([connection], [], [], 0.05)
            if readable and not connection.recv(1, socket.MSG_PEEK):
                os.kill(child, signal.SIGINT)  # the client left: stop dbt as Ctrl-C would
                stop_at = time.monotonic() + STOP_GRACE_SECONDS
        else:
            time.sleep(0.05)
            if time.monotonic() > stop_at:
                os.kill(child, signal.SIGKILL)


def take_streams(streams: dict[int, int]) -> None:
    """Make each descriptor of `streams` (0, 1, 2) a copy of its value, and sys.stdin,
    sys.stdout and sys.stderr line-buffered files over them: a forked command's output
    goes to its caller."""
    for target, fd in streams.items():
        os.dup2(fd, target)
    if 0 in streams:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115


def _run_dbt(connection: socket.socket, request: dict) -> int:
    """The dbt command, as the `dbt` executable runs it: the caller's environment, folder
    and arguments; stdout and stderr are the connection. Returns dbt's exit code."""
    take_streams({1: connection.fileno(), 2: connection.fileno()})
    connection.close()
    try:
        lock = str(Path(_SOCKET_PATH).parent / ARTIFACTS_LOCK)
        adopt_environment(
            {**request["env"], SERVED_ENV: str(_SERVER_PID), dbtwork.ARTIFACTS_LOCK_ENV: lock}
        )
        os.chdir(request["cwd"])
        sys.argv = list(request["argv"])
        from dbt.cli.main import cli

        dbtwork.wait_for_artifacts(lock)  # the previous command's manifest is written
        dbtwork.start_command(process_environment())
        try:
            cli.main(args=sys.argv[1:], prog_name="dbt")
        finally:
            dbtwork.end_command()
            _name_saved_manifest()
        return 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 (reported on the command's stderr, as dbt would)
        import traceback

        traceback.print_exc()
        return 2


if __name__ == "__main__":
    serve(sys.argv[1])
