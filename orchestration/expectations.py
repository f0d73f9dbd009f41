"""Great Expectations (GX 1.x) checks for the price seed and for landed usage events.

Where things live
-----------------
``expectations/gx/`` is an ordinary GX *file* context (``great_expectations.yml`` as GX
scaffolds it).  The suites are the JSON files in ``expectations/gx/expectations/``:

* ``model_prices.json``  -- ``seeds/model_prices.csv`` (see :func:`validate_prices`)
* ``usage_events.json``  -- a batch of canonical usage events (see :func:`validate_events`)

Those JSON files are the single source of truth: edit them by hand (``id`` fields are optional
for this module) or through GX itself (``open_file_context().suites.get(...)`` then
``suite.save()``).  A new expectation in a JSON file is picked up on the next run; nothing in
this module duplicates the expectation list.

How a run works (and why it writes nothing into the git tree)
------------------------------------------------------------
A GX file context rewrites ``great_expectations.yml`` when a datasource is added and writes
validation definitions, checkpoints and results next to it, so running checks through it would
leave the committed tree dirty after every run (and race when Dagster runs two checks at once).
So :func:`run_checkpoint` builds a throw-away *ephemeral* context per call, loads the suite(s)
from the JSON files into it, registers a pandas DataFrame asset, a ``ValidationDefinition`` and
a ``Checkpoint`` and runs it.  Nothing is written unless ``build_docs=True``; then the
checkpoint's ``UpdateDataDocsAction`` renders Data Docs into ``docs_dir`` (default
``data/gx_docs``), keeping the raw validation results in ``docs_dir/_validation_results`` so
the docs index shows the history of runs.

GX's SQL datasource fails on DuckDB, so only pandas DataFrames are validated: read the seed or
the accepted events into pandas first.

Derived columns
---------------
Checks GX has no pandas expectation for (overlapping validity windows, tier consistency,
cross-table alias targets, "did this field parse at all") are computed here in pandas as helper
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

import argparse
import copy
import json
import os
import sys
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# GX reads this when it is imported; set it before the (lazy) import below.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONTEXT_ROOT = REPO_ROOT / "expectations"
DEFAULT_DOCS_DIR = REPO_ROOT / "data" / "gx_docs"

PRICES_SUITE = "model_prices"
EVENTS_SUITE = "usage_events"

# Above this many rows GX is not asked for the row ids of failing rows (see module docstring).
ROW_ID_MAX_ROWS = 10_000
# How many failing rows / values a failure detail spells out.
DETAIL_MAX_ITEMS = 10

DOCS_SITE_NAME = "local_site"
_RESULTS_SUBDIR = "_validation_results"

PRICE_COLUMNS = [
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cache_read_usd_per_mtok",
    "cache_write_5m_usd_per_mtok",
    "cache_write_1h_usd_per_mtok",
    "tier_input_usd_per_mtok",
    "tier_output_usd_per_mtok",
    "tier_cache_read_usd_per_mtok",
    "tier_cache_write_5m_usd_per_mtok",
    "tier_cache_write_1h_usd_per_mtok",
    "reasoning_usd_per_mtok",
]
TIER_PRICE_COLUMNS = [
    "tier_input_usd_per_mtok",
    "tier_output_usd_per_mtok",
    "tier_cache_read_usd_per_mtok",
    "tier_cache_write_5m_usd_per_mtok",
    "tier_cache_write_1h_usd_per_mtok",
]
PRICE_TEXT_COLUMNS = ["provider", "model", "valid_from", "valid_to", "source"]
PRICE_NUMBER_COLUMNS = [*PRICE_COLUMNS, "tier_threshold_tokens"]

TOKEN_COLUMNS = [
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
]
EVENT_TEXT_COLUMNS = ["request_id", "provider", "model", "status", "service_tier"]
EVENT_OPTIONAL_NUMBER_COLUMNS = ["latency_ms", "ttft_ms", "quality_score"]


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


# --------------------------------------------------------------------------- public API


def validate_prices(
    prices: pd.DataFrame,
    aliases: pd.DataFrame | None = None,
    context_root: Path | None = None,
    build_docs: bool = False,
    docs_dir: Path | None = None,
) -> SuiteResult:
    """Validate the price seed (strings as read from ``seeds/model_prices.csv`` or typed values).

    ``aliases`` (columns provider, model_alias, model), when given, adds the check that every
    alias target (provider, model) has at least one price row.
    """
    prepared = prepare_prices(prices)
    targets: dict[str, list[str]] = {}
    if aliases is not None:
        targets = _alias_targets(aliases)
    result = run_checkpoint(
        PRICES_SUITE,
        prepared,
        context_root=context_root,
        build_docs=build_docs,
        docs_dir=docs_dir,
        suite_parameters={"alias_targets": sorted(targets)},
    )
    # Name the aliases behind each unpriced target (GX only knows the target).
    for f in result.failed:
        if f["column"] == "provider_model" and targets:
            missing = f["partial_unexpected_list"]
            named = [f"{t} (alias {', '.join(targets.get(t, []))})" for t in missing]
            f["detail"] = f"{len(missing)} model alias target(s) have no price row: {_join(named)}."
    return result


def validate_events(
    events: pd.DataFrame,
    context_root: Path | None = None,
    build_docs: bool = False,
    docs_dir: Path | None = None,
    mostly: float = 1.0,
) -> SuiteResult:
    """Validate a batch of canonical usage events (one row per event, JSON fields as columns).

    The suite is strict (every row must pass) because it is meant for the rows the warehouse
    accepted.  To check a raw landed batch with a tolerance, pass ``mostly`` (e.g. ``0.95``, the
    reject threshold): every row-wise expectation then passes when at least that share of the
    (non-null) rows pass.
    """
    prepared = prepare_events(events)
    max_ts = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    return run_checkpoint(
        EVENTS_SUITE,
        prepared,
        context_root=context_root,
        build_docs=build_docs,
        docs_dir=docs_dir,
        suite_parameters={"max_occurred_at": max_ts.isoformat()},
        mostly=None if mostly == 1.0 else mostly,
    )


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
    docs_path = Path(docs_dir or DEFAULT_DOCS_DIR).resolve() if build_docs else None

    # GX keeps a process-wide "current context"; one run at a time per process keeps
    # concurrent callers (threads) from resolving each other's suites.
    with _RUN_LOCK, warnings.catch_warnings():
        # GX emits deprecation/future warnings from its own internals on newer pandas.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        context = _ephemeral_context(docs_path)
        suite = context.suites.add(_build_suite(suite_dict, mostly))
        if docs_path is not None:
            # Load the other suites too, so the docs index lists every suite.
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
        if (
            row_id_columns
            and len(df) <= ROW_ID_MAX_ROWS
            and all(c in df.columns for c in row_id_columns)
        ):
            result_format["unexpected_index_column_names"] = row_id_columns
        actions = []
        if docs_path is not None:
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
        checkpoint_result = checkpoint.run(
            batch_parameters={"dataframe": df},
            expectation_parameters=dict(suite_parameters or {}),
            run_id=RunIdentifier(
                run_name=run_name or suite_name,
                run_time=pd.Timestamp.now(tz="UTC").to_pydatetime(),
            ),
        )

    (validation_result,) = checkpoint_result.run_results.values()
    failed = [
        _describe_failure(r, row_id_columns) for r in validation_result.results if not r.success
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

    Accepts the repo's ``expectations/`` dir (default) or its ``gx/`` subdir.
    """
    root = Path(context_root or DEFAULT_CONTEXT_ROOT)
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
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import great_expectations as gx
                import great_expectations.checkpoint  # noqa: F401

            _GX = gx
    return _GX


