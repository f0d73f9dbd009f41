"""A copy of this checkout's dbt project in a temporary folder: what a user gets when they
copy the project elsewhere (AIUSAGE_PROJECT_DIR or the working directory names it)."""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "otel_attribution.yml")
PROJECT_FOLDERS = ("models", "macros", "seeds", "expectations", "tests/dbt")


def copy_project(destination: Path) -> Path:
    """Copy the dbt project (no data, no target, no venv) to `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy(PROJECT_DIR / name, destination / name)
    for folder in PROJECT_FOLDERS:
        shutil.copytree(
            PROJECT_DIR / folder,
            destination / folder,
            ignore=shutil.ignore_patterns("uncommitted", "__pycache__"),
        )
    return destination


def build_selection(root: Path, landing: Path, selection: str, reject_rate: float) -> dict:
    """`dbt build -s <selection>` of this checkout's project over the files of `landing`,
    into <root>/wh.duckdb (target and logs under `root`; cli_env.dbt_command, as a refresh
    runs dbt); fails the test with dbt's output
    when the build fails. `reject_rate` is the reject-rate gate of the build: a test that
    lands bad rows on purpose raises it. Returns the environment the build ran with."""
    from tests.support.cli_env import dbt_command, dbt_env

    env = dbt_env(root, PROJECT_DIR, AIUSAGE_LANDING_DIR=str(landing))
    result = dbt_command(
        env, PROJECT_DIR, "build", "-s", *selection.split(), "--quiet",
        "--vars", f'{{"reject_rate_threshold": {reject_rate}}}',
        "--indirect-selection", "cautious",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return env
