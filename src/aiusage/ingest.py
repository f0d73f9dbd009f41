"""`aiusage ingest <source> <path>...`: validate delivered files and land them.

Every source lands under ``<landing>/<source>/dt=YYYY-MM-DD/`` in the one format its
staging model reads in place:

- events, litellm_spend_logs, langfuse_observations, openrouter, outcomes: delivered as
  JSONL, JSON (an array or ``{"data": [...]}``), CSV or Parquet (``.gz`` for text); landed as
  JSON Lines, one record per line. OpenRouter generation records may keep their API
  envelope (``{"data": {...}}``, one per file or per line): the record inside is landed.
- openai_usage, anthropic_usage: delivered as a usage page as returned
  (``{"data": [buckets]}``), a JSON array of pages or JSONL of pages (``.gz`` too); landed
  as one JSON document (a page or an array of pages).

Row numbers survive the conversion: line N of a landed JSONL file is line N of a delivered
JSONL file, data row N of a CSV (header excluded), element N of a JSON array, row N of a
Parquet file. A CSV row with the wrong number of fields lands as
``{"_ingest_error": "csv_field_count_mismatch", "_raw": "<row text>"}`` so that staging
quarantines it with its row number instead of it being dropped.

Landing is idempotent: the landed file name carries a hash of the landed content
(``<HHMMSSffffff>-<stem>.<sha256[:16]>.<ext>``); a file whose content is already landed for
that source (in any dt= folder) is skipped. Files are written to a temporary name and
renamed, so a refresh never reads half a file.

The name starts with the time it was landed (UTC, to the microsecond, one step apart for
the files of one call, in their order): the staging models decide which of two deliveries
of the same record is the latest by landing day, then file name, then line, so a file
landed later the same day sorts after the earlier one and wins (the content hash alone
would make that order arbitrary).

Some delivered formats are converted to a landing source's format here: ``otel``
(OTLP/JSON spans and log records, aiusage.otel) lands as canonical events under
``events``, one event per LLM or embedding call (landed name ``<time>-otel-<stem>.<hash>.jsonl``),
so that one staging model, one pricing and one quarantine serve it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiusage import otel
from aiusage.errors import IngestError, os_error_message
from aiusage.landing import SOURCE_NAMES, day_folder, file_with_digest, source, write_atomically
from aiusage_tracking.contract import outcome_required_fields, required_fields


def required_record_fields(source_name: str) -> tuple[tuple[str, ...], ...]:
    """Fields a record of a per-record source must carry (any one spelling of each tuple):
    the contracts' required fields for canonical events and task outcomes, the keys staging
    needs for the exports of LiteLLM and Langfuse."""
    if source_name == "events":
        return tuple((name,) for name in required_fields())
    if source_name == "outcomes":
        return tuple((name,) for name in outcome_required_fields())
    return {
        "litellm_spend_logs": (("request_id",), ("startTime", "start_time"), ("model",)),
        "langfuse_observations": (("id",), ("start_time", "startTime")),
        "openrouter": (("id",), ("created", "created_at"), ("model",)),
    }[source_name]


#: Sources whose records may come in an API envelope ``{"data": {record}}`` (OpenRouter's
#: GET /api/v1/generation): the record inside is landed, one per line, at the same line.
ENVELOPED_SOURCES = ("openrouter",)


def unwrap_envelope(source_name: str, record):
    """The record inside a ``{"data": {...}}`` envelope for the sources that use one; any
    other record as it is."""
    if (
        source_name in ENVELOPED_SOURCES
        and isinstance(record, dict)
        and isinstance(record.get("data"), dict)
    ):
        return record["data"]
    return record


def is_record_source(source_name: str) -> bool:
    """A source landed as one record per line (JSONL), not as usage pages."""
    return source(source_name).landed_format == "jsonl"


# Delivered formats converted at ingest: {format name: the landing source it lands in}.
CONVERTED_FORMATS = {"otel": "events"}
INGEST_SOURCES: tuple[str, ...] = SOURCE_NAMES + tuple(CONVERTED_FORMATS)

TEXT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}


# Parsers that recurse (json) hit Python's recursion limit on deeply nested input: such a
# record is malformed for the warehouse, never a crash of the ingest.
PARSE_ERRORS = (json.JSONDecodeError, RecursionError)
# A JSONL line of only these characters is blank (not a row); staging uses the same rule
# (macro is_content_line), so the rows counted here are the rows the warehouse accounts for.
BLANK = " \t\r"


@dataclass
class LandedFile:
    delivered: Path
    landed: Path
    rows: int
    invalid_rows: int
    skipped: bool  # already landed (same content hash)
    note: str = ""  # what a converted file held besides its rows (otel: spans by kind)


@dataclass
class IngestSummary:
    source: str
    files: list[LandedFile] = field(default_factory=list)

    @property
    def files_landed(self) -> int:
        return sum(not f.skipped for f in self.files)

    @property
    def files_skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files if not f.skipped)

    @property
    def invalid_rows(self) -> int:
        return sum(f.invalid_rows for f in self.files if not f.skipped)


def detect_format(path: Path) -> tuple[str, bool]:
    """(format, gzipped) from the file name: jsonl, json, csv or parquet."""
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last == ".parquet" and not gzipped:
        return "parquet", False
    if last in TEXT_FORMATS:
        return TEXT_FORMATS[last], gzipped
    raise IngestError(
        f"{path}: unsupported file type; expected .jsonl, .ndjson, .json or .csv "
        "(optionally .gz) or .parquet"
    )


def _read_text(path: Path, gzipped: bool) -> str:
    data = path.read_bytes()
    if gzipped:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise IngestError(f"{path}: not a valid gzip file ({error})") from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(
            f"{path}: not UTF-8 text (byte {error.start}); re-export it as UTF-8"
        ) from error


def _dumps(record) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)


def _record_problem(source: str, record) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    if "_ingest_error" in record:
        return str(record["_ingest_error"])
    for spellings in required_record_fields(source):
        if not any(record.get(name) not in (None, "") for name in spellings):
            return f"missing {spellings[0]}"
    return None


def _records_from_json(path: Path, text: str) -> list:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(f"{path}: invalid JSON ({error}); JSON Lines need .jsonl") from error
    except RecursionError as error:
        raise IngestError(f"{path}: JSON nested too deeply to read; flatten it") from error
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        return document["data"]  # API exports: {"data": [...], "meta": {...}}
    if isinstance(document, dict):
        return [document]
    raise IngestError(f"{path}: expected a JSON array or object of records")


def _records_from_csv(path: Path, text: str) -> list:
    # A field may be as long as the file (the csv module's default limit is 128 KiB).
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise IngestError(f"{path}: not a readable CSV file ({error}); re-export it") from error
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise IngestError(f"{path}: empty CSV (no header row)")
    header = [cell.strip() for cell in rows[0]]
    records: list = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            records.append(None)  # blank row: kept as a blank line, not a record
        elif len(row) != len(header):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="").writerow(row)
            records.append(
                {
                    "_ingest_error": "csv_field_count_mismatch",
                    "_raw": buffer.getvalue(),
                }
            )
        else:
            records.append({k: v for k, v in zip(header, row, strict=True) if v != ""})
    return records


def _records_from_parquet(path: Path) -> list:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises several types for a bad file
        raise IngestError(
            f"{path}: not a readable Parquet file ({error}); re-export it or deliver it as "
            "JSONL or CSV"
        ) from error
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def normalize_records(source: str, path: Path) -> tuple[str, int, int]:
    """Landed JSONL text, rows, invalid rows for a per-record source."""
    fmt, gzipped = detect_format(path)
    if fmt == "parquet":
        records = _records_from_parquet(path)
    else:
        text = _read_text(path, gzipped)
        if fmt == "jsonl" and source in ENVELOPED_SOURCES:
            text = _unwrap_jsonl(source, text)
        if fmt == "jsonl":
            lines = text.split("\n")
            rows = invalid = 0
            for line in lines:
                if not line.strip(BLANK):
                    continue
                rows += 1
                try:
                    record = json.loads(line)
                except PARSE_ERRORS:
                    invalid += 1
                    continue
                invalid += _record_problem(source, record) is not None
            return text, rows, invalid
        records = _records_from_json(path, text) if fmt == "json" else _records_from_csv(path, text)
    records = [unwrap_envelope(source, record) for record in records]
    out = []
    rows = invalid = 0
    for record in records:
        if record is None:
            out.append("")
            continue
        rows += 1
        invalid += _record_problem(source, record) is not None
        out.append(_dumps(record))
    return "\n".join(out) + ("\n" if out else ""), rows, invalid


def _unwrap_jsonl(source: str, text: str) -> str:
    """JSONL text with each enveloped record replaced by the record inside, line for line
    (a line that is blank or not JSON stays as it is: staging counts and judges it)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip(BLANK):
            continue
        try:
            record = json.loads(line)
        except PARSE_ERRORS:
            continue
        inner = unwrap_envelope(source, record)
        if inner is not record:
            lines[i] = _dumps(inner)
    return "\n".join(lines)


