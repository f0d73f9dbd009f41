"""The warm dbt server: `aiusage-dbt` runs a dbt command in a fork of a process that already
imported dbt, with the output and the exit code the real dbt gives; without a server it runs
the real dbt; a client that leaves stops its command. On a small dbt project of its own (one
DuckDB file in a temporary folder)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from aiusage import dbtserver

PROJECT = {
    "dbt_project.yml": (
        "name: mini\nversion: '1.0'\nprofile: mini\nconfig-version: 2\n"
        "model-paths: [models]\nmacro-paths: [macros]\n"
        "flags:\n  send_anonymous_usage_stats: false\n"
    ),
    "profiles.yml": (
        "mini:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('MINI_DUCKDB') }}\"\n      threads: 1\n"
    ),
    "models/answer.sql": "select 6 * 7 as answer\n",
    "models/broken.sql": "select * from no_such_table\n",
    "macros/served_by.sql": (
        "{% macro served_by() %}"
        "{{ log('served-by=' ~ env_var('" + dbtserver.SERVED_ENV + "', 'none'), info=True) }}"
        "{% endmacro %}\n"
    ),
}


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Path:
    for name, text in PROJECT.items():
        path = tmp_path / "mini" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setenv("MINI_DUCKDB", str(tmp_path / "mini.duckdb"))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path / "mini"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    return tmp_path / "mini"


@pytest.fixture()
def server():
    path = dbtserver.start()
    yield dbtserver._SERVER
    assert os.environ.get(dbtserver.SOCKET_ENV) == path
    dbtserver.stop()
    assert not Path(path).parent.exists()


def _dbt(executable: str, project: Path, *args: str, env: dict | None = None):
    return subprocess.run(
        [executable, *args], cwd=project, capture_output=True, text=True, env=env, timeout=300
    )


def _client() -> str:
    client = dbtserver.client_executable()
    assert client, "aiusage-dbt is not installed: run make install"
    return client


def _real_dbt() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def test_commands_run_in_the_warm_server_as_the_real_dbt_runs_them(project, server):
    served = _dbt(_client(), project, "run-operation", "served_by")
    assert served.returncode == 0, served.stdout + served.stderr
    assert f"served-by={server.pid}" in served.stdout  # a fork of the server ran it

    built = _dbt(_client(), project, "build", "-s", "answer")
    assert built.returncode == 0, built.stdout
    with duckdb.connect(os.environ["MINI_DUCKDB"], read_only=True) as con:
        assert con.execute("select answer from answer").fetchall() == [(42,)]

    # the exit codes of the real dbt: 1 for a failed model, 2 for an error
    for args in (("build", "-s", "broken"), ("run-operation", "no_such_macro")):
        through_server = _dbt(_client(), project, *args)
        real = _dbt(_real_dbt(), project, *args)
        assert real.returncode in (1, 2)
        assert through_server.returncode == real.returncode, through_server.stdout
    assert "no_such_table" in _dbt(_client(), project, "build", "-s", "broken").stdout


def test_a_served_command_closes_the_database_before_its_process_leaves(project, server):
    """A served command leaves without the interpreter's teardown (aiusage.settings.leave)
    but still runs its atexit functions: dbt-duckdb closes the database there, DuckDB
    checkpoints it and deletes the WAL, as when the dbt executable ends."""
    database = Path(os.environ["MINI_DUCKDB"])
    wal = database.with_name(database.name + ".wal")
    for executable in (_real_dbt(), _client()):
        database.unlink(missing_ok=True)
        built = _dbt(executable, project, "build", "-s", "answer")
        assert built.returncode == 0, built.stdout
        assert database.exists() and not wal.exists(), executable
        with duckdb.connect(str(database), read_only=True) as con:
            assert con.execute("select answer from answer").fetchall() == [(42,)]


def test_without_a_server_the_client_runs_the_real_dbt(project, tmp_path):
    env = {**os.environ, dbtserver.SOCKET_ENV: str(tmp_path / "nobody-listens.sock")}
    served = _dbt(_client(), project, "run-operation", "served_by", env=env)
    assert served.returncode == 0, served.stdout + served.stderr
    assert "served-by=none" in served.stdout
    env.pop(dbtserver.SOCKET_ENV)
    again = _dbt(_client(), project, "run-operation", "served_by", env=env)
    assert "served-by=none" in again.stdout


def test_a_client_that_leaves_stops_its_dbt_command(project, server):
    long_query = (
        "select count(*) from range(1000000) as a(i), range(1000000) as b(j) where (i + j) % 7 = 3"
    )
    client = subprocess.Popen(
        [_client(), "show", "--inline", long_query],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server_process = psutil.Process(server.pid)
    deadline = time.monotonic() + 60
    while len(server_process.children(recursive=True)) < 2:  # the handler and dbt
        assert time.monotonic() < deadline, "the server never ran the command"
        time.sleep(0.1)
    time.sleep(3)  # dbt is in its query
    client.send_signal(signal.SIGKILL)
    client.wait()
    deadline = time.monotonic() + 30
    while server_process.children(recursive=True):
        assert time.monotonic() < deadline, "the dbt command outlived its client"
        time.sleep(0.2)
    assert server.poll() is None  # the server itself goes on


def test_each_served_command_is_logged_with_its_exit_code(project, server):
    assert dbtserver.served_commands() == []
    _dbt(_client(), project, "build", "-s", "answer")
    _dbt(_client(), project, "run-operation", "no_such_macro")
    lines = dbtserver.served_commands()
    assert [line.split(" ", 1)[1].rsplit(" ", 1)[0] for line in lines] == [
        "dbt build exit=0",
        "dbt run-operation exit=2",
    ]


def _after_server_imports(warm: str, body: str) -> str:
    """A script for a fresh process: the server's imports (WARM_MODULES), then `warm`, one
    statement of what the server does before it forks, when the script's first argument is
    "warm", then `body`."""
    return (
        "import importlib, sys\nfrom aiusage import dbtserver\n"
        "for name in dbtserver.WARM_MODULES:\n    importlib.import_module(name)\n"
        f"if sys.argv[1] == 'warm':\n    {warm}\n{body}"
    )


_SCHEMAS_BUILT = _after_server_imports(
    "dbtserver.warm_schemas()",
    """
