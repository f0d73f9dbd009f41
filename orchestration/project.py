"""The dbt project as Dagster sees it (dagster-dbt DbtProject)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from orchestration.settings import DEFAULT_PROJECT_DIR, Settings

warehouse_project = DbtProject(
    project_dir=DEFAULT_PROJECT_DIR,
    profiles_dir=DEFAULT_PROJECT_DIR,
    # dbt's own DBT_TARGET_PATH, so parallel checkouts or test sessions can keep apart.
    target_path=os.environ.get("DBT_TARGET_PATH", "target"),
)


def dbt_executable() -> str:
    """The dbt of this installation, found even when its venv is not activated (the Dagster
    code server of `dagster dev` may run with a resolved interpreter path and a PATH without
    the venv): AIUSAGE_DBT_EXECUTABLE, then next to the interpreter, in the interpreter's
    prefix, in the project's .venv, then on PATH."""
    candidates = [
        os.environ.get("AIUSAGE_DBT_EXECUTABLE"),
        Path(sys.executable).with_name("dbt"),
        Path(sys.prefix) / "bin" / "dbt",
        DEFAULT_PROJECT_DIR / ".venv" / "bin" / "dbt",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
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


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for folder in ("models", "seeds", "macros", "tests/dbt"):
        for path in (project_dir / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    for name in ("dbt_project.yml", "profiles.yml"):
        newest = max(newest, (project_dir / name).stat().st_mtime)
    return newest


def ensure_manifest(settings: Settings | None = None) -> Path:
    """Parse the dbt project when target/manifest.json is missing or older than its sources.

    Called by the CLI before the Dagster definitions are loaded (they read the manifest).
    The parse also leaves target/partial_parse.msgpack, which dagster-dbt copies into each
    invocation's target folder: with the same vars (see dbt_vars) and environment, the dbt
    invocations of a refresh then skip parsing. A stamp beside the manifest records the
    vars and environment of the parse; when they change, the project is parsed again.
    """
    settings = settings or Settings.from_env()
    manifest = warehouse_project.manifest_path
    env = {**settings.dbt_env()}
    parse_vars = dbt_vars(settings)
    stamp = manifest.with_name("aiusage_parse.json")
    wanted = json.dumps({"vars": parse_vars, "env": env}, sort_keys=True)
    if (
        manifest.exists()
        and manifest.with_name("partial_parse.msgpack").exists()
        and stamp.exists()
        and stamp.read_text(encoding="utf-8") == wanted
        and manifest.stat().st_mtime >= _newest_source_mtime(warehouse_project.project_dir)
    ):
        return manifest
    completed = subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--vars", parse_vars],
        cwd=warehouse_project.project_dir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            "dbt parse failed:\n" + (completed.stdout[-4000:] + completed.stderr[-4000:])
        )
    stamp.write_text(wanted, encoding="utf-8")
    return manifest


if using_dagster_dev():
    # Under `dagster dev` the manifest is refreshed on every code reload when the project
    # changed. Not DbtProject.prepare_if_dev(): it looks for `dbt` on PATH, which a venv
    # that is not activated does not provide.
    ensure_manifest()
