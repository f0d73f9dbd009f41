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
