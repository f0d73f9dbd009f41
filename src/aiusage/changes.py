"""What changed since the last successful refresh.

The inputs of a refresh are the landed files, the seeds, the dbt project (models, macros,
tests, dbt_project.yml, profiles.yml) and the settings that reach dbt (its vars and
environment). `refresh_inputs` records them in a few digests (the landed files by path,
size and modification time, never by reading them; the project files by content), the
landing step of every refresh records them at its start, and publish stores them in the
snapshot's run.json. At the start of the next refresh, `plan` compares them:

* nothing changed, and the warehouse and its published snapshot are where run.json says:
  the refresh has nothing to do. `aiusage build`, the landing sensor and the daily schedule
  say so and stop (they still deliver what is due: alerts a channel failed to take, the
  weekly report);
* only seeds changed: dbt builds those seeds and the models downstream of them;
* seeds unchanged (new landed files, a model or a setting changed): everything but the
  seeds, which the warehouse already holds as they are (and their checks passed); when
  only landed files changed, not the models that no changed source feeds either (the
  staging of the other sources, the marts read from seeds alone: they are what the last
  build made);
* anything else (or no record: a first build, a snapshot published before this record
  existed): a normal refresh.

A backfill or a full refresh always runs: it was asked for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aiusage.landing import SOURCE_NAMES, inventory
from aiusage.settings import Settings


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:32]


@dataclass(frozen=True)
class RefreshInputs:
    """Digests of everything a refresh reads."""

    landing: dict[str, str] = field(default_factory=dict)  # source -> its files' stamps
    seeds: dict[str, str] = field(default_factory=dict)  # seed name -> content digest
    project: str = ""  # models, macros, tests, dbt_project.yml, profiles.yml
    settings: str = ""  # the dbt vars and environment

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict | None) -> RefreshInputs | None:
        if not isinstance(value, dict) or set(value) != set(cls.__dataclass_fields__):
            return None
        return cls(**value)


def refresh_inputs(settings: Settings) -> RefreshInputs:
    from aiusage.project import dbt_vars, project_files

    project_dir = settings.project_dir
    landing = {name: _digest(inventory(settings.landing_dir, (name,))) for name in SOURCE_NAMES}
    seeds = {
        path.stem: _file_digest(path) for path in sorted((project_dir / "seeds").glob("*.csv"))
    }
    files = {
        path.relative_to(project_dir).as_posix(): _file_digest(path)
        for path in project_files(project_dir, with_seeds=False)
    }
    # profiles.yml is part of the project; where the project sits is not an input
    environment = {k: v for k, v in settings.dbt_env().items() if k != "DBT_PROFILES_DIR"}
    return RefreshInputs(
        landing=landing,
        seeds=seeds,
        project=_digest(files),
        settings=_digest({"vars": dbt_vars(settings), "env": environment}),
    )


@dataclass(frozen=True)
class RefreshPlan:
    """What a refresh has to do, against the last published one."""

    inputs: RefreshInputs
    nothing_new: bool = False
    changed_seeds: tuple[str, ...] = ()  # set when seeds are the only change
    reason: str = ""  # one line for the user
    changed: tuple[str, ...] = ()  # the parts that changed; empty: unknown (run everything)
    changed_sources: tuple[str, ...] = ()  # the landing sources whose files changed

    @property
    def seeds_only(self) -> bool:
        return bool(self.changed_seeds)

    @property
    def runs_expectations(self) -> bool:
        """The refresh will run GX suites: over changed seeds, or over landed files that
        changed (the landed-batch check validates new and changed files only). Unknown
        changes (a first build, a backfill) count as both."""
        return not self.nothing_new and (
            not self.changed or "landing" in self.changed or "seeds" in self.changed
        )

    @property
    def seeds_unchanged(self) -> bool:
        """The seeds are those the warehouse was built with: not reloaded, not re-checked."""
        return bool(self.changed) and "seeds" not in self.changed


def plan(settings: Settings, options=None) -> RefreshPlan:
    """Compare the inputs now with those of the current published snapshot."""
    from aiusage.snapshot import current_run, file_stamp, published_duckdb_path

    inputs = refresh_inputs(settings)
    if options is not None and (options.full_refresh or options.is_backfill):
        return RefreshPlan(inputs, reason="a full refresh or backfill was asked for")
    run = current_run(settings)
    previous = RefreshInputs.from_json(run.get("inputs")) if run else None
    if previous is None:
        return RefreshPlan(inputs, reason="no earlier refresh recorded its inputs")
    if not settings.duckdb_path.is_file():
        return RefreshPlan(inputs, reason=f"no warehouse at {settings.duckdb_path}")
    if run.get("source_duckdb") != str(settings.duckdb_path):
        return RefreshPlan(inputs, reason="the published snapshot came from another warehouse")
    wal = settings.duckdb_path.with_name(settings.duckdb_path.name + ".wal")
    if run.get("source_stamp") != file_stamp(settings.duckdb_path) or wal.exists():
        # e.g. a refresh that failed after dbt changed the warehouse, or a `dbt build` by hand
        return RefreshPlan(inputs, reason="the warehouse changed after the last publish")
    changed = [
        part
        for part in ("landing", "project", "settings", "seeds")
        if getattr(inputs, part) != getattr(previous, part)
    ]
    if not changed:
        try:
            snapshot = published_duckdb_path(settings)
        except FileNotFoundError:
            return RefreshPlan(inputs, reason="the published snapshot is missing")
        return RefreshPlan(
            inputs,
            nothing_new=True,
            reason=(
                f"Nothing new since build {run['build_id']} ({run.get('published_at', '?')}): "
                "no landed file, seed, model or setting changed; the warehouse and the "
                f"published snapshot {snapshot} are current"
            ),
        )
    if changed == ["seeds"]:
        names = sorted(
            name
            for name in set(inputs.seeds) | set(previous.seeds)
            if inputs.seeds.get(name) != previous.seeds.get(name)
        )
        if all(name in inputs.seeds for name in names):  # a removed seed: a normal refresh
            return RefreshPlan(
                inputs,
                changed_seeds=tuple(names),
                reason=f"only the seeds that changed ({', '.join(names)}) and the models "
                "downstream of them",
            )
    sources = sorted(
        name
        for name in set(inputs.landing) | set(previous.landing)
        if inputs.landing.get(name) != previous.landing.get(name)
    )
    parts = [f"landing ({', '.join(sources)})" if p == "landing" else p for p in changed]
    return RefreshPlan(
        inputs,
        reason=f"changed since the last refresh: {', '.join(parts)}",
        changed=tuple(changed),
        changed_sources=tuple(sources),
    )
