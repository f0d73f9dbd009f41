"""The dbt project every command works on: its folder (from the settings, never from where
this package is installed), its dbt executable, its manifest and the marts it defines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from aiusage.errors import AiusageError
from aiusage.settings import Settings


def manifest_path(settings: Settings) -> Path:
    return settings.target_dir / "manifest.json"


def dbt_executable(settings: Settings) -> str:
    """The dbt of this installation, found even when its venv is not activated (the Dagster
    code server of `dagster dev` may run with a resolved interpreter path and a PATH without
    the venv): AIUSAGE_DBT_EXECUTABLE, then installed_dbt."""
    if settings.dbt_executable and Path(settings.dbt_executable).exists():
        return str(settings.dbt_executable)
    return installed_dbt(settings.project_dir)


def installed_dbt(project_dir: Path | None = None) -> str:
    """The `dbt` executable next to the interpreter, in the interpreter's prefix, in the
    project's .venv, then on PATH (the warm dbt server's client falls back to it)."""
    candidates = [Path(sys.executable).with_name("dbt"), Path(sys.prefix) / "bin" / "dbt"]
    if project_dir is not None:
        candidates.append(project_dir / ".venv" / "bin" / "dbt")
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def dbt_vars(settings: Settings, extra: dict | None = None) -> str:
    """The --vars of every dbt invocation, as JSON with sorted keys. The manifest is parsed
    with the same vars, so dbt can partially parse: vars that differ from the last parse
    make dbt re-parse the whole project (about 20 s), in every invocation of a refresh."""
    values = {
        "lookback_days": settings.lookback_days,
        "reject_rate_threshold": settings.reject_threshold,
        **(extra or {}),
    }
    return json.dumps(values, sort_keys=True)


# The dbt project's own files: what a parse reads, and what a refresh compares
# (aiusage.changes). Seeds are listed apart: a refresh tells a change of seeds from the rest.
PROJECT_FOLDERS = ("models", "macros", "tests/dbt", "analyses", "snapshots")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")


def project_files(project_dir: Path, with_seeds: bool = True) -> list[Path]:
    """Every file of the dbt project under `project_dir`, sorted."""
    folders = (*PROJECT_FOLDERS, "seeds") if with_seeds else PROJECT_FOLDERS
    found = [p for folder in folders for p in (project_dir / folder).rglob("*") if p.is_file()]
    found += [project_dir / name for name in PROJECT_FILES if (project_dir / name).is_file()]
    return sorted(found)


def _newest_source_mtime(project_dir: Path) -> float:
    return max((path.stat().st_mtime for path in project_files(project_dir)), default=0.0)


def ensure_manifest(
    settings: Settings, match_environment: bool = True, dbt: str | None = None
) -> Path:
    """Parse the dbt project when its manifest is missing or older than its sources, with
    `dbt` (default: dbt_executable; a refresh passes its own, which runs the parse in the
    warm dbt server when one runs).

    The Dagster definitions read the manifest (its models and tests), which does not depend
    on the paths of the environment: for them `match_environment=False` is enough. A refresh
    wants more: the parse also leaves partial_parse.msgpack, which dagster-dbt copies into
    each invocation's target folder, and with the same vars (see dbt_vars) and environment
    the dbt invocations of the refresh then skip parsing. A stamp beside the manifest records
    the vars and environment of the parse; with `match_environment`, a parse made with other
    ones is made again.
    """
    project_dir = settings.project_dir
    if not (project_dir / "dbt_project.yml").is_file():
        raise AiusageError(
            f"no dbt project (dbt_project.yml) in {project_dir} or above: run aiusage from the "
            "project folder or set AIUSAGE_PROJECT_DIR"
        )
    manifest = manifest_path(settings)
    env = settings.dbt_env()
    parse_vars = dbt_vars(settings)
    stamp = manifest.with_name("aiusage_parse.json")
    wanted = json.dumps({"vars": parse_vars, "env": env}, sort_keys=True)
    if (
        manifest.exists()
        and manifest.with_name("partial_parse.msgpack").exists()
        and stamp.exists()
        and (not match_environment or stamp.read_text(encoding="utf-8") == wanted)
        and manifest.stat().st_mtime >= _newest_source_mtime(project_dir)
    ):
        return manifest
    completed = subprocess.run(
        [dbt or dbt_executable(settings), "parse", "--quiet", "--vars", parse_vars],
        cwd=project_dir,
        env=settings.subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise AiusageError(
            "dbt parse failed: " + (completed.stdout[-2000:] + completed.stderr[-2000:])
        )
    stamp.write_text(wanted, encoding="utf-8")
    return manifest


def load_manifest(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# The where configs of a test on the rows a refresh rewrote: its landing days, its usage
# days (macros/tests/where_landing_window.sql).
LANDING_WINDOW = "__landing_window__"
USAGE_WINDOW = "__usage_window__"


@dataclass(frozen=True)
class Mart:
    """A mart relation: the dbt model name and its schema, and its key: a column with a
    blocking (error-severity) `unique` test on every row, or on the rows each refresh
    rewrites (`where: __landing_window__`), by which publish orders the rows of its Parquet
    export (None: ordered by every column). `incremental`: an incremental model (publish
    keeps one with usage days per usage day). `by_rewritten_days`: its model declares (meta
    publish_by_rewritten_days) that a refresh writes rows only into the landing days from
    the cutoff its run logs (table aiusage_landing_rewrites) and older days can only lose
    rows; publish then fingerprints only those days and the days whose row count moved.
    `view_over`: a view mart whose model declares meta publish_as_view: the snapshot keeps
    it a view, over the relations it reads (named here), which publish keeps beside it as
    tables (`support`: published for that view, no Parquet file of their own; so are the
    seeds an exposure reads, such as the report's fx_rates); a view mart with a usage_date
    is exported one Parquet file per usage day."""

    name: str
    schema: str
    key: str | None = None
    incremental: bool = False
    by_rewritten_days: bool = False
    view_over: tuple[str, ...] = ()
    support: bool = False


def _unique_keys(manifest: dict) -> dict[str, str]:
    """{model unique_id: column} of the columns that identify a model's rows: unique (a
    `unique` or `primary_key` constraint of an enforced contract, or an error-severity
    `unique` or `primary_key` test, unfiltered or on the rows each refresh rewrote: the
    __landing_window__ and __usage_window__ placeholders, where a full build tests every row
    and a refresh can only repeat a key in the rows it rewrites) and not null (a `not_null`
    or `primary_key` constraint or test; dbt's unique test passes repeated nulls)."""
    unique, not_null = {}, set()
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and (node["config"].get("contract") or {}).get(
            "enforced"
        ):
            for name, column in node["columns"].items():
                kinds = {c.get("type") for c in column.get("constraints") or []}
                if kinds & {"unique", "primary_key"}:
                    unique.setdefault(node["unique_id"], name)
                if kinds & {"not_null", "primary_key"}:
                    not_null.add((node["unique_id"], name))
        metadata = node.get("test_metadata") or {}
        config = node.get("config") or {}
        column = (metadata.get("kwargs") or {}).get("column_name")
        if not (
            node["resource_type"] == "test"
            and node.get("attached_node")
            and column
            and column.isidentifier()
            and str(config.get("severity", "error")).lower() == "error"
            and config.get("where") in (None, "", LANDING_WINDOW, USAGE_WINDOW)
        ):
            continue
        if metadata.get("name") in ("unique", "primary_key"):
            unique.setdefault(node["attached_node"], column)
        if metadata.get("name") in ("not_null", "primary_key"):
            not_null.add((node["attached_node"], column))
    return {model: column for model, column in unique.items() if (model, column) in not_null}


def _mart_nodes(manifest: dict) -> list[dict]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["fqn"][1:2] == ["marts"]
        and node["config"].get("materialized") != "ephemeral"
    ]


