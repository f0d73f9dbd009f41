"""What a served dbt command does not redo (aiusage.dbtwork): it prints, writes and builds
what the real dbt does; debug events reach a logger that asks for them and nobody else;
compiled Jinja is reused only for the same source in the same kind of environment, and a
changed model is compiled again. The patches run in subprocesses and in the warm server's
commands, never in the test process."""

from __future__ import annotations

import gc
import json
import marshal
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from aiusage import dbtserver, dbtwork
from aiusage.settings import DBT_CODE_CACHE_ENV, DBT_NODE_SECONDS_ENV
from tests.unit.test_dbtserver import _client, _dbt, _real_dbt, project, server  # noqa: F401

SCHEMA = """\
version: 2
models:
  - name: answer
    columns:
      - name: answer
        data_tests: [not_null, unique]
"""


@pytest.fixture()
def tested_project(project, monkeypatch):  # noqa: F811 (the fixture imported above)
    (project / "models" / "schema.yml").write_text(SCHEMA)
    monkeypatch.setenv(DBT_CODE_CACHE_ENV, str(project.parent / "jinja_code.marshal"))
    monkeypatch.setenv(DBT_NODE_SECONDS_ENV, str(project.parent / "node_seconds.json"))
    return project


def _events(output: str) -> list[tuple]:
    """The events of dbt's JSON log lines, without what differs between two runs (times,
    thread names, invocation ids)."""
    events = []
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        node = event["data"].get("node_info", {})
        events.append(
            (
                event["info"]["name"],
                event["info"]["level"],
                node.get("unique_id"),
                node.get("node_status"),
                event["data"].get("status"),
            )
        )
    return sorted(events, key=repr)


def test_a_served_build_prints_and_builds_what_the_real_dbt_does(tested_project, server):  # noqa: F811
    env = {**os.environ, "DBT_LOG_FORMAT": "json"}
    assert _dbt(_real_dbt(), tested_project, "parse").returncode == 0  # both parse partially
    real = _dbt(_real_dbt(), tested_project, "build", "-s", "answer", env=env)
    served = _dbt(_client(), tested_project, "build", "-s", "answer", env=env)
    assert real.returncode == served.returncode == 0, served.stdout
    assert _events(served.stdout) == _events(real.stdout)
    names = {event[0] for event in _events(served.stdout)}
    assert {"LogModelResult", "LogTestResult"} <= names
    assert "SQLQuery" not in names  # a debug event, below the default level
    # each node's seconds in the served build, as its run_results.json gives them: the
    # order of the next command's ready nodes (dbtwork.chain_seconds)
    results = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    timed = json.loads(Path(os.environ[DBT_NODE_SECONDS_ENV]).read_text())
    assert {r["unique_id"]: round(r["execution_time"], 3) for r in results["results"]} == timed
    assert len(timed) == 3 and all(seconds > 0 for seconds in timed.values())
    with duckdb.connect(os.environ["MINI_DUCKDB"], read_only=True) as con:
        assert con.execute("select answer from answer").fetchall() == [(42,)]

    # a logger that asks for debug events gets every one the real dbt writes
    real = _dbt(
        _real_dbt(), tested_project, "--log-level", "debug", "build", "-s", "answer", env=env
    )
    served = _dbt(
        _client(), tested_project, "--log-level", "debug", "build", "-s", "answer", env=env
    )
    real_names = [event[0] for event in _events(real.stdout)]
    served_names = [event[0] for event in _events(served.stdout)]
    # (connection events vary from run to run; the queries and the results do not)
    for name in ("SQLQuery", "SQLQueryStatus", "LogModelResult", "LogTestResult"):
        assert served_names.count(name) == real_names.count(name) > 0, name


def _manifest_nodes(target: Path) -> dict:
    """The nodes of a target folder's manifest.json, without what differs between two
    commands (when each node was parsed, the target folder in its paths), and the
    semantic manifest's metrics."""
    text = (target / "manifest.json").read_text().replace(str(target), "<target>")
    semantic = json.loads((target / "semantic_manifest.json").read_text())
    nodes = {
        uid: {key: value for key, value in node.items() if key != "created_at"}
        for uid, node in json.loads(text)["nodes"].items()
    }
    return {"nodes": nodes, "metrics": semantic["metrics"]}


