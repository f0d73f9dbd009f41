"""Runtime settings: the only reader of the environment, read when called, never at import.

| variable | default | meaning |
|---|---|---|
| AIUSAGE_PROJECT_DIR | the working directory (*) | the dbt project every command works on |
| AIUSAGE_DUCKDB_PATH | data/warehouse.duckdb | the warehouse file dbt builds |
| AIUSAGE_LANDING_DIR | data/landing | landed files, <landing>/<source>/dt=YYYY-MM-DD/* |
| AIUSAGE_PUBLISHED_DIR | data/published | read-only snapshots for readers (aiusage.snapshot) |
| DAGSTER_HOME | data/dagster_home | the Dagster instance of `make dagster` (runs, sensor cursors) |
| AIUSAGE_BI_HOME | data/bi | Superset's metadata, secret key and screenshots of `make bi` |
| AIUSAGE_GX_DOCS_DIR | data/gx_docs | where Great Expectations Data Docs are built |
| AIUSAGE_REPORTS_DIR | data/reports | where the weekly report is written |
| AIUSAGE_DELIVERY_STATE_PATH | beside the warehouse | alert and report state, API tokens (SQLite) |
| AIUSAGE_REJECT_THRESHOLD | 0.05 | share of bad lines in a landed file that stops a refresh |
| AIUSAGE_LOOKBACK_DAYS | 3 | landing days the landed-batch check validates (and Spark re-reads) |
| AIUSAGE_SCHEDULE_TIMEZONE | UTC | time zone of the schedules and of the weekly report's week |
| AIUSAGE_FRESHNESS_HOURS | 26 | a mart not refreshed for this long fails its freshness check |
| AIUSAGE_PUBLISH_KEEP | 5 | published snapshots kept (older ones are deleted) |
| AIUSAGE_PUBLISH_GRACE_SECONDS | 3600 | a snapshot is kept this long after it stops being current |
| AIUSAGE_DUCKDB_MEMORY_LIMIT | 2300MB | DuckDB memory_limit of dbt (profiles.yml) and publish |
| AIUSAGE_DUCKDB_THREADS | 2 | DuckDB threads (and dbt threads) |
| AIUSAGE_DBT_TARGET | duckdb | the profiles.yml target (duckdb, spark, spark_thrift, databricks) |
| AIUSAGE_DBT_EXECUTABLE | aiusage-dbt: the warm dbt server | another dbt, run as it is |
| DBT_TARGET_PATH | target | dbt's own target folder (relative to the project) |
| AIUSAGE_DBT_TARGETS_KEEP | 3 | folders of dbt invocations kept in the target folder (newest) |
| AIUSAGE_API_RATE_LIMIT | 120 | API requests per minute per token |
| SLACK_WEBHOOK_URL | unset | Slack incoming webhook (secret) |
| AIUSAGE_SMTP_HOST, _PORT, _STARTTLS, _SSL, _USER, ... | unset | e-mail (SmtpSettings) |

(*) or the nearest folder above it that holds a dbt_project.yml. The delivery state file
defaults to delivery_state.sqlite in the warehouse's folder. Relative paths are resolved
against the project directory, so the CLI, Dagster and dbt
agree on one file whatever the working directory. Secrets (the webhook URL, the SMTP
password) never appear in a repr, a log line or an error message.

Below the settings, the process helpers the `aiusage` executable and the dbt server share:
the process environment, and `leave` (an exit without the interpreter's teardown).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import NoReturn

# DuckDB's memory limit for dbt and publish, unless AIUSAGE_DUCKDB_MEMORY_LIMIT sets one; the
# same default as profiles.yml's. 2300MB keeps the 10M full build's largest process (the dbt
# command: this limit plus dbt and Python) within issue 16's 3 GB: 2.78-2.82 GB, against 3.08 GB
# at 2500MB (docs/performance.md, thirty-first round).
DUCKDB_MEMORY_LIMIT = "2300MB"


class SettingsError(ValueError):
    """A variable with a value the warehouse cannot use (the message names it)."""


# the file of compiled Jinja a served dbt command reuses (aiusage.dbtwork)
DBT_CODE_CACHE_ENV = "AIUSAGE_DBT_CODE_CACHE"
# the file of each node's seconds, the order of a served command's nodes (aiusage.dbtwork)
DBT_NODE_SECONDS_ENV = "AIUSAGE_DBT_NODE_SECONDS"


def find_project_dir(start: Path) -> Path:
    """`start`, or the nearest folder above it holding dbt_project.yml; `start` when none
    does (commands that need the dbt project then say so)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "dbt_project.yml").is_file():
            return folder
    return start


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _number(env: Mapping[str, str], name: str, default, kind=float, minimum=None):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name} must be {noun}, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {raw!r}")
    return value


