"""The landed batch of canonical events, validated by the usage_events suite before a
refresh reads it.

`read_landed_events` is the one reader of landed event lines for validation: lines and blank
lines as staging sees them, a line that is not a JSON object an all-null row (so it counts
against the batch instead of vanishing).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from aiusage.quality.checks import EVENTS_SUITE, LandedBatchResult
from aiusage.quality.frames import clean_text, nulls, to_numbers, to_utc, unparseable
from aiusage.quality.gx import SuiteResult, run_checkpoint
from aiusage.refresh import RefreshOptions, first_landing_day, landed_event_batch
from aiusage.settings import Settings
from aiusage_tracking.contract import event_fields, token_fields

EVENT_TEXT_COLUMNS = ["request_id", "provider", "model", "status", "service_tier"]
EVENT_OPTIONAL_NUMBER_COLUMNS = ["latency_ms", "ttft_ms", "quality_score"]


# Where a landed line came from (the file and its 1-based line number, as staging counts):
# a failing expectation names them, so the fix is one line away.
LINE_COLUMNS = ("source_file", "line_number")


def suite_fields() -> tuple[str, ...]:
    """The contract's fields the usage_events suite checks (token names from the contract)."""
    fields = (
        *EVENT_TEXT_COLUMNS[:3],
        "occurred_at",
        *token_fields(),
        *EVENT_TEXT_COLUMNS[3:],
        *EVENT_OPTIONAL_NUMBER_COLUMNS,
    )
    unknown = set(fields) - set(event_fields())
    if unknown:
        raise ValueError(f"the usage_events suite checks fields outside the contract: {unknown}")
    return fields


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


def prepare_events(events: pd.DataFrame) -> pd.DataFrame:
    """The event batch typed and with the derived columns the ``usage_events`` suite checks.

    Missing optional columns are treated as absent fields: token counts 0, ``status`` success
    (as the contract says), everything else null.  Columns the suite does not use are dropped,
    except where a line came from (LINE_COLUMNS), which failures name.
    """
    idx = events.index
    df = pd.DataFrame(index=idx)
    for col in LINE_COLUMNS:
        if col in events.columns:
            df[col] = events[col]
    for col in EVENT_TEXT_COLUMNS:
        df[col] = clean_text(events[col]) if col in events.columns else nulls(idx)
    df["status"] = df["status"].where(df["status"].notna(), "success")

    bad: dict[str, tuple[pd.Series, pd.Series]] = {}
    raw_ts = clean_text(events["occurred_at"]) if "occurred_at" in events.columns else nulls(idx)
    df["occurred_at"] = raw_ts
    df["occurred_at_utc"], ts_bad = to_utc(raw_ts)
    bad["occurred_at"] = (ts_bad, raw_ts)
    for col in token_fields():
        raw = clean_text(events[col]) if col in events.columns else nulls(idx)
        num, col_bad = to_numbers(raw)
        num = num.where(raw.notna(), 0.0)  # absent = 0
        if (
            not num.isna().any()
            and (num == np.floor(num)).all()
            and num.abs().max() < 2.0**63  # else int64 would wrap
        ):
            num = num.astype("int64")
        df[col] = num
        bad[col] = (col_bad, raw)
    for col in EVENT_OPTIONAL_NUMBER_COLUMNS:
        raw = clean_text(events[col]) if col in events.columns else nulls(idx)
        df[col], col_bad = to_numbers(raw)
        bad[col] = (col_bad, raw)
    df["unparseable_fields"] = unparseable(bad, idx)
    df["cached_input_tokens"] = df["cache_read_tokens"] + df["cache_write_tokens"]
    return df


