"""Great Expectations (GX 1.x) plumbing: run a JSON suite over a pandas DataFrame.

The warehouse's inputs are what GX validates (aiusage.quality.prices: the price seeds;
aiusage.quality.events: a landed batch of events); the marts are validated by dbt tests.

Where things live
-----------------
``expectations/gx/`` is an ordinary GX *file* context (``great_expectations.yml`` as GX
scaffolds it).  The suites are the JSON files in ``expectations/gx/expectations/``:

* ``model_prices.json``, ``service_tier_multipliers.json``, ``fx_rates.json`` -- the price
  seeds (aiusage.quality.prices)
* ``usage_events.json``  -- a landed batch of canonical usage events (aiusage.quality.events)

Those JSON files are the single source of truth: edit them by hand (``id`` fields are optional
for this package) or through GX itself (``open_file_context().suites.get(...)`` then
``suite.save()``).  A new expectation in a JSON file is picked up on the next run; nothing in
this package duplicates the expectation list.

How a run works (and why it writes nothing into the git tree)
------------------------------------------------------------
A GX file context rewrites ``great_expectations.yml`` when a datasource is added and writes
validation definitions, checkpoints and results next to it, so running checks through it would
leave the committed tree dirty after every run (and race when Dagster runs two checks at once).
So :func:`run_checkpoint` builds a throw-away *ephemeral* context per call, loads the suite(s)
from the JSON files into it, registers a pandas DataFrame asset, a ``ValidationDefinition`` and
a ``Checkpoint`` and runs it.  Nothing is written unless ``build_docs=True``; then the
checkpoint's ``UpdateDataDocsAction`` renders Data Docs into ``docs_dir``
(AIUSAGE_GX_DOCS_DIR), keeping the raw validation results in ``docs_dir/_validation_results`` so
the docs index shows the history of runs.

In the GX workers of a refresh (aiusage.quality.worker) the Data Docs are rendered when the
worker is idle (:func:`defer_data_docs`): a check returns as soon as its result is stored, and
the pages of every check run since the last rendering are built in one pass once no check has
run for ``DOCS_IDLE_SECONDS`` (while dbt runs) or when the worker leaves. Processes rendering
into one site take turns (:func:`docs_site_lock`). Rendering a result's
page and the site index took about 0.5 s a check, which the refresh waited for before dbt
could start. The Jinja templates of the pages are compiled once per process
(aiusage.jinjacode; GX compiled them anew for every view), and the refresh
server compiles them before it forks the worker of each refresh
(:func:`compile_docs_templates`).

The site keeps the ``DOCS_INDEX_RESULTS`` newest validation results, the ones its index
lists (GX's ``validation_results_limit``); before each rendering the older ones, their stored
JSON and their page, move to the site's archive (:func:`archive_old_results`:
``_validation_results_archive/`` and ``validations_archive/``, at the depth of the folders they
left, so an archived page's links to the index and the suites still resolve). GX reads every
result the index lists (2-3 ms each), and before that lists every stored result and every
page, parsing each one's run time (0.65 ms a result): a warehouse refreshed hourly stores
about 40,000 results a year, and a site holding all of them made every refresh's rendering
grow with the history (0.21 s of CPU for a check's rendering on an empty site, 0.93 s with
1,118 stored results; docs/performance.md, forty-sixth round).

GX's SQL datasource fails on DuckDB, so only pandas DataFrames are validated: read the seed or
the accepted events into pandas first.

Derived columns
---------------
Checks GX has no pandas expectation for (overlapping validity windows, tier consistency,
cross-table alias targets, "did this field parse at all") are computed in pandas as helper
columns before validation, and the JSON suite expects them to be False / null (the suite's
``meta.derived_columns`` lists them).  Suite parameters (``alias_targets``,
``max_occurred_at``) are filled in at run time.

Failures name rows: a suite's ``meta.row_id_columns`` (``provider, model, valid_from`` for the
prices, ``request_id`` for events) are passed to GX as ``unexpected_index_column_names`` when the
batch has at most ``ROW_ID_MAX_ROWS`` rows (GX builds that list row by row in Python, which costs
seconds on a 100k-row batch where most rows fail); above that the failure detail shows sample
values only.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

from aiusage.jinjacode import install_code_cache
from aiusage.quality.failures import describe_failure
from aiusage.settings import Settings, quiet_library_telemetry

if TYPE_CHECKING:  # pandas is imported by the checks that build frames, not by their callers
    import pandas as pd

# Above this many rows GX is not asked for the row ids of failing rows (see module docstring).
ROW_ID_MAX_ROWS = 10_000

DOCS_SITE_NAME = "local_site"
_RESULTS_SUBDIR = "_validation_results"
_PAGES_SUBDIR = "validations"  # the site's pages of the validation results
# Where archive_old_results moves the results the site no longer keeps (their JSON, their page).
ARCHIVED_RESULTS_SUBDIR = "_validation_results_archive"
ARCHIVED_PAGES_SUBDIR = "validations_archive"
# Deferred Data Docs (defer_data_docs): rendered once no check has run for this long.
DOCS_IDLE_SECONDS = 0.5
# The site index lists this many of the newest validation results (module docstring).
DOCS_INDEX_RESULTS = 100


# --------------------------------------------------------------------------- result type


@dataclass
class SuiteResult:
    """Outcome of one suite run over one DataFrame."""

    suite: str
    success: bool
    evaluated: int  # number of expectations evaluated
    # One entry per failed expectation: expectation, column, unexpected_count,
    # partial_unexpected_list, rows (row ids of failing rows, when known), description, detail.
    failed: list[dict] = field(default_factory=list)
    row_count: int = 0
    docs_index: Path | None = None  # Data Docs index.html, when build_docs=True

    def summary(self) -> str:
        """One readable paragraph: what passed, or which expectations failed and on which rows."""
        rows = f"{self.row_count} row{'s' if self.row_count != 1 else ''}"
        if self.success:
            return f"Suite {self.suite}: all {self.evaluated} expectations passed on {rows}."
        head = (
            f"Suite {self.suite}: {len(self.failed)} of {self.evaluated} expectations failed "
            f"on {rows}."
        )
        return " ".join([head, *(f"({i}) {f['detail']}" for i, f in enumerate(self.failed, 1))])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["docs_index"] = str(self.docs_index) if self.docs_index else None
        return d

    def __str__(self) -> str:
        return self.summary()


def run_checkpoint(
    suite_name: str,
    df: pd.DataFrame,
    context_root: Path | None = None,
    build_docs: bool = False,
    docs_dir: Path | None = None,
    suite_parameters: Mapping[str, Any] | None = None,
    mostly: float | None = None,
    row_id_columns: list[str] | None = None,
    run_name: str | None = None,
) -> SuiteResult:
    """Run the JSON suite ``suite_name`` over ``df`` through a GX Checkpoint.

    ``df`` must already carry the suite's derived columns.  ``mostly`` overrides ``mostly`` of
    every expectation that supports it; ``row_id_columns`` overrides the suite's
    ``meta.row_id_columns``.  With ``build_docs`` the Data Docs site in ``docs_dir`` is updated
    (``run_name``, default the suite name, labels the run there, e.g. a partition key).
    """
    gx = _gx()
    from great_expectations.core.run_identifier import RunIdentifier

    suite_dict = load_suite_dict(suite_name, context_root)
    if row_id_columns is None:
        row_id_columns = list((suite_dict.get("meta") or {}).get("row_id_columns") or [])
    if build_docs and docs_dir is None:
        docs_dir = Settings.from_env().gx_docs_dir
    docs_path = Path(docs_dir).resolve() if build_docs else None

    # GX keeps a process-wide "current context"; one run at a time per process keeps
    # concurrent callers (threads) from resolving each other's suites.
    with _RUN_LOCK, warnings.catch_warnings():
        # GX emits deprecation/future warnings from its own internals on newer pandas.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        context = _ephemeral_context(docs_path)
        suite = context.suites.add(_build_suite(suite_dict, mostly))
        defer_docs = docs_path is not None and _DOCS.deferred
        if docs_path is not None and not defer_docs:
            # Load the other suites too, so the docs index lists every suite (deferred
            # pages: render_pending_docs loads them once for all the pending results).
            for other in list_suites(context_root):
                if other != suite_name:
                    context.suites.add(_build_suite(load_suite_dict(other, context_root), None))

        batch_definition = (
            context.data_sources.add_pandas("aiusage_pandas")
            .add_dataframe_asset(name=suite_name)
            .add_batch_definition_whole_dataframe("whole_dataframe")
        )
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{suite_name}_validation", data=batch_definition, suite=suite
            )
        )
        result_format: dict[str, Any] = {"result_format": "SUMMARY"}
        # The suite's row ids that the batch has (a landed batch names its file and line,
        # a frame of events only the request id).
        row_id_columns = [c for c in row_id_columns if c in df.columns]
        if row_id_columns and len(df) <= ROW_ID_MAX_ROWS:
            result_format["unexpected_index_column_names"] = row_id_columns
        actions = []
        if docs_path is not None and not defer_docs:
            actions.append(
                gx.checkpoint.UpdateDataDocsAction(
                    name="update_data_docs", site_names=[DOCS_SITE_NAME]
                )
            )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{suite_name}_checkpoint",
                validation_definitions=[validation],
                actions=actions,
                result_format=result_format,
            )
        )
        with docs_site_lock(docs_path) if actions else contextlib.nullcontext():
            if actions:  # this run's result is stored next: the index's newest but one
                archive_old_results(docs_path, DOCS_INDEX_RESULTS - 1)
            checkpoint_result = checkpoint.run(
                batch_parameters={"dataframe": df},
                expectation_parameters=dict(suite_parameters or {}),
                run_id=RunIdentifier(
                    run_name=run_name or suite_name,
                    run_time=datetime.now(UTC),
                ),
            )

    ((result_id, validation_result),) = checkpoint_result.run_results.items()
    if defer_docs:
        _DOCS.add(docs_path, context_root, result_id, suite_name)
    failed = [
        describe_failure(r, row_id_columns) for r in validation_result.results if not r.success
    ]
    return SuiteResult(
        suite=suite_name,
        success=bool(validation_result.success),
        evaluated=len(validation_result.results),
        failed=failed,
        row_count=len(df),
        docs_index=(docs_path / "index.html") if docs_path is not None else None,
    )


# --------------------------------------------------------------------------- suites on disk


def gx_root(context_root: Path | None = None) -> Path:
    """The GX project dir (the one holding great_expectations.yml).

    Accepts the project's ``expectations/`` dir (default: the one of the dbt project of the
    settings) or its ``gx/`` subdir.
    """
    root = Path(context_root or Settings.from_env().project_dir / "expectations")
    if (root / "great_expectations.yml").exists():
        return root
    return root / "gx"


def suites_dir(context_root: Path | None = None) -> Path:
    return gx_root(context_root) / "expectations"


def list_suites(context_root: Path | None = None) -> list[str]:
    return sorted(p.stem for p in suites_dir(context_root).glob("*.json"))


def load_suite_dict(suite_name: str, context_root: Path | None = None) -> dict[str, Any]:
    """The suite as stored (GX's native suite JSON)."""
    path = suites_dir(context_root) / f"{suite_name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no expectation suite {suite_name!r} at {path}")
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("name", suite_name) != suite_name:
        raise ValueError(f"{path}: suite name {data.get('name')!r} != file name {suite_name!r}")
    return data


