"""Settings: the only reader of the environment, at call time; the project from the settings,
never from where the package is installed; secrets never shown."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from aiusage.settings import Settings, SettingsError
from tests.conftest import PROJECT_DIR

CODE = [PROJECT_DIR / "src" / "aiusage", PROJECT_DIR / "orchestration"]


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        attribute = (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "environb")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )
        imported = (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and bool({a.name for a in node.names} & {"environ", "getenv"})
        )
        if attribute or imported:
            lines.append(node.lineno)
    return lines


def test_only_the_settings_module_reads_the_environment():
    offenders = {}
    for root in CODE:
        for path in root.rglob("*.py"):
            if path.name == "settings.py" and path.parent.name == "aiusage":
                continue
            found = _reads_environment(ast.parse(path.read_text(encoding="utf-8")))
            if found:
                offenders[str(path.relative_to(PROJECT_DIR))] = found
    assert offenders == {}


def test_the_environment_is_read_when_called(monkeypatch):
    monkeypatch.setenv("AIUSAGE_LOOKBACK_DAYS", "5")
    assert Settings.from_env().lookback_days == 5
    monkeypatch.setenv("AIUSAGE_LOOKBACK_DAYS", "9")
    assert Settings.from_env().lookback_days == 9


def test_the_project_is_the_working_directory_or_the_variable(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "models" / "marts").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    monkeypatch.delenv("AIUSAGE_PROJECT_DIR", raising=False)
    for key in ("AIUSAGE_DUCKDB_PATH", "AIUSAGE_LANDING_DIR"):
        monkeypatch.delenv(key, raising=False)
    from_subfolder = Settings.from_env(cwd=project / "models" / "marts")
    assert from_subfolder.project_dir == project
    assert from_subfolder.duckdb_path == project / "data" / "warehouse.duckdb"
    assert from_subfolder.landing_dir == project / "data" / "landing"
    monkeypatch.setenv("AIUSAGE_PROJECT_DIR", str(PROJECT_DIR))
    assert Settings.from_env(cwd=project).project_dir == PROJECT_DIR
    # never the folder the package was installed from
    elsewhere = Settings.from_env(env={}, cwd=tmp_path)
    assert elsewhere.project_dir == tmp_path.resolve()


def test_secrets_never_show(monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/very-secret")
    monkeypatch.setenv("AIUSAGE_SMTP_HOST", "smtp.example.test")
    monkeypatch.setenv("AIUSAGE_SMTP_FROM", "a@example.test")
    monkeypatch.setenv("AIUSAGE_SMTP_TO", "b@example.test")
    monkeypatch.setenv("AIUSAGE_SMTP_PASSWORD", "hunter2-secret")
    settings = Settings.from_env()
    shown = repr(settings) + str(settings.describe()) + str(settings.environ())
    assert "very-secret" not in shown and "hunter2" not in shown
    assert settings.slack_webhook_url.endswith("very-secret")
    assert settings.smtp.password == "hunter2-secret" and settings.smtp.port == 587


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AIUSAGE_LOOKBACK_DAYS", "three", "AIUSAGE_LOOKBACK_DAYS must be a whole number"),
        ("AIUSAGE_REJECT_THRESHOLD", "-1", "AIUSAGE_REJECT_THRESHOLD must be at least 0"),
        ("AIUSAGE_API_RATE_LIMIT", "0", "AIUSAGE_API_RATE_LIMIT must be at least 1"),
        ("AIUSAGE_SMTP_HOST", "smtp.example.test", "AIUSAGE_SMTP_FROM and AIUSAGE_SMTP_TO"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, variable, value, message):
    for name in ("AIUSAGE_SMTP_FROM", "AIUSAGE_SMTP_TO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_paths_resolve_against_the_project(monkeypatch, tmp_path):
    monkeypatch.setenv("AIUSAGE_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", "w/warehouse.duckdb")
    monkeypatch.delenv("AIUSAGE_DELIVERY_STATE_PATH", raising=False)
    settings = Settings.from_env()
    assert settings.duckdb_path == tmp_path / "w" / "warehouse.duckdb"
    assert settings.delivery_state_path == tmp_path / "w" / "delivery_state.sqlite"
    assert Path(settings.environ()["AIUSAGE_DUCKDB_PATH"]).is_absolute()


def test_the_profiles_defaults_are_the_settings_defaults():
    """aiusage passes its DuckDB settings to dbt (`Settings.dbt_env`); profiles.yml's own
    defaults serve dbt run by hand, and must be the same values (the memory limit keeps the
    10M full build within 3 GB: docs/performance.md, thirty-first round)."""
    import re

    from aiusage.settings import DUCKDB_MEMORY_LIMIT

    profiles = (PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    defaults = {
        name: set(re.findall(rf"env_var\('{name}', '([^']*)'\)", profiles))
        for name in ("AIUSAGE_DUCKDB_MEMORY_LIMIT", "AIUSAGE_DUCKDB_THREADS")
    }
    settings = Settings.from_env({})
    assert DUCKDB_MEMORY_LIMIT == settings.duckdb_memory_limit == "2300MB"
    assert defaults == {
        "AIUSAGE_DUCKDB_MEMORY_LIMIT": {settings.duckdb_memory_limit},
        "AIUSAGE_DUCKDB_THREADS": {str(settings.duckdb_threads)},
    }