def _page_results(page) -> tuple[int, int]:
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise ValueError('a usage page is an object with a "data" list of buckets')
    rows = invalid = 0
    for bucket in page["data"]:
        if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
            raise ValueError('every bucket needs a "results" list')
        for result in bucket["results"]:
            rows += 1
            invalid += not isinstance(result, dict)
    return rows, invalid


def normalize_pages(source: str, path: Path) -> tuple[str, int, int]:
    """Landed JSON text (a page, or an array of pages), rows (results), invalid rows."""
    fmt, gzipped = detect_format(path)
    if fmt not in ("json", "jsonl"):
        raise IngestError(f"{path}: {source} takes usage pages as JSON or JSONL, not {fmt}")
    text = _read_text(path, gzipped)
    try:
        if fmt == "json":
            document = json.loads(text)
            landed = text
        else:
            document = [json.loads(line) for line in text.split("\n") if line.strip()]
            landed = "[" + ",\n".join(_dumps(page) for page in document) + "]\n"
        pages = document if isinstance(document, list) else [document]
        counts = [_page_results(page) for page in pages]
    except (*PARSE_ERRORS, ValueError) as error:
        raise IngestError(f"{path}: not a {source} page ({error})") from error
    return landed, sum(c[0] for c in counts), sum(c[1] for c in counts)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in reversed(path.suffixes):
        name = name[: -len(suffix)]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name) or "file"