def open_file_context(context_root: Path | None = None):
    """The committed GX file context, for authoring suites with GX's own API.

    Opening it writes ``gx/uncommitted/`` (git-ignored); ``suite.save()`` rewrites the suite JSON.
    Validation in this module never uses it (see module docstring).
    """
    gx = _gx()
    return gx.get_context(mode="file", project_root_dir=str(gx_root(context_root).parent))


def _build_suite(suite_dict: Mapping[str, Any], mostly: float | None):
    """An ExpectationSuite (not yet in a context) from its JSON dict.

    Builds every expectation explicitly: ``ExpectationSuite(expectations=[dicts])`` only logs and
    drops an invalid entry, and a silently missing check is worse than a loud error.
    """
    gx = _gx()
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    name = suite_dict["name"]
    expectations = []
    for i, entry in enumerate(suite_dict.get("expectations") or []):
        kwargs = copy.deepcopy(entry.get("kwargs") or {})
        if mostly is not None and "mostly" in get_expectation_impl(entry["type"]).__fields__:
            kwargs["mostly"] = mostly
        config_kwargs: dict[str, Any] = {"type": entry["type"], "kwargs": kwargs}
        for key in ("meta", "notes", "description", "severity"):
            if entry.get(key) is not None:
                config_kwargs[key] = entry[key]
        try:
            expectations.append(ExpectationConfiguration(**config_kwargs).to_domain_obj())
        except Exception as exc:  # pydantic / GX config errors
            raise ValueError(
                f"suite {name!r}: expectation #{i} ({entry.get('type')}) is invalid: {exc}"
            ) from exc
    return gx.ExpectationSuite(
        name=name,
        expectations=expectations,
        meta=copy.deepcopy(suite_dict.get("meta") or {}),
        notes=suite_dict.get("notes"),
    )