def test_a_served_command_writes_the_manifest_the_real_dbt_writes(tested_project, server):  # noqa: F811
    """A served build writes manifest.json once, after it returns, from a forked writer
    that holds the artifacts lock; the next served command starts after the file is
    whole. It is the manifest the real dbt writes (its compiled nodes included). A `parse`
    writes its manifest before it returns."""
    target = Path(os.environ["DBT_TARGET_PATH"])
    real_target = target.with_name("real_target")
    real = _dbt(_real_dbt(), tested_project, "build", "-s", "answer",
                env={**os.environ, "DBT_TARGET_PATH": str(real_target)})  # fmt: skip
    assert real.returncode == 0, real.stdout
    served = _dbt(_client(), tested_project, "build", "-s", "answer")
    assert served.returncode == 0, served.stdout
    lock = Path(dbtserver._PATH).parent / dbtserver.ARTIFACTS_LOCK
    assert lock.exists()  # a writer took it
    dbtwork.wait_for_artifacts(str(lock))
    assert _manifest_nodes(target) == _manifest_nodes(real_target)
    assert (
        json.loads((target / "manifest.json").read_text())["nodes"]["model.mini.answer"][
            "compiled_code"
        ].strip()
        == "select 6 * 7 as answer"
    )
    assert not list(target.glob("*.tmp"))

    for name in ("manifest.json", "semantic_manifest.json"):
        (target / name).unlink()
    parsed = _dbt(_client(), tested_project, "parse")
    assert parsed.returncode == 0, parsed.stdout
    assert (target / "manifest.json").exists() and (target / "semantic_manifest.json").exists()


def test_the_manifest_writer_yields_the_cores_to_the_refresh(tmp_path, monkeypatch):
    """The forked writer of a command's manifest runs beside what the refresh does after dbt
    (publish), which does not wait for it: it writes both files at a lower scheduling
    priority (WRITER_NICENESS more than its command's), and holds the lock until they are
    in place."""
    import dbt.contracts.graph.semantic_manifest as semantic

    class Recording:  # each file holds the niceness of the process that wrote it
        def __init__(self, *args):
            pass

        def write(self, path: str) -> None:
            Path(path).write_text(str(os.nice(0)))

        write_json_to_file = write
        writable_manifest = lambda self: self  # noqa: E731

    monkeypatch.setattr(semantic, "SemanticManifest", Recording)
    target, lock = tmp_path / "target", tmp_path / "artifacts.lock"
    before = os.nice(0)
    dbtwork._fork_manifest_writer(Recording(), str(target), str(lock))
    dbtwork.wait_for_artifacts(str(lock))
    expected = str(min(before + dbtwork.WRITER_NICENESS, 19))
    assert expected != str(before)
    for name in ("manifest.json", "semantic_manifest.json"):
        assert (target / name).read_text() == expected
    assert os.nice(0) == before  # the command itself keeps its priority


def test_compiled_jinja_is_kept_and_a_changed_model_is_compiled_again(tested_project, server):  # noqa: F811
    cache = Path(os.environ[DBT_CODE_CACHE_ENV])
    first = _dbt(_client(), tested_project, "build", "-s", "answer")
    assert first.returncode == 0, first.stdout
    versions, entries = marshal.loads(cache.read_bytes())
    assert versions == dbtwork._versions()
    assert len(entries) > 50  # the model, its tests and the macros they call

    # the same sources give the same entries (the second command, the first to parse
    # partially, renders two macros more); a changed model adds its own
    assert _dbt(_client(), tested_project, "build", "-s", "answer").returncode == 0
    entries = marshal.loads(cache.read_bytes())[1]
    assert _dbt(_client(), tested_project, "build", "-s", "answer").returncode == 0
    assert marshal.loads(cache.read_bytes())[1].keys() == entries.keys()
    (tested_project / "models" / "answer.sql").write_text(
        "{% set base = 6 %}select {{ base }} * 7 + 1 as answer\n"
    )
    again = _dbt(_client(), tested_project, "build", "-s", "answer")
    assert again.returncode == 0, again.stdout
    with duckdb.connect(os.environ["MINI_DUCKDB"], read_only=True) as con:
        assert con.execute("select answer from answer").fetchall() == [(43,)]
    assert len(marshal.loads(cache.read_bytes())[1]) > len(entries)