def import_gx_in_background() -> threading.Thread | None:
    """Start importing GX (about 4.5 s on 2 cores) on another thread.

    A refresh calls this when its dbt seed invocation starts: the Dagster process then only
    waits for dbt's output, so the import overlaps it instead of delaying the first
    expectation check. Not a daemon thread: the process never exits half-way through an
    import. The first validation waits for it (the import lock).
    """
    if _GX is not None:
        return None
    thread = threading.Thread(target=_gx, name="aiusage-import-gx")
    thread.start()
    return thread


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
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _describe_failure(res, row_id_columns: list[str]) -> dict[str, Any]:
    cfg = res.expectation_config
    kwargs = dict(cfg.kwargs)
    result = res.to_json_dict().get("result") or {}
    column: Any = kwargs.get("column")
    if column is None and "column_A" in kwargs:
        column = [kwargs["column_A"], kwargs["column_B"]]
    if column is None and "column_list" in kwargs:
        column = list(kwargs["column_list"])
    description = cfg.description or cfg.type.replace("_", " ")

    exc = res.exception_info or {}
    if exc.get("raised_exception"):
        message = (exc.get("exception_message") or "").strip().splitlines()[:1]
        return {
            "expectation": cfg.type,
            "column": column,
            "unexpected_count": None,
            "partial_unexpected_list": [],
            "rows": [],
            "description": description,
            "detail": f"{description}: could not be evaluated ({' '.join(message)}).",
        }

    if "partial_missing_list" in result:  # expect_column_distinct_values_to_contain_set
        values = list(result.get("partial_missing_list") or [])
        count = result.get("missing_count", len(values))
        detail = f"{description}: {count} value(s) missing: {_join(values)}."
        return {
            "expectation": cfg.type,
            "column": column,
            "unexpected_count": count,
            "partial_unexpected_list": values,
            "rows": [],
            "description": description,
            "detail": detail,
        }

    count = result.get("unexpected_count")
    values = _plain(list(result.get("partial_unexpected_list") or []))
    rows = [
        {c: _plain(r.get(c)) for c in row_id_columns}
        for r in (result.get("partial_unexpected_index_list") or [])
        if isinstance(r, dict)
    ]
    if count is None:  # aggregate expectation (no per-row result)
        detail = f"{description}: observed {_fmt(_plain(result.get('observed_value')))}."
    else:
        detail = f"{description}: {count} of {result.get('element_count')} row(s) fail"
        mostly = kwargs.get("mostly")
        if mostly is not None and mostly < 1:
            pct = result.get("unexpected_percent") or 0.0
            detail += f" ({pct:.2f}% of non-null rows, tolerance {(1 - mostly) * 100:.2f}%)"
        if rows:
            if len(row_id_columns) == 1:
                (col,) = row_id_columns
                shown = [_fmt(r[col]) for r in rows]
                detail += f"; rows ({col}): {_join(shown, total=count)}"
            else:
                shown = [f"({', '.join(_fmt(r[c]) for c in row_id_columns)})" for r in rows]
                detail += f"; rows ({', '.join(row_id_columns)}): {_join(shown, total=count)}"
            if not _is_flag(values):
                detail += f"; values: {_join(_distinct(values)[:DETAIL_MAX_ITEMS])}"
        elif values:
            detail += f"; e.g. values: {_join(_distinct(values)[:DETAIL_MAX_ITEMS])}"
        detail += "."
    return {
        "expectation": cfg.type,
        "column": column,
        "unexpected_count": count,
        "partial_unexpected_list": values,
        "rows": rows,
        "description": description,
        "detail": detail,
    }