def normalize_otel(path: Path, mapping: dict[str, tuple[str, ...]]) -> tuple[str, int, int, str]:
    """Landed JSONL of canonical events (aiusage.otel), rows, invalid rows, what was read."""
    fmt, gzipped = detect_format(path)
    if fmt not in ("json", "jsonl"):
        raise IngestError(f"{path}: otel takes OTLP/JSON (.json or .jsonl, .gz too), not {fmt}")
    conversion = otel.convert(path, _read_text(path, gzipped), mapping)
    lines = [_dumps(event) for event in conversion.events]
    invalid = sum(_record_problem("events", event) is not None for event in conversion.events)
    text = "\n".join(lines) + ("\n" if lines else "")
    return text, len(lines), invalid, conversion.summary()


def prepare(source: str, path: Path) -> tuple[str, int, int]:
    """Validate and convert one delivered file: (landed text, rows, invalid rows)."""
    if is_record_source(source):
        return normalize_records(source, path)
    return normalize_pages(source, path)


def land_file(
    landing_dir: Path,
    source: str,
    path: Path,
    landing_date: date,
    prepared: tuple[str, int, int] | None = None,
    stem_prefix: str = "",
    landed_at: datetime | None = None,
) -> LandedFile:
    """Land one file under `landing_date`'s folder, named after the time it was landed
    (`landed_at`, default now; UTC), its stem and its content hash."""
    text, rows, invalid = prepared or prepare(source, path)
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()[:16]
    existing = file_with_digest(landing_dir, source, digest)
    if existing is not None:
        return LandedFile(path, existing, rows, invalid, skipped=True)
    extension = source_extension(source)
    arrival = (landed_at or datetime.now(UTC)).astimezone(UTC)
    name = f"{arrival:%H%M%S%f}-{stem_prefix}{_stem(path)}.{digest}.{extension}"
    target = day_folder(landing_dir, source, landing_date) / name
    try:
        write_atomically(target, data)  # a half-written temporary never stays behind
    except OSError as error:
        raise IngestError(
            os_error_message(error, "to the landing folder", "AIUSAGE_LANDING_DIR")
        ) from error
    return LandedFile(path, target, rows, invalid, skipped=False)


def source_extension(source_name: str) -> str:
    return source(source_name).extension


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")
            )
        elif path.is_file():
            files.append(path)
        else:
            raise IngestError(f"{path}: no such file or folder")
    return files


def ingest(
    landing_dir: Path,
    source: str,
    paths: list[Path],
    landing_date: date | None = None,
    otel_mapping: dict[str, tuple[str, ...]] | None = None,
) -> IngestSummary:
    """Validate every file first, then land them; nothing is landed if one file is refused.

    `source` is a landing source or a converted format (CONVERTED_FORMATS); ``otel`` needs
    the attribution mapping (aiusage.otel.load_mapping)."""
    if source not in INGEST_SOURCES:
        raise IngestError(f"unknown source {source!r}; expected one of {', '.join(INGEST_SOURCES)}")
    if source == "otel" and otel_mapping is None:
        raise IngestError("otel: no attribution mapping given (otel_attribution.yml)")
    files = _expand(paths)
    if not files:
        raise IngestError("no files to ingest")
    day = landing_date or datetime.now(UTC).date()
    summary = IngestSummary(source)
    target = CONVERTED_FORMATS.get(source, source)
    if source == "otel":  # a refused file stops the call before anything lands
        converted = [normalize_otel(path, otel_mapping or {}) for path in files]
        prepared = [c[:3] for c in converted]
        notes = [c[3] for c in converted]
    else:
        prepared = [prepare(source, path) for path in files]
        notes = ["" for _ in files]
    prefix = f"{source}-" if source in CONVERTED_FORMATS else ""
    landed_at = datetime.now(UTC)  # the call's files one microsecond apart, in their order
    for index, (path, landed_text, note) in enumerate(zip(files, prepared, notes, strict=True)):
        landed = land_file(
            landing_dir, target, path, day, landed_text, stem_prefix=prefix,
            landed_at=landed_at + timedelta(microseconds=index),
        )  # fmt: skip
        landed.note = note
        summary.files.append(landed)
    return summary