def _run_patched(script: str) -> None:
    """`script` in a fresh interpreter with dbtwork installed."""
    code = "from aiusage import dbtwork\ndbtwork.install()\n" + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_jinja_code_is_keyed_by_source_and_environment():
    _run_patched(
        """
        from dbt_common.clients.jinja import get_environment
        from aiusage import dbtwork
        from aiusage.jinjacode import code_key

        text, native = get_environment(), get_environment(native=True)
        source = "{{ [1, 2] | length }}-{{ x }}"
        key = code_key(text, source, None, None, False)
        assert key == code_key(get_environment(), source, None, None, False)
        assert key != code_key(native, source, None, None, False)
        assert key != code_key(text, source + " ", None, None, False)
        assert key != code_key(text, source, "name", None, False)

        # a cached template renders as the freshly compiled one did, in each environment
        for environment in (text, native):
            fresh = environment.from_string(source).render({"x": 3})
            assert len(dbtwork._cache) == (1 if environment is text else 2)
            assert environment.from_string(source).render({"x": 3}) == fresh == "2-3"
        assert len(dbtwork._cache) == 2
        assert len(dbtwork._used) == 2
        """
    )


def test_a_ready_node_with_more_work_after_it_runs_first():
    _run_patched(
        """
        import networkx as nx
        from dbt.graph.queue import GraphQueue

        # three ready marts; the last by name heads a chain (a test, then a model after it),
        # which dbt's depth order (ties by name) would start last
        graph = nx.DiGraph()
        graph.add_nodes_from(["model.p.a_leaf", "model.p.b_leaf", "model.p.z_head"])
        graph.add_edge("model.p.z_head", "test.p.unique_z_head")
        graph.add_edge("test.p.unique_z_head", "model.p.alerts")
        graph.add_edge("model.p.alerts", "seed.p.after")  # any other kind: 0.01 s
        queue = GraphQueue(graph, None, set(graph))
        order = [queue.inner.get()[1] for _ in range(3)]
        assert order == ["model.p.z_head", "model.p.a_leaf", "model.p.b_leaf"], order
        assert round(queue._scores["model.p.z_head"], 6) == -round(0.1 + 0.03 + 0.1 + 0.01, 6)
        assert round(queue._scores["test.p.unique_z_head"], 6) == -round(0.03 + 0.1 + 0.01, 6)
        assert queue._scores["model.p.a_leaf"] == -0.1

        # timed nodes weigh their seconds: a slow leaf goes before the short chain
        timed = {"model.p.b_leaf": 2.0, "model.p.z_head": 0.5, "model.p.alerts": 0.25}
        chains = dbtwork.chain_seconds(graph, timed)
        assert round(chains["model.p.z_head"], 6) == round(0.5 + 0.03 + 0.25 + 0.01, 6)
        assert chains["model.p.b_leaf"] == 2.0 and chains["model.p.a_leaf"] == 0.1
        dbtwork._node_seconds.update(timed)
        queue = GraphQueue(graph, None, set(graph))
        order = [queue.inner.get()[1] for _ in range(3)]
        assert order == ["model.p.b_leaf", "model.p.z_head", "model.p.a_leaf"], order
        """
    )


