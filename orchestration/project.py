"""The dbt project as Dagster sees it (dagster-dbt DbtProject)."""

from __future__ import annotations

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
    """
    settings = settings or Settings.from_env()
    manifest = warehouse_project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(
        warehouse_project.project_dir
    ):
        return manifest
    env = {**settings.dbt_env()}
    completed = subprocess.run(
        [dbt_executable(), "parse", "--quiet"],
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
    return manifest


if using_dagster_dev():
    # Under `dagster dev` the manifest is refreshed on every code reload when the project
    # changed. Not DbtProject.prepare_if_dev(): it looks for `dbt` on PATH, which a venv
    # that is not activated does not provide.
    ensure_manifest()