# --------------------------------------------------------------------------- GX plumbing


_GX = None
_RUN_LOCK = threading.RLock()
_IMPORT_LOCK = threading.Lock()


def _gx():
    """Import GX lazily: importing it takes seconds, and most importers never validate."""
    global _GX
    with _IMPORT_LOCK:
        if _GX is None:
            quiet_library_telemetry()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import great_expectations as gx
                import great_expectations.checkpoint  # noqa: F401

            # GX makes a new Jinja environment for each view of a rendering, which compiled
            # its templates anew every time: 0.4 s of the 0.7 s that rendering the pages of
            # three checks took. Compiled once per process now.
            install_code_cache(_TEMPLATE_CODE)
            _GX = gx
    return _GX


# Jinja's compiled code of the templates compiled in this process (aiusage.jinjacode,
# installed when GX is imported): in the GX worker, the Data Docs templates only.
_TEMPLATE_CODE: dict[str, CodeType] = {}


def compile_docs_templates() -> int:
    """Compile the Data Docs templates into `_TEMPLATE_CODE` before any rendering: the
    refresh server's warm-up, whose GX worker of each refresh is a fork that inherits
    them. Returns the templates compiled."""
    _gx()
    from great_expectations.render.view.view import DefaultJinjaView

    environment = DefaultJinjaView().env
    names = environment.list_templates()
    for name in names:
        environment.get_template(name)
    return len(names)