def _relation(node: dict, key: str | None = None, **fields) -> Mart:
    materialized = node["config"].get("materialized")
    return Mart(
        name=node.get("alias") or node["name"],
        schema=node["schema"],
        key=key,
        incremental=materialized == "incremental",
        by_rewritten_days=materialized == "incremental"
        and bool((node["config"].get("meta") or {}).get("publish_by_rewritten_days")),
        **fields,
    )


def _view_sources(node: dict, nodes: dict) -> list[dict]:
    """The models a mart published as a view reads (meta publish_as_view): each must be a
    table (or incremental) model, so that the snapshot can hold it beside the view."""
    sources = []
    for parent in node["depends_on"]["nodes"]:
        source = nodes.get(parent)
        if source is None or source["resource_type"] != "model":
            raise AiusageError(
                f"{node['name']} is published as a view (meta publish_as_view) but reads "
                f"{parent}, which is not a model: the snapshot could not hold it"
            )
        if source["config"].get("materialized") not in ("table", "incremental"):
            raise AiusageError(
                f"{node['name']} is published as a view (meta publish_as_view) but reads "
                f"{source['name']}, a {source['config'].get('materialized')}: it must be a "
                "table or an incremental model, kept in the snapshot beside the view"
            )
        sources.append(source)
    return sources