def _plain(v: Any) -> Any:
    """numpy scalars / containers -> plain JSON-able Python values."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _distinct(values: list) -> list[str]:
    """Formatted values, each once, in first-seen order."""
    return list(dict.fromkeys(_fmt(v) for v in values))


def _is_flag(values: list) -> bool:
    """Values of a derived boolean column say nothing the description does not."""
    return bool(values) and all(isinstance(v, bool) for v in values)


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        # GX renders dates as 2024-01-01T00:00:00(.000000); keep a plain date readable.
        for suffix in ("T00:00:00.000000", "T00:00:00"):
            if v.endswith(suffix) and len(v) == 10 + len(suffix):
                return v[:10]
        return v
    if isinstance(v, list | tuple):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _join(items: Iterable[Any], total: int | None = None) -> str:
    items = [str(i) for i in items]
    shown = items[:DETAIL_MAX_ITEMS]
    more = (total if total is not None else len(items)) - len(shown)
    text = ", ".join(shown)
    return f"{text} and {more} more" if more > 0 else text


# --------------------------------------------------------------------------- preparation


def prepare_prices(prices: pd.DataFrame) -> pd.DataFrame:
    """The price table typed and with the derived columns the ``model_prices`` suite checks.

    Empty strings are nulls; missing optional columns are added as nulls.  ``valid_from`` /
    ``valid_to`` keep their text (normalized to YYYY-MM-DD when it parses) so failures name rows
    as written; ``valid_from_date`` / ``valid_to_date`` are the parsed dates.
    """
    df = pd.DataFrame(index=prices.index)
    for col in PRICE_TEXT_COLUMNS:
        df[col] = _clean_text(prices[col]) if col in prices.columns else _nulls(prices.index)

    bad: dict[str, tuple[pd.Series, pd.Series]] = {}
    for col in ("valid_from", "valid_to"):
        raw = df[col]
        # Timestamps, not dates: a price may change in the middle of a day, and two windows
        # that meet at 12:00 must neither overlap nor collide on a truncated date.
        parsed, mask = _to_timestamps(raw)
        bad[col] = (mask, raw)
        df[f"{col}_date"] = parsed
        is_midnight = parsed.notna() & (parsed == parsed.dt.normalize())
        text = parsed.dt.strftime("%Y-%m-%d").where(
            is_midnight, parsed.dt.strftime("%Y-%m-%d %H:%M:%S")
        )
        df[col] = raw.where(parsed.isna(), text)
    for col in PRICE_NUMBER_COLUMNS:
        raw = _clean_text(prices[col]) if col in prices.columns else _nulls(prices.index)
        df[col], mask = _to_numbers(raw)
        bad[col] = (mask, raw)
    df["unparseable_fields"] = _unparseable(bad, prices.index)

    df["provider_model"] = pd.Series(
        [
            f"{p}/{m}" if pd.notna(p) and pd.notna(m) else None
            for p, m in zip(df["provider"], df["model"], strict=True)
        ],
        index=df.index,
        dtype=object,
    )
    df["overlaps_other_window"] = _overlapping_windows(df)
    any_tier_price = df[TIER_PRICE_COLUMNS].notna().any(axis=1)
    has_threshold = df["tier_threshold_tokens"].notna()
    df["tier_price_without_threshold"] = any_tier_price & ~has_threshold
    df["tier_threshold_without_prices"] = has_threshold & (
        df["tier_input_usd_per_mtok"].isna() | df["tier_output_usd_per_mtok"].isna()
    )
    return df


def prepare_events(events: pd.DataFrame) -> pd.DataFrame:
    """The event batch typed and with the derived columns the ``usage_events`` suite checks.

    Missing optional columns are treated as absent fields: token counts 0, ``status`` success
    (as the contract says), everything else null.  Columns the suite does not use are dropped.
    """
    idx = events.index
    df = pd.DataFrame(index=idx)
    for col in EVENT_TEXT_COLUMNS:
        df[col] = _clean_text(events[col]) if col in events.columns else _nulls(idx)
    df["status"] = df["status"].where(df["status"].notna(), "success")

    bad: dict[str, tuple[pd.Series, pd.Series]] = {}
    raw_ts = _clean_text(events["occurred_at"]) if "occurred_at" in events.columns else _nulls(idx)
    df["occurred_at"] = raw_ts
    df["occurred_at_utc"], ts_bad = _to_utc(raw_ts)
    bad["occurred_at"] = (ts_bad, raw_ts)
    for col in TOKEN_COLUMNS:
        raw = _clean_text(events[col]) if col in events.columns else _nulls(idx)
        num, col_bad = _to_numbers(raw)
        num = num.where(raw.notna(), 0.0)  # absent = 0
        if not num.isna().any() and (num == np.floor(num)).all():
            num = num.astype("int64")
        df[col] = num
        bad[col] = (col_bad, raw)
    for col in EVENT_OPTIONAL_NUMBER_COLUMNS:
        raw = _clean_text(events[col]) if col in events.columns else _nulls(idx)
        df[col], col_bad = _to_numbers(raw)
        bad[col] = (col_bad, raw)
    df["unparseable_fields"] = _unparseable(bad, idx)
    df["cached_input_tokens"] = df["cache_read_tokens"] + df["cache_write_tokens"]
    return df


def _nulls(index: pd.Index) -> pd.Series:
    return pd.Series([None] * len(index), index=index, dtype=object)


def _clean_text(s: pd.Series) -> pd.Series:
    """Strip strings; empty string -> None.  Non-string values pass through unchanged."""
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return s
    if not pd.api.types.is_object_dtype(s):  # a real string dtype: vectorized
        stripped = s.str.strip()
        stripped = stripped.astype(object).where(stripped.notna() & (stripped != ""), None)
        return stripped

    def clean(v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip()
            return v or None
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        return v

    return pd.Series([clean(v) for v in s.tolist()], index=s.index, dtype=object)


def _to_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(float values, mask of present-but-unparseable values)."""
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(object)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype("float64"), pd.Series(False, index=raw.index)
    # An integer beyond the float range (JSON allows 1e400 written out) is unparseable here,
    # as it is for the warehouse (try_cast to bigint), never an OverflowError.
    num = pd.to_numeric(raw.map(_float_or_nan), errors="coerce").astype("float64")
    return num, raw.notna() & num.isna()