@dataclass(frozen=True)
class SmtpSettings:
    """E-mail delivery. AIUSAGE_SMTP_HOST enables it; AIUSAGE_SMTP_FROM and AIUSAGE_SMTP_TO
    (comma separated) are then required. Port: AIUSAGE_SMTP_PORT, else 465 with
    AIUSAGE_SMTP_SSL=true (implicit TLS), 587 with STARTTLS (AIUSAGE_SMTP_STARTTLS, default
    true unless SSL), 25 otherwise. AIUSAGE_SMTP_USER / AIUSAGE_SMTP_PASSWORD log in."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool
    use_ssl: bool
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings | None:
        host = env.get("AIUSAGE_SMTP_HOST")
        if not host:
            return None
        use_ssl = _flag(env.get("AIUSAGE_SMTP_SSL"), False)
        starttls = _flag(env.get("AIUSAGE_SMTP_STARTTLS"), not use_ssl)
        default_port = 465 if use_ssl else 587 if starttls else 25
        sender = env.get("AIUSAGE_SMTP_FROM")
        recipients = tuple(
            r.strip() for r in (env.get("AIUSAGE_SMTP_TO") or "").split(",") if r.strip()
        )
        if not sender or not recipients:
            raise SettingsError("AIUSAGE_SMTP_FROM and AIUSAGE_SMTP_TO must be set")
        return cls(
            host=host,
            port=_number(env, "AIUSAGE_SMTP_PORT", default_port, int, 1),
            sender=sender,
            recipients=recipients,
            starttls=starttls,
            use_ssl=use_ssl,
            user=env.get("AIUSAGE_SMTP_USER") or None,
            password=env.get("AIUSAGE_SMTP_PASSWORD") or None,
        )


def staging_duckdb_path(duckdb_path: Path | str) -> Path:
    """The DuckDB file of the staging tables (every parsed landed line) of the warehouse at
    `duckdb_path`: data/warehouse.duckdb -> data/warehouse.staging.duckdb. profiles.yml
    attaches it to every dbt run as database `staging` with the same rule, and the staging
    models build there (macro default__incremental_by_file): the warehouse's own file
    holds the marts, which publish copies into a snapshot, and no staging block."""
    return Path(str(duckdb_path).rsplit(".duckdb", 1)[0] + ".staging.duckdb")


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    duckdb_path: Path
    landing_dir: Path
    published_dir: Path
    gx_docs_dir: Path
    reports_dir: Path
    delivery_state_path: Path
    dagster_home: Path | None = None
    bi_home: Path | None = None
    reject_threshold: float = 0.05
    lookback_days: int = 3
    schedule_timezone: str = "UTC"
    freshness_hours: float = 26.0
    publish_keep: int = 5
    publish_grace: float = 3600.0
    duckdb_memory_limit: str = DUCKDB_MEMORY_LIMIT
    duckdb_threads: int = 2
    dbt_target: str = "duckdb"
    dbt_executable: str | None = None
    dbt_target_path: str = "target"
    dbt_targets_keep: int = 3
    api_rate_limit: int = 120
    slack_webhook_url: str | None = field(default=None, repr=False)
    smtp: SmtpSettings | None = None
    # Test hook of the crash-recovery tests (aiusage.snapshot.fault_point): inert unless set.
    fault_point: str | None = None
    fault_marker: str | None = None
    fault_seconds: float = 600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        configured = env.get("AIUSAGE_PROJECT_DIR")
        project_dir = (
            Path(configured).expanduser().resolve()
            if configured
            else find_project_dir(cwd or Path.cwd())
        )

        def path(var: str, default: str) -> Path:
            value = Path(env.get(var) or default).expanduser()
            return value if value.is_absolute() else (project_dir / value)

        duckdb_path = path("AIUSAGE_DUCKDB_PATH", "data/warehouse.duckdb")
        return cls(
            project_dir=project_dir,
            duckdb_path=duckdb_path,
            landing_dir=path("AIUSAGE_LANDING_DIR", "data/landing"),
            published_dir=path("AIUSAGE_PUBLISHED_DIR", "data/published"),
            gx_docs_dir=path("AIUSAGE_GX_DOCS_DIR", "data/gx_docs"),
            reports_dir=path("AIUSAGE_REPORTS_DIR", "data/reports"),
            delivery_state_path=(
                path("AIUSAGE_DELIVERY_STATE_PATH", "")
                if env.get("AIUSAGE_DELIVERY_STATE_PATH")
                else duckdb_path.parent / "delivery_state.sqlite"
            ),
            dagster_home=path("DAGSTER_HOME", "data/dagster_home"),
            bi_home=path("AIUSAGE_BI_HOME", "data/bi"),
            reject_threshold=_number(env, "AIUSAGE_REJECT_THRESHOLD", 0.05, float, 0),
            lookback_days=_number(env, "AIUSAGE_LOOKBACK_DAYS", 3, int, 0),
            schedule_timezone=env.get("AIUSAGE_SCHEDULE_TIMEZONE") or "UTC",
            freshness_hours=_number(env, "AIUSAGE_FRESHNESS_HOURS", 26.0, float, 0),
            publish_keep=max(1, _number(env, "AIUSAGE_PUBLISH_KEEP", 5, int)),
            publish_grace=_number(env, "AIUSAGE_PUBLISH_GRACE_SECONDS", 3600.0, float, 0),
            duckdb_memory_limit=env.get("AIUSAGE_DUCKDB_MEMORY_LIMIT") or DUCKDB_MEMORY_LIMIT,
            duckdb_threads=_number(env, "AIUSAGE_DUCKDB_THREADS", 2, int, 1),
            dbt_target=env.get("AIUSAGE_DBT_TARGET") or "duckdb",
            dbt_executable=env.get("AIUSAGE_DBT_EXECUTABLE") or None,
            dbt_target_path=env.get("DBT_TARGET_PATH") or "target",
            dbt_targets_keep=max(1, _number(env, "AIUSAGE_DBT_TARGETS_KEEP", 3, int)),
            api_rate_limit=_number(env, "AIUSAGE_API_RATE_LIMIT", 120, int, 1),
            slack_webhook_url=env.get("SLACK_WEBHOOK_URL") or None,
            smtp=SmtpSettings.from_env(env),
            fault_point=env.get("AIUSAGE_FAULT_POINT") or None,
            fault_marker=env.get("AIUSAGE_FAULT_MARKER") or None,
            fault_seconds=_number(env, "AIUSAGE_FAULT_SECONDS", 600.0, float, 0),
        )

    def with_overrides(self, **changes) -> Settings:
        """A copy with some fields changed (paths relative to the project directory)."""
        for name, value in changes.items():
            if isinstance(value, Path) and not value.is_absolute():
                changes[name] = self.project_dir / value
        return replace(self, **changes)

    @property
    def staging_duckdb_path(self) -> Path:
        """The DuckDB file of the staging tables, beside the warehouse's (staging_duckdb_path)."""
        return staging_duckdb_path(self.duckdb_path)

    @property
    def target_dir(self) -> Path:
        """dbt's target folder (DBT_TARGET_PATH, relative to the project)."""
        path = Path(self.dbt_target_path)
        return path if path.is_absolute() else self.project_dir / path

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt subprocesses: absolute paths, so dbt agrees with Python."""
        return {
            "AIUSAGE_DUCKDB_PATH": str(self.duckdb_path),
            "AIUSAGE_LANDING_DIR": str(self.landing_dir),
            "AIUSAGE_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "AIUSAGE_DUCKDB_THREADS": str(self.duckdb_threads),
            "AIUSAGE_DBT_TARGET": self.dbt_target,
            "DBT_PROFILES_DIR": str(self.project_dir),
            # compiled Jinja kept by the warm dbt server's commands (aiusage.dbtwork), in the
            # main target folder: dagster-dbt gives each invocation a folder of its own
            DBT_CODE_CACHE_ENV: str(self.target_dir / "aiusage_jinja_code.marshal"),
            # each node's seconds in the last served command that ran it: the order in
            # which the next command starts ready nodes (aiusage.dbtwork)
            DBT_NODE_SECONDS_ENV: str(self.target_dir / "aiusage_node_seconds.json"),
        }

    def subprocess_env(self) -> dict[str, str]:
        """The environment of a dbt subprocess: this process's, with the dbt settings."""
        return {**os.environ, **self.dbt_env()}

    def environ(self) -> dict[str, str]:
        """Every non-secret setting as its variable, so Settings.from_env() in this process
        (the Dagster resources of an in-process run) resolves to these settings."""
        return {
            **self.dbt_env(),
            "AIUSAGE_PROJECT_DIR": str(self.project_dir),
            "AIUSAGE_PUBLISHED_DIR": str(self.published_dir),
            "AIUSAGE_GX_DOCS_DIR": str(self.gx_docs_dir),
            "AIUSAGE_REPORTS_DIR": str(self.reports_dir),
            "AIUSAGE_DELIVERY_STATE_PATH": str(self.delivery_state_path),
            "AIUSAGE_REJECT_THRESHOLD": str(self.reject_threshold),
            "AIUSAGE_LOOKBACK_DAYS": str(self.lookback_days),
            "AIUSAGE_SCHEDULE_TIMEZONE": self.schedule_timezone,
            "AIUSAGE_FRESHNESS_HOURS": str(self.freshness_hours),
            "AIUSAGE_PUBLISH_KEEP": str(self.publish_keep),
            "AIUSAGE_PUBLISH_GRACE_SECONDS": str(self.publish_grace),
            "DBT_TARGET_PATH": self.dbt_target_path,
            "AIUSAGE_DBT_TARGETS_KEEP": str(self.dbt_targets_keep),
        }

    def apply_to_environ(self) -> None:
        """Export the resolved settings so every dbt invocation and every resource of this
        process uses them (secrets are already in the environment they came from)."""
        os.environ.update(self.environ())
        self.duckdb_path.parent.mkdir(parents=True, exist_ok=True)

    def describe(self) -> dict[str, str]:
        """The settings as text, secrets reduced to whether they are set."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "slack_webhook_url":
                value = "set" if value else "unset"
            elif f.name == "smtp":
                value = f"{value.host}:{value.port}" if value else "unset"
            out[f.name] = str(value)
        return out


def quiet_library_telemetry() -> None:
    """Turn off the usage analytics of libraries that phone home (Great Expectations reads
    GX_ANALYTICS_ENABLED when it is imported); a value the user set is kept."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