import dbt_common.dataclass_schema as schema
built, build = [], schema.build_json_schema
def recording(cls, *args, **kwargs):
    built.append(f"{cls.__module__}:{cls.__qualname__}")
    return build(cls, *args, **kwargs)
schema.build_json_schema = recording
from dbt.cli.main import dbtRunner
assert dbtRunner().invoke(["build", "-s", "answer", "--quiet"]).success
print(sorted(built))
""",
)


def test_the_server_builds_the_json_schemas_every_command_validates(project):
    """A command validates its profile and project against JSON schemas dbt builds on first
    use (0.26 s); the server builds them before it forks, so a served command builds none."""

    parsed = _dbt(_real_dbt(), project, "parse")  # a refresh's commands read a parsed project
    assert parsed.returncode == 0, parsed.stdout

    def built(mode: str) -> str:
        done = _dbt(sys.executable, project, "-c", _SCHEMAS_BUILT, mode)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1]

    assert built("cold") == str(sorted(dbtserver.WARM_SCHEMAS))
    assert built("warm") == "[]"


def test_a_process_forked_from_the_servers_owner_uses_it_and_never_stops_it(project, server):
    """A refresh of the refresh server (a fork of the process that started the dbt server)
    takes the server as its own: `start` returns it without starting another, and the
    exit handlers it inherited leave it running."""
    path = os.environ[dbtserver.SOCKET_ENV]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the fork: what aiusage.cli.refreshserver does in a served refresh
        os.close(read)
        dbtserver.use_resident(path)
        same = dbtserver.start() == path and dbtserver._SERVER is None
        dbtserver.stop()  # what the inherited exit handler runs
        os.write(write, b"1" if same else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.waitpid(child, 0)
    assert server.poll() is None and Path(path).exists()
    served = _dbt(_client(), project, "run-operation", "served_by")
    assert served.returncode == 0 and f"served-by={server.pid}" in served.stdout


_DECODERS_BUILT = """
import sys
from pathlib import Path
from aiusage import dbtserver
from dbt.contracts.graph.manifest import Manifest
from mashumaro.core.meta.code.builder import CodeBuilder
saved = Path(sys.argv[2])
if sys.argv[1] == "warm":
    dbtserver._SOCKET_PATH = str(saved.parent / "dbt.sock")
    assert dbtserver.warm_manifest_decoders(str(saved))