def test_a_node_is_handed_to_the_pool_only_when_a_thread_is_free():
    """dbt's pool runs what it was handed first in, first out: handed over early, a node
    waits behind what was handed before it, whatever its priority. A served command's
    queue hands out a node only while a thread is free."""
    _run_patched(
        """
        import threading
        from types import SimpleNamespace

        import networkx as nx
        from dbt.graph.queue import GraphQueue

        def graph():
            ready = nx.DiGraph()
            ready.add_nodes_from(["model.p.a", "model.p.b", "model.p.c"])
            return ready

        manifest = SimpleNamespace(expect=lambda unique_id: SimpleNamespace(unique_id=unique_id))
        queue = GraphQueue(graph(), manifest, set(graph()))
        dbtwork.limit_to_threads(queue, 2)
        first, second = queue.get().unique_id, queue.get().unique_id
        taken = []
        third = threading.Thread(target=lambda: taken.append(queue.get().unique_id), daemon=True)
        third.start()
        third.join(0.3)
        assert third.is_alive() and not taken  # both threads busy: the third node waits
        queue.mark_done(first)  # a node is done: its thread is free
        third.join(5)
        assert not third.is_alive()
        assert sorted([first, second, *taken]) == ["model.p.a", "model.p.b", "model.p.c"]

        # without a limit (a queue no task runs) every ready node is handed out at once
        free = GraphQueue(graph(), manifest, set(graph()))
        assert len({free.get().unique_id for _ in range(3)}) == 3
        """
    )


def test_an_event_nobody_receives_is_never_built():
    _run_patched(
        """
        import io, logging
        from dbt.adapters.events.types import SQLQuery
        from dbt_common.events.base_types import EventLevel
        from dbt_common.events.event_manager import EventManager
        from dbt_common.events.logger import LineFormat, LoggerConfig

        def manager(level):
            stream = io.StringIO()
            events = EventManager()
            events.add_logger(
                LoggerConfig(name=f"test-{level}", line_format=LineFormat.Json,
                             level=level, output_stream=stream)
            )
            return events, stream

        quiet, quiet_out = manager(EventLevel.INFO)
        event = SQLQuery(conn_name="c", sql="select 1", node_info={})
        assert "_pending" in event.__dict__  # not built when created
        quiet.fire_event(event)
        assert "_pending" in event.__dict__ and quiet_out.getvalue() == ""

        loud, loud_out = manager(EventLevel.DEBUG)
        loud.fire_event(event)
        assert '"sql": "select 1"' in loud_out.getvalue()
        assert event.sql == "select 1" and "_pending" not in event.__dict__

        # a callback receives every event, whatever the loggers' levels
        received = []
        quiet.add_callback(received.append)
        quiet.fire_event(SQLQuery(conn_name="c", sql="select 2", node_info={}))
        assert [msg.data.sql for msg in received] == ["select 2"]
        assert quiet_out.getvalue() == ""
        """
    )


def test_an_unreadable_or_foreign_cache_is_replaced(tmp_path):
    thresholds = gc.get_threshold()
    path = tmp_path / "jinja_code.marshal"
    try:
        for content in (b"not marshal", marshal.dumps(("python=0.0 jinja2=0", {"k": None}))):
            path.write_bytes(content)
            dbtwork.start_command({DBT_CODE_CACHE_ENV: str(path)})
            assert dbtwork._cache == {}
            assert gc.get_threshold() == dbtwork.GC_THRESHOLDS
            dbtwork._cache["key"] = compile("1 + 1", "<test>", "eval")
            dbtwork.end_command()
            versions, entries = marshal.loads(path.read_bytes())
            assert versions == dbtwork._versions()
            assert eval(entries["key"]) == 2  # noqa: S307 (a code object made above)
    finally:
        gc.set_threshold(*thresholds)
        dbtwork._cache.clear()