def _float_or_nan(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        try:
            float(v)
        except OverflowError:
            return float("nan")
    return v


def _to_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(naive datetime64 dates, mask of present-but-unparseable values)."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize(None) if raw.dt.tz is not None else raw
    else:
        parsed = pd.to_datetime(raw.astype(object), errors="coerce", format="ISO8601")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    parsed = parsed.dt.normalize()
    return parsed, raw.notna() & parsed.isna()


def _to_timestamps(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(naive datetime64 timestamps, mask of present-but-unparseable values)."""
    parsed, mask = _to_dates(raw)
    if pd.api.types.is_datetime64_any_dtype(raw):
        full = raw.dt.tz_localize(None) if raw.dt.tz is not None else raw
    else:
        full = pd.to_datetime(raw.astype(object), errors="coerce", format="ISO8601")
        if getattr(full.dt, "tz", None) is not None:
            full = full.dt.tz_convert("UTC").dt.tz_localize(None)
    return full.where(parsed.notna()), mask


def _to_utc(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(UTC datetime64, mask of present-but-unparseable values); zone-less values count as UTC."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize("UTC") if raw.dt.tz is None else raw.dt.tz_convert("UTC")
    else:
        parsed = pd.to_datetime(raw.astype(object), errors="coerce", utc=True, format="ISO8601")
    return parsed, raw.notna() & parsed.isna()


def _unparseable(checks: Mapping[str, tuple[pd.Series, pd.Series]], index: pd.Index) -> pd.Series:
    """Per row: "field='raw value', ..." for each present field that did not parse, else None."""
    out = pd.Series([None] * len(index), index=index, dtype=object)
    for col, (bad, raw) in checks.items():
        if not bad.any():
            continue
        text = raw[bad].map(lambda v, c=col: f"{c}={v!r}")
        prev = out[bad]
        out.loc[bad] = np.where(prev.isna(), text, prev.astype(str) + ", " + text)
    return out


def _overlapping_windows(df: pd.DataFrame) -> pd.Series:
    """True for each row whose [valid_from, valid_to) window overlaps another row's window of the
    same (provider, model); an empty valid_to is open-ended."""
    w = pd.DataFrame(
        {
            "pos": np.arange(len(df)),
            "provider": df["provider"].to_numpy(),
            "model": df["model"].to_numpy(),
            "start": df["valid_from_date"].to_numpy(),
            "end": df["valid_to_date"].to_numpy(),
        }
    ).dropna(subset=["provider", "model", "start"])
    pairs = w.merge(w, on=["provider", "model"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["pos_a"] != pairs["pos_b"]]
    overlap = (pairs["end_b"].isna() | (pairs["start_a"] < pairs["end_b"])) & (
        pairs["end_a"].isna() | (pairs["start_b"] < pairs["end_a"])
    )
    flags = np.zeros(len(df), dtype=bool)
    flags[pairs.loc[overlap, "pos_a"].to_numpy(dtype=int)] = True
    return pd.Series(flags, index=df.index)


def _alias_targets(aliases: pd.DataFrame) -> dict[str, list[str]]:
    """{"provider/model": [aliases pointing at it]} from an aliases table."""
    missing = {"provider", "model"} - set(aliases.columns)
    if missing:
        raise ValueError(f"aliases needs columns provider, model_alias, model; missing {missing}")
    provider = _clean_text(aliases["provider"])
    model = _clean_text(aliases["model"])
    alias = (
        _clean_text(aliases["model_alias"])
        if "model_alias" in aliases.columns
        else _nulls(aliases.index)
    )
    targets: dict[str, list[str]] = {}
    for p, m, a in zip(provider, model, alias, strict=True):
        if p is None or m is None:
            continue
        names = targets.setdefault(f"{p}/{m}", [])
        if a is not None and a not in names:
            names.append(str(a))
    return targets


# --------------------------------------------------------------------------- warehouse suites

REQUESTS_SUITE = "fct_llm_requests"
MARTS_SUITE = "warehouse_marts"

REQUESTS_SQL = """
    select
        request_key, usage_date, model, status, is_priced,
        input_tokens, uncached_input_tokens, cache_read_tokens, cache_write_tokens,
        output_tokens, reasoning_tokens,
        cast(input_cost_usd as double) as input_cost_usd,
        cast(cache_read_cost_usd as double) as cache_read_cost_usd,
        cast(cache_write_cost_usd as double) as cache_write_cost_usd,
        cast(output_cost_usd as double) as output_cost_usd,
        cast(total_cost_usd as double) as total_cost_usd,
        cast(
            total_cost_usd
            - (input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd)
            as double
        ) as component_cost_gap_usd
    from fct_llm_requests
    where landing_date >= ?
"""

MARTS_SQL = """
    with daily as (
        select
            usage_date,
            sum(requests) as requests,
            sum(total_tokens) as total_tokens,
            sum(total_cost_usd) as total_cost_usd,
            count(*) filter (where least(
                input_cost_usd, cache_read_cost_usd, cache_write_cost_usd, output_cost_usd,
                total_cost_usd
            ) < 0) as negative_cost_rows
        from fct_daily_usage
        group by usage_date
    ),
    requests as (
        select
            usage_date,
            count(*) as requests,
            sum(total_tokens) as total_tokens,
            sum(total_cost_usd) as total_cost_usd,
            count(*) filter (where least(
                input_cost_usd, cache_read_cost_usd, cache_write_cost_usd, output_cost_usd,
                total_cost_usd
            ) < 0) as negative_cost_rows
        from fct_llm_requests
        group by usage_date
    )
    select
        cast(coalesce(d.usage_date, r.usage_date) as varchar) as usage_date,
        coalesce(d.negative_cost_rows, 0) as daily_negative_cost_rows,
        coalesce(r.negative_cost_rows, 0) as requests_negative_cost_rows,
        coalesce(d.requests, 0) - coalesce(r.requests, 0) as requests_gap,
        coalesce(d.total_tokens, 0) - coalesce(r.total_tokens, 0) as total_tokens_gap,
        cast(coalesce(d.total_cost_usd, 0) - coalesce(r.total_cost_usd, 0) as double)
            as total_cost_gap_usd
    from daily as d
    full outer join requests as r on d.usage_date = r.usage_date
    order by 1
"""


def read_requests(duckdb_path: Path | str, since: Any = None) -> pd.DataFrame:
    """fct_llm_requests rows of the landing days from ``since`` on (all rows when None)."""
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(REQUESTS_SQL, [since or "1900-01-01"]).df()


def read_marts(duckdb_path: Path | str) -> pd.DataFrame:
    """One row per usage_date reconciling fct_daily_usage with fct_llm_requests."""
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(MARTS_SQL).df()


def prepare_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """The request rows with the derived columns the ``fct_llm_requests`` suite checks."""
    df = requests.copy()
    priced = df["is_priced"].fillna(False).astype(bool)
    has_cost = df["total_cost_usd"].notna()
    df["priced_without_cost"] = priced & ~has_cost
    df["cost_without_price"] = ~priced & has_cost
    return df


def validate_requests(
    requests: pd.DataFrame,
    context_root: Path | None = None,
    build_docs: bool = False,
    docs_dir: Path | None = None,
) -> SuiteResult:
    """Validate fct_llm_requests rows (as read by :func:`read_requests`)."""
    return run_checkpoint(
        REQUESTS_SUITE,
        prepare_requests(requests),
        context_root=context_root,
        build_docs=build_docs,
        docs_dir=docs_dir,
    )


def validate_marts(
    reconciliation: pd.DataFrame,
    context_root: Path | None = None,
    build_docs: bool = False,
    docs_dir: Path | None = None,
) -> SuiteResult:
    """Validate the per-day reconciliation of the key marts (as read by :func:`read_marts`)."""
    return run_checkpoint(
        MARTS_SUITE,
        reconciliation,
        context_root=context_root,
        build_docs=build_docs,
        docs_dir=docs_dir,
    )


# --------------------------------------------------------------------------- CLI


def load_prices_csv(path: Path | str) -> pd.DataFrame:
    """Read a price / alias seed CSV as strings (empty cells stay empty strings)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def load_events_jsonl(paths: Iterable[Path | str]) -> pd.DataFrame:
    """Read landed event files (JSON lines) into one DataFrame, fields as columns, values as
    written (no type inference, so a bad value reaches the checks as it is)."""
    records: list[dict] = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records.extend(json.loads(line) for line in fh if line.strip())
    return pd.DataFrame.from_records(records)


def main(argv: list[str] | None = None) -> int:
    """``python -m orchestration.expectations prices|events ...`` -- prints the summary."""
    parser = argparse.ArgumentParser(prog="python -m orchestration.expectations")
    parser.add_argument("--docs", action="store_true", help="build Data Docs")
    parser.add_argument("--docs-dir", type=Path, default=DEFAULT_DOCS_DIR)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("prices", help="validate a price seed CSV")
    p.add_argument("csv", type=Path, nargs="?", default=REPO_ROOT / "seeds" / "model_prices.csv")
    p.add_argument("--aliases", type=Path, default=None)
    e = sub.add_parser("events", help="validate landed event JSONL files")
    e.add_argument("files", type=Path, nargs="+")
    e.add_argument("--mostly", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.what == "prices":
        aliases = load_prices_csv(args.aliases) if args.aliases else None
        result = validate_prices(
            load_prices_csv(args.csv), aliases, build_docs=args.docs, docs_dir=args.docs_dir
        )
    else:
        result = validate_events(
            load_events_jsonl(args.files),
            build_docs=args.docs,
            docs_dir=args.docs_dir,
            mostly=args.mostly,
        )
    print(result.summary())
    if result.docs_index:
        print(f"Data Docs: {result.docs_index}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