class _DeferredDocs:
    """The Data Docs pages not rendered yet (in the GX worker), and the thread that renders
    them when the worker is idle."""

    def __init__(self) -> None:
        self.deferred = False
        self.pending: list[tuple[Path, Path | None, Any, str]] = []
        self.busy = 0
        self.last_activity = 0.0
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, docs_path: Path, context_root: Path | None, result_id, suite: str) -> None:
        with self.lock:
            self.pending.append((docs_path, context_root, result_id, suite))
            if self.thread is None:
                self.thread = threading.Thread(target=self._when_idle, daemon=True)
                self.thread.start()

    def _when_idle(self) -> None:
        while True:
            time.sleep(DOCS_IDLE_SECONDS / 5)
            with self.lock:
                idle = not self.busy and time.monotonic() - self.last_activity >= DOCS_IDLE_SECONDS
                if not (idle and self.pending):
                    continue
            render_pending_docs_or_warn()


_DOCS = _DeferredDocs()

# Beside the pages, in the site's folder: held by the process that renders into the site.
DOCS_LOCK_NAME = ".rendering.lock"


@contextlib.contextmanager
def docs_site_lock(docs_path: Path) -> Iterator[None]:
    """Held while this process renders into the Data Docs site at `docs_path`: the GX
    workers of a refresh (aiusage.quality.worker) render their checks' pages when each is
    idle, and two renderings of one site at once would write its index over each other.
    An exclusive lock on a file in the site's folder (flock: released if the process
    dies); the rendering that waited lists the other's results too."""
    docs_path.mkdir(parents=True, exist_ok=True)
    with open(docs_path / DOCS_LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def defer_data_docs() -> None:
    """From now on (in this process) a check stores its result and leaves its Data Docs
    pages to :func:`render_pending_docs`, which a thread runs once the process has been idle
    (see :func:`activity`) for DOCS_IDLE_SECONDS. The GX worker of a refresh calls it."""
    _DOCS.deferred = True


@contextlib.contextmanager
def activity() -> Iterator[None]:
    """Marks a check running in this process: deferred Data Docs wait until it is over."""
    with _DOCS.lock:
        _DOCS.busy += 1
    try:
        yield
    finally:
        with _DOCS.lock:
            _DOCS.busy -= 1
            _DOCS.last_activity = time.monotonic()


def archive_old_results(docs_path: Path, keep: int | None = None) -> int:
    """Move the validation results of the Data Docs site at `docs_path` that are older than
    its `keep` newest (default DOCS_INDEX_RESULTS: those its index lists) to the site's
    archive: each result's folder of stored JSON (suite / run name / run time) to
    ARCHIVED_RESULTS_SUBDIR and its folder of pages to ARCHIVED_PAGES_SUBDIR, under the
    same path. GX lists neither, so a rendering's work is bounded by `keep`; nothing is
    deleted. Results are ordered by run time (their folder's name, GX's fixed-width UTC
    stamp); a result whose run time equals the oldest kept one's is kept too. A result
    archived before its deferred page was rendered (more than `keep` newer ones) keeps its
    JSON only: the index would not have listed it. Called with the site's lock held
    (docs_site_lock). Returns the results moved."""
    keep = DOCS_INDEX_RESULTS if keep is None else keep
    stored = docs_path / _RESULTS_SUBDIR
    runs = [run.relative_to(stored) for run in stored.glob("*/*/*") if run.is_dir()]
    if len(runs) <= keep:
        return 0
    runs.sort(key=lambda run: run.name, reverse=True)
    oldest_kept = runs[keep - 1].name if keep else None
    moved = 0
    for run in runs[keep:]:
        if run.name == oldest_kept:
            continue
        for source, target in (
            (stored, docs_path / ARCHIVED_RESULTS_SUBDIR),
            (docs_path / _PAGES_SUBDIR, docs_path / ARCHIVED_PAGES_SUBDIR),
        ):
            _move_folder(source / run, target / run)
        moved += 1
    return moved


def _move_folder(source: Path, target: Path) -> None:
    """`source`'s files into `target` (made if missing, merged into if not), then `source`
    and the parents it leaves empty removed. A missing `source` (a result whose page was
    never rendered) moves nothing."""
    if not source.is_dir():
        return
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
    else:
        for item in source.iterdir():
            item.replace(target / item.name)
        source.rmdir()
    for parent in (source.parent, source.parent.parent):
        with contextlib.suppress(OSError):  # not empty: other runs of its suite
            parent.rmdir()


def render_pending_docs() -> int:
    """Render the Data Docs pages of the checks whose rendering was deferred: for each docs
    site, one pass over their validation results and suites, and the site index once.
    Returns the validation results rendered."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    with _RUN_LOCK:
        with _DOCS.lock:
            pending, _DOCS.pending = _DOCS.pending, []
        sites: dict[tuple[Path, Path | None], list] = {}
        for docs_path, context_root, result_id, suite in pending:
            identifiers = sites.setdefault((docs_path, context_root), [])
            identifiers += [result_id, ExpectationSuiteIdentifier(name=suite)]
        for (docs_path, context_root), identifiers in sites.items():
            with docs_site_lock(docs_path), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                archive_old_results(docs_path)
                context = _ephemeral_context(docs_path)
                for name in list_suites(context_root):  # the index lists every suite
                    context.suites.add(_build_suite(load_suite_dict(name, context_root), None))
                context.build_data_docs(
                    site_names=[DOCS_SITE_NAME], resource_identifiers=identifiers
                )
        return len(pending)


def render_pending_docs_or_warn() -> None:
    """render_pending_docs for the worker's idle thread and its exit: Data Docs are a side
    product of the checks, so a page that cannot be written (its folder removed, a full
    disk) is reported on stderr and does not stop the worker or lose a check's result."""
    try:
        render_pending_docs()
    except Exception as error:  # noqa: BLE001 - reported, never raised into a check
        print(f"aiusage: Great Expectations Data Docs not rendered: {error}", file=sys.stderr)


def _ephemeral_context(docs_path: Path | None):
    gx = _gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    stores = copy.deepcopy(defaults.stores)
    sites: dict[str, Any] = {}
    if docs_path is not None:
        stores[defaults.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_path / _RESULTS_SUBDIR),
        }
        sites[DOCS_SITE_NAME] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_path),
            },
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "validation_results_limit": DOCS_INDEX_RESULTS,
            },
        }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)
