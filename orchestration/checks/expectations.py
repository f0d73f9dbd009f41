"""Great Expectations suites as Dagster asset checks.

* `model_prices_expectations` guards the `model_prices` seed and `landed_events_expectations`
  the landed batch a refresh re-reads: both are blocking, so when either fails the dbt
  models downstream do not run and bad data never reaches the marts.
* `fct_llm_requests_expectations` checks the rows of the refreshed landing days and
  `warehouse_marts_expectations` reconciles fct_daily_usage with fct_llm_requests (non-negative
  costs, equal totals per day). They are blocking too: a failing mart is never published.

Each check returns the suite's readable summary (failing rows named) as its description and
metadata, and updates the Data Docs site in AIUSAGE_GX_DOCS_DIR.
"""

import json
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from orchestration.assets.landing import landed_files
from orchestration.resources import RefreshOptions, WarehouseSettings
from orchestration.settings import Settings

EVENT_COLUMNS = [
    "request_id",
    "occurred_at",
    "provider",
    "model",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "service_tier",
    "latency_ms",
    "ttft_ms",
    "status",
    "quality_score",
]


def read_landed_events(paths) -> pd.DataFrame:
    """Landed JSONL lines as rows; a line that is not a JSON object becomes an all-null row,
    so it counts against the batch instead of vanishing. Lines and blank lines as staging
    sees them (split on newline only; blank = spaces, tabs, carriage returns); a line
    nested too deeply for Python's parser is not an object either."""
    rows = []
    for path in paths:
        text = Path(path).read_bytes().decode("utf-8", errors="replace")
        for line in text.split("\n"):
            if not line.strip(" \t\r"):
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                record = None
            rows.append(
                {c: _scalar(record.get(c)) for c in EVENT_COLUMNS}
                if isinstance(record, dict)
                else dict.fromkeys(EVENT_COLUMNS)
            )
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def _scalar(value):
    """An object or array where a field wants a scalar becomes its JSON text: it still fails
    the field's expectations, and pandas and GX can hash it (a dict or list cannot be)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def warehouse_max_landing_day(duckdb_path: Path) -> date | None:
    """The latest landing day already in fct_llm_requests (None before the first build)."""
    if not duckdb_path.exists():
        return None
    import duckdb

    try:
        with duckdb.connect(str(duckdb_path), read_only=True) as con:
            (value,) = con.execute("select max(landing_date) from fct_llm_requests").fetchone()
    except duckdb.CatalogException:
        return None
    return value


def refresh_first_day(settings: Settings, options: RefreshOptions) -> date | None:
    """First landing day of the batch the expectations validate: the same cutoff as
    macros/incremental.sql for an incremental refresh or a backfill. A first build or a full
    refresh re-reads every file, but the expectations still validate a bounded batch, the
    look-back window before the latest landing day: history was validated when it landed,
    and the dbt tests (reject-rate gate, token integrity) judge every row of every build.
    None only when nothing has landed."""
    latest = warehouse_max_landing_day(settings.duckdb_path)
    first = None
    if latest is not None:
        first = options.first_landing_day(latest, settings.lookback_days)
    if first is None:
        days = [day for day, _ in landed_files(settings.landing_dir, "events")]
        if days:
            first = max(days) - timedelta(days=settings.lookback_days)
    return first


def refresh_batch(settings: Settings, options: RefreshOptions) -> list[Path]:
    """The landed event files the next refresh reads."""
    first = refresh_first_day(settings, options)
    files = landed_files(settings.landing_dir, "events")
    return [path for day, path in files if first is None or day >= first]


# Landed event files that passed the landed-batch expectations, with their size and
# modification time, in the warehouse's DuckDB file (deleting the warehouse forgets them).
VALIDATED_FILES_TABLE = "aiusage_validated_landed_files"


def _file_stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def validated_files(duckdb_path: Path) -> dict[str, tuple[int, int]]:
    """{path: (size, mtime_ns)} of the landed files that passed on an earlier refresh."""
    if not duckdb_path.exists():
        return {}
    import duckdb

    try:
        with duckdb.connect(str(duckdb_path), read_only=True) as con:
            rows = con.execute(
                f"select path, size, mtime_ns from {VALIDATED_FILES_TABLE}"
            ).fetchall()
    except duckdb.CatalogException:  # nothing validated yet
        return {}
    return {path: (size, mtime_ns) for path, size, mtime_ns in rows}


def record_validated_files(duckdb_path: Path, paths: list[Path]) -> None:
    import duckdb

    with duckdb.connect(str(duckdb_path)) as con:
        con.execute(
            f"""create table if not exists {VALIDATED_FILES_TABLE} (
                path varchar primary key, size bigint, mtime_ns bigint, validated_at timestamp)"""
        )
        con.executemany(
            f"insert or replace into {VALIDATED_FILES_TABLE} values (?, ?, ?, now())",
            [[str(path), *_file_stamp(path)] for path in paths],
        )


def files_to_validate(settings: Settings, options: RefreshOptions) -> tuple[list[Path], int]:
    """(files the landed-batch expectations must read, files of the batch skipped).

    The batch is the refresh's window (refresh_batch). A file that passed on an earlier
    refresh with the same size and modification time is not read again, so a refresh with
    no new data validates nothing and a refresh validates its new files only; a changed
    or new file, and every file of a backfill or a full refresh, is validated."""
    batch = refresh_batch(settings, options)
    if options.is_backfill or options.full_refresh:
        return batch, 0
    passed = validated_files(settings.duckdb_path)
    new = [path for path in batch if passed.get(str(path)) != _file_stamp(path)]
    return new, len(batch) - len(new)


def check_result(result, **extra) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.summary(),
        metadata={
            "suite": result.suite,
            "rows": result.row_count,
            "expectations": result.evaluated,
            "failed_expectations": len(result.failed),
            "summary": dg.MetadataValue.md(result.summary()),
            **(
                {"data_docs": dg.MetadataValue.path(str(result.docs_index))}
                if result.docs_index
                else {}
            ),
            **extra,
        },
    )


def price_check(settings: Settings, seeds_dir: Path | None = None, build_docs: bool = False):
    """Run the model_prices suite on the price and alias seeds of the project."""
    from orchestration.expectations import validate_prices

    seeds = seeds_dir or settings.project_dir / "seeds"
    prices = pd.read_csv(seeds / "model_prices.csv", dtype=str, keep_default_na=False)
    aliases = pd.read_csv(seeds / "model_aliases.csv", dtype=str, keep_default_na=False)
    return validate_prices(prices, aliases, build_docs=build_docs, docs_dir=settings.gx_docs_dir)


@dg.asset_check(
    asset=dg.AssetKey(["model_prices"]),
    name="model_prices_expectations",
    blocking=True,
    description="GX suite model_prices: non-negative prices, no overlapping validity "
    "windows, known providers, tier consistency, every alias target priced.",
)
def model_prices_expectations(warehouse: WarehouseSettings) -> dg.AssetCheckResult:
    settings = warehouse.resolve()
    return check_result(price_check(settings, build_docs=True))


@dg.asset_check(
    asset=dg.AssetKey(["landing", "events"]),
    name="landed_events_expectations",
    blocking=True,
    description="GX suite usage_events over the landed batch a refresh reads (the look-back "
    "window, or the backfill range), minus the files that passed on an earlier refresh "
    "unchanged: token integrity, allowed values, timestamps. Fails when more than "
    "AIUSAGE_REJECT_THRESHOLD of the lines break an expectation.",
)
def landed_events_expectations(warehouse: WarehouseSettings) -> dg.AssetCheckResult:
    from orchestration.expectations import validate_events

    settings = warehouse.resolve()
    options = warehouse.refresh_options()
    first = refresh_first_day(settings, options)
    batch, skipped = files_to_validate(settings, options)
    if not batch:
        return dg.AssetCheckResult(
            passed=True,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"No new or changed landed event files: the {skipped} file(s) of the "
            "refresh window passed on an earlier refresh.",
            metadata={"files": 0, "already_validated": skipped, "rows": 0},
        )
    frame = read_landed_events(batch)
    result = validate_events(
        frame,
        mostly=1.0 - settings.reject_threshold,
        build_docs=True,
        docs_dir=settings.gx_docs_dir,
    )
    if result.success:
        record_validated_files(settings.duckdb_path, batch)
    return check_result(
        result, files=len(batch), already_validated=skipped, first_landing_day=str(first or "all")
    )


@dg.asset_check(
    asset=dg.AssetKey(["fct_llm_requests"]),
    name="fct_llm_requests_expectations",
    blocking=True,
    description="GX suite fct_llm_requests over the rows of the refreshed landing days: unique "
    "keys, non-negative tokens and costs, priced rows costed, unpriced rows never $0.",
)
def fct_llm_requests_expectations(warehouse: WarehouseSettings) -> dg.AssetCheckResult:
    from orchestration.expectations import read_requests, validate_requests

    settings = warehouse.resolve()
    # The rows this refresh re-read: the cutoff is recomputed against the built fact.
    first = refresh_first_day(settings, warehouse.refresh_options())
    frame = read_requests(settings.duckdb_path, first)
    result = validate_requests(frame, build_docs=True, docs_dir=settings.gx_docs_dir)
    return check_result(result, first_landing_day=str(first or "all"))


@dg.asset_check(
    asset=dg.AssetKey(["fct_daily_usage"]),
    additional_deps=[dg.AssetKey(["fct_llm_requests"])],
    name="warehouse_marts_expectations",
    blocking=True,
    description="GX suite warehouse_marts: per usage_date, fct_daily_usage and fct_llm_requests "
    "have no negative cost and equal requests, tokens and cost.",
)
def warehouse_marts_expectations(warehouse: WarehouseSettings) -> dg.AssetCheckResult:
    from orchestration.expectations import read_marts, validate_marts

    settings = warehouse.resolve()
    result = validate_marts(
        read_marts(settings.duckdb_path), build_docs=True, docs_dir=settings.gx_docs_dir
    )
    return check_result(result)


EXPECTATION_CHECKS = [
    model_prices_expectations,
    landed_events_expectations,
    fct_llm_requests_expectations,
    warehouse_marts_expectations,
]