def _scalar(value):
    """An object or array where a field wants a scalar becomes its JSON text: it still fails
    the field's expectations, and pandas and GX can hash it (a dict or list cannot be)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


# orjson reads an integer outside [-2**63, 2**64) as the nearest double, where json keeps the
# exact int (docs/performance.md, thirty-second round).
_ORJSON_EXACT_BELOW = 2.0**63
# The types of orjson's values that json may read differently: an object or array (kept as
# its JSON text, whose numbers json reads exactly) and a double (one orjson rounded).
_JSON_MAY_DIFFER = frozenset({dict, list, float})


def _field_values(line: str, fields: tuple[str, ...]) -> list | None:
    """The fields' values of a line that is a JSON object, as Python's json module reads
    them (an object or array as its JSON text, _scalar); None when the line is not one.
    orjson parses the common line several times as fast. json reads the rest: a line orjson
    refuses (a number beyond the double range, NaN or Infinity, a lone surrogate escape,
    nesting past its limit), and one whose fields hold a double orjson may have rounded
    from an integer or an object or array, whose text would show such a double."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    else:
        if not isinstance(record, dict):
            return None
        values = [record.get(field) for field in fields]
        # the common line holds text, ints and None; a line with doubles and no object or
        # array is orjson's when every double is below _ORJSON_EXACT_BELOW
        differ = _JSON_MAY_DIFFER.intersection(map(type, values))
        if not differ or (
            differ == {float}
            and all(
                -_ORJSON_EXACT_BELOW < value < _ORJSON_EXACT_BELOW
                for value in values
                if type(value) is float
            )
        ):
            return values
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    return [_valid_text(_scalar(record.get(field))) for field in fields]


def _valid_text(value):
    """A string with a lone surrogate (json reads the escape "\\ud800" into one) with
    U+FFFD in its place, as the bytes of a line that is not UTF-8 are decoded: pandas' text
    columns cannot hold it (the check crashed on such a line)."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def read_landed_events(paths) -> pd.DataFrame:
    """Landed JSONL lines as rows of the suite's fields; a line that is not a JSON object
    becomes an all-null row, so it counts against the batch instead of vanishing. Lines and
    blank lines as staging sees them (split on newline only; blank = spaces, tabs, carriage
    returns); a line nested too deeply for Python's parser is not an object either.
    Built column by column (a list per field), not row by row: a full build's batch at 10M
    events is 536,087 lines (docs/performance.md, thirty-second round)."""
    fields = suite_fields()
    columns: dict[str, list] = {field: [] for field in (*fields, *LINE_COLUMNS)}
    appends = [columns[field].append for field in fields]
    add_file, add_number = columns["source_file"].append, columns["line_number"].append
    no_values = [None] * len(fields)
    for path in paths:
        text = Path(path).read_bytes().decode("utf-8", errors="replace")
        source = str(path)
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip(" \t\r"):
                continue
            values = _field_values(line, fields) or no_values
            for append, value in zip(appends, values, strict=True):
                append(value)
            add_file(source)
            add_number(number)
    return pd.DataFrame(columns)  # each column's type inferred, as from rows of dicts


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

    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute(
            f"""create table if not exists {VALIDATED_FILES_TABLE} (
                path varchar primary key, size bigint, mtime_ns bigint, validated_at timestamp)"""
        )
        con.executemany(
            f"insert or replace into {VALIDATED_FILES_TABLE} values (?, ?, ?, now())",
            [[str(path), *_file_stamp(path)] for path in paths],
        )


def validate_landed_batch(
    settings: Settings,
    options: RefreshOptions,
    *,
    build_docs: bool = True,
    remember: bool = True,
) -> LandedBatchResult:
    """Run the usage_events suite over the landed event files a refresh reads (its window,
    or the backfill range), minus the files that passed on an earlier refresh with the same
    size and modification time (so a refresh with no new data validates nothing). A backfill
    or a full refresh validates the whole window. Fails when more than
    AIUSAGE_REJECT_THRESHOLD of the lines break an expectation. With `remember`, files
    that pass are recorded in the warehouse; a failing file never is."""
    batch = landed_event_batch(settings, options)
    skipped = 0
    if remember and not (options.is_backfill or options.full_refresh):
        passed = validated_files(settings.duckdb_path)
        new = [path for path in batch if passed.get(str(path)) != _file_stamp(path)]
        skipped, batch = len(batch) - len(new), new
    first = first_landing_day(settings, options)
    if not batch:
        return LandedBatchResult(None, 0, skipped, first)
    result = validate_events(
        read_landed_events(batch),
        mostly=1.0 - settings.reject_threshold,
        build_docs=build_docs,
        docs_dir=settings.gx_docs_dir,
        context_root=settings.project_dir / "expectations",
    )
    if result.success and remember:
        record_validated_files(settings.duckdb_path, batch)
    return LandedBatchResult(result, len(batch), skipped, first)