def mart_relations(manifest_file: Path) -> list[Mart]:
    """Models under models/marts (not ephemeral), from the dbt manifest; as `support`
    relations (in the snapshot, no Parquet file), the models a mart published as a view
    reads (meta publish_as_view, materialized as a view: macro view_materialization) and
    the seeds and models outside the marts that an exposure reads."""
    manifest = load_manifest(manifest_file)
    keys = _unique_keys(manifest)
    relations: dict[str, Mart] = {}
    supports: dict[str, Mart] = {}
    for node in _mart_nodes(manifest):
        meta = node["config"].get("meta") or {}
        # a view on DuckDB; on an engine where the model is a table (Spark), a plain mart
        as_view = bool(meta.get("publish_as_view")) and node["config"]["materialized"] == "view"
        sources = _view_sources(node, manifest["nodes"]) if as_view else []
        mart = _relation(
            node,
            keys.get(node["unique_id"]),
            view_over=tuple(source.get("alias") or source["name"] for source in sources),
        )
        relations[mart.name] = mart
        for source in sources:
            support = _relation(source, support=True)
            supports[support.name] = support
    for name, support in supports.items():
        if name in relations:
            raise AiusageError(
                f"{name} is both a mart and a relation a mart published as a view reads: "
                "the view must read models outside models/marts"
            )
        relations[name] = support
    for node in _exposure_reads_outside_marts(manifest):
        support = _relation(node, support=True)
        relations.setdefault(support.name, support)
    return sorted(relations.values(), key=lambda m: m.name)


def _exposure_reads_outside_marts(manifest: dict) -> list[dict]:
    """The seeds and models outside models/marts that an exposure reads (the report's
    `fx_rates`): published as support relations, since readers open the snapshot."""
    marts = {node["unique_id"] for node in _mart_nodes(manifest)}
    reads = {
        parent
        for exposure in manifest.get("exposures", {}).values()
        for parent in exposure["depends_on"]["nodes"]
        if parent not in marts
    }
    return [
        manifest["nodes"][parent]
        for parent in sorted(reads)
        if parent in manifest["nodes"]
        and manifest["nodes"][parent]["resource_type"] in ("seed", "model")
        and manifest["nodes"][parent]["config"].get("materialized") != "ephemeral"
    ]


def mart_contracts(manifest_file: Path) -> dict[str, dict[str, str]]:
    """{mart: {column: data_type}} of every mart with an enforced contract, columns in
    contract order."""
    out: dict[str, dict[str, str]] = {}
    for node in _mart_nodes(load_manifest(manifest_file)):
        if (node["config"].get("contract") or {}).get("enforced"):
            out[node["name"]] = {
                name: column["data_type"] for name, column in node["columns"].items()
            }
    return dict(sorted(out.items()))
