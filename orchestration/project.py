"""The dbt project as Dagster sees it: a DbtProject in the folder the settings name."""

from __future__ import annotations

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from aiusage.project import ensure_manifest
from aiusage.settings import Settings


def warehouse_project(settings: Settings) -> DbtProject:
    """The dbt project of the settings (AIUSAGE_PROJECT_DIR or the working directory), with
    its manifest parsed when it is missing or older than the models (the dbt assets are
    built from it). Under `dagster dev` the parse also matches the environment, so the runs
    it launches parse partially; `aiusage build` does the same before its run."""
    ensure_manifest(settings, match_environment=using_dagster_dev())
    return DbtProject(
        project_dir=settings.project_dir,
        profiles_dir=settings.project_dir,
        target_path=settings.dbt_target_path,
    )