CONTEXTS = """\
import json
from aiusage import dbtwork
from dbt.cli.main import dbtRunner
from dbt.context.manifest import ManifestContext

copy_by_name = ManifestContext.to_dict
dbtwork._install_direct_macro_namespaces()
direct = ManifestContext.to_dict
assert direct is not copy_by_name
seen = []


def both(self):
    expected = dict(copy_by_name(self))
    actual = direct(self)
    macros = {
        name: (value.macro.package_name if hasattr(value, "macro") else sorted(value))
        for name, value in actual.items()
        if name in ("generate_alias_name", "served_by", "dbt", "mini")
    }
    # the macros are the same objects; the other members are made again by each copy
    names = set(self.namespace)
    differ = sorted(set(expected) ^ set(actual)) + sorted(
        name
        for name in set(expected) & set(actual)
        if (expected[name] is not actual[name])
        if name in names or type(expected[name]) is not type(actual[name])
    )
    seen.append([type(self).__name__, not differ, macros, differ])
    return actual


ManifestContext.to_dict = both
result = dbtRunner().invoke(["build", "-s", "answer", "--quiet"])
print(json.dumps({"success": result.success, "seen": seen}))
"""

OVERRIDE = """\
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
{{ node.name }}
{%- endmacro %}
"""


def test_a_context_gets_the_macros_dbt_would_give_it(tested_project):
    """The direct copy of a context's macros (dbtwork._install_direct_macro_namespaces)
    leaves every context of a build equal to dbt's own copy, and a project's macro that
    overrides one of dbt's is the one its nodes call, dbt's own still under `dbt.`."""
    (tested_project / "macros" / "alias.sql").write_text(OVERRIDE)
    run = subprocess.run(
        [sys.executable, "-c", CONTEXTS],
        cwd=tested_project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["success"]
    kinds = {kind for kind, *_ in result["seen"]}
    assert "ModelContext" in kinds, kinds  # the model's compilation and materialization
    assert all(equal for _, equal, *_ in result["seen"]), [s[3] for s in result["seen"] if not s[1]]
    model = next(macros for kind, _, macros, *_ in result["seen"] if kind == "ModelContext")
    assert model["generate_alias_name"] == "mini"  # the project's, before dbt's
    assert model["served_by"] == "mini"
    assert "generate_alias_name" in model["dbt"]  # dbt's, by its package name
    assert "served_by" in model["mini"] and "generate_alias_name" in model["mini"]


def test_agate_tables_typed_by_shared_testers_equal_dbts(monkeypatch):
    """dbtwork._install_shared_type_testers: the tables dbt makes of query results (typed
    columns, text columns kept as text, empty tables) equal those of dbt's own helpers, and
    a second table of the same text columns reuses the first one's tester."""
    import datetime as dt
    from decimal import Decimal

    from dbt_common.clients import agate_helper

    for name in ("build_type_tester", "empty_table"):  # restored after the test
        monkeypatch.setattr(agate_helper, name, getattr(agate_helper, name))
    names = ["n", "text", "amount", "day", "at", "flag", "nothing", "blank", "nested"]
    data = [
        dict(zip(names, row, strict=True))
        for row in (
            [1, "null", Decimal("1.5"), dt.date(2026, 12, 1), dt.datetime(2026, 12, 1, 3), True,
             None, "", {"a": [1]}],
            [2, "005", Decimal("2"), dt.date(2026, 12, 2), dt.datetime(2026, 12, 2, 4), False,
             None, "x", [2]],
        )
    ]  # fmt: skip

    def tables() -> list:
        made = [
            agate_helper.table_from_data_flat(data, names),
            agate_helper.table_from_rows([[1, "a"], [None, "null"]], ["x", "y"], ["y"]),
            agate_helper.table_from_rows([[1, "a"]], ["x", "y"]),
            agate_helper.empty_table(),
        ]
        return [
            (
                list(table.column_names),
                [(type(t).__name__, getattr(t, "null_values", None)) for t in table.column_types],
                [tuple(row) for row in table.rows],
            )
            for table in made
        ]

    expected = tables()
    assert expected[0][1][1] == ("Text", [])  # text columns kept as text, "null" not null
    dbtwork._install_shared_type_testers()
    assert tables() == expected
    first = agate_helper.build_type_tester(["text", "blank"], string_null_values=())
    assert agate_helper.build_type_tester({"blank", "text"}, string_null_values=()) is first
    assert agate_helper.build_type_tester(["text"]) is not first  # other columns: its own