built, add = [], CodeBuilder.add_unpack_method
def recording(self, *args, **kwargs):
    built.append(self.cls.__qualname__)
    return add(self, *args, **kwargs)
CodeBuilder.add_unpack_method = recording
Manifest.from_msgpack(saved.read_bytes())
print(len(built))
"""


def test_the_server_builds_the_manifest_decoders_from_what_a_command_read(project, server):
    """mashumaro builds the msgpack decoders of dbt's node classes on their first use, so
    each fresh process decoding the saved manifest builds them (0.3 s of a command's
    start). A served command names the saved manifest it read on the server's pipe; the
    server decodes it once, between commands, and a process that has done so builds none
    when it decodes a manifest again."""
    parsed = _dbt(_real_dbt(), project, "parse")
    assert parsed.returncode == 0, parsed.stdout
    saved = Path(os.environ["DBT_TARGET_PATH"]) / "partial_parse.msgpack"
    assert saved.is_file()
    assert dbtserver.warm_ups() == []
    for _ in range(2):
        built = _dbt(_client(), project, "build", "-s", "answer")
        assert built.returncode == 0, built.stdout
    deadline = time.monotonic() + 30
    while not dbtserver.warm_ups() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = dbtserver.warm_ups()
    assert len(lines) == 1, lines  # once, whatever the number of commands
    assert f"manifest decoders built from {saved} " in lines[0]

    def built_decoders(mode: str) -> int:
        done = _dbt(sys.executable, project, "-c", _DECODERS_BUILT, mode, str(saved))
        assert done.returncode == 0, done.stderr[-3000:]
        return int(done.stdout.strip().splitlines()[-1])

    assert built_decoders("cold") > 10  # the node classes, config classes and their fields
    assert built_decoders("warm") == 0


_MODULES_WALKED = _after_server_imports(
    "dbtserver.warm_module_lookup()",
    """
import inspect
import dbt.adapters.base.impl as base
from dbt_common.behavior_flags import BehaviorFlagRendered
walked, absfile = [], inspect.getabsfile
def recording(obj, *args):
    if inspect.ismodule(obj):
        walked.append(obj.__name__)
    return absfile(obj, *args)
inspect.getabsfile = recording
def nested(depth):
    if depth:
        return nested(depth - 1)
    return [BehaviorFlagRendered(flag, {}) for flag in base.DEFAULT_BASE_BEHAVIOR_FLAGS]
flags = nested(20)
print(len(walked), flags[0]._behavior_change_event.flag_source)
""",
)


def test_the_server_maps_source_files_to_modules_before_a_command_asks(project):
    """Registering the adapter names each behaviour flag's source module from the frames on
    the stack (inspect.getmodule), which walks every loaded module the first time a
    process asks: the server does that walk once (warm_module_lookup), and a process that
    has done it walks none when the flags are made; the flags name the same source."""

    script = project / "modules_walked.py"  # a file: its frames have a module to name
    script.write_text(_MODULES_WALKED)

    def walked(mode: str) -> tuple[int, str]:
        done = _dbt(sys.executable, project, str(script), mode)
        assert done.returncode == 0, done.stderr[-3000:]
        count, source = done.stdout.strip().splitlines()[-1].split()
        return int(count), source

    cold, warm = walked("cold"), walked("warm")
    assert cold[0] > 500  # dbt, the adapter and their libraries
    assert warm == (0, cold[1]) and cold[1] == "__main__"