# --- the process environment, for the warm dbt server (aiusage.dbtserver) -----------------


def process_environment() -> dict[str, str]:
    """A copy of this process's environment: what a command sent to the dbt server runs with."""
    return dict(os.environ)


def set_process_variable(name: str, value: str | None) -> None:
    """Set (or, with None, remove) one variable of this process's environment, so every
    subprocess it starts sees it (the dbt server's socket)."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def adopt_environment(env: Mapping[str, str]) -> None:
    """Replace this process's environment with env: a command forked by the dbt server runs
    with its caller's environment, not the server's."""
    os.environ.clear()
    os.environ.update(env)


# --- leaving a process (the `aiusage` executable, a dbt command of the dbt server) --------


def leave(code: int) -> NoReturn:
    """End this process as the interpreter ends it, up to its teardown: wait for the threads
    that are not daemons, run the exit handlers (dbt-duckdb closes its database there, so
    DuckDB checkpoints the file and removes its WAL; multiprocessing releases its locks;
    logging flushes its files; in the `aiusage` executable, its dbt server and GX worker
    are stopped), flush the standard streams, then leave with `code`. The teardown skipped,
    freeing every object the process loaded one by one, took 1-1.8 s after each `aiusage
    build` and 0.2-0.35 s after each served dbt command, and writes nothing
    (docs/performance.md)."""
    threading._shutdown()  # noqa: SLF001 (what Py_Finalize runs first)
    atexit._run_exitfuncs()  # noqa: SLF001 (then the exit handlers)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that left, a closed stream
            stream.flush()
    os._exit(code)
