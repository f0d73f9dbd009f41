"""Reading the warehouse: read-only connections, parameterized rows, JSON of its values."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from aiusage.settings import staging_duckdb_path

# The staging tables' database, as profiles.yml attaches it (settings.staging_duckdb_path).
STAGING_DATABASE = "staging"


def connect_readonly(duckdb_path: Path) -> duckdb.DuckDBPyConnection:
    if not Path(duckdb_path).exists():
        raise FileNotFoundError(
            f"No warehouse at {duckdb_path}: run `aiusage build` (or `aiusage demo`) first."
        )
    return duckdb.connect(str(duckdb_path), read_only=True)


def connect_build(duckdb_path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """The build's warehouse (not a published snapshot) with its staging file attached as
    dbt attaches it (database `staging`), and both on the search path: a staging table
    resolves by its bare name, as the marts do. Read-only attaches a staging file only if
    it exists."""
    con = duckdb.connect(str(duckdb_path), read_only=read_only)
    staging = staging_duckdb_path(duckdb_path)
    if read_only and not staging.exists():
        return con
    path = str(staging).replace("'", "''")
    mode = " (read_only)" if read_only else ""
    con.execute(f"attach '{path}' as {STAGING_DATABASE}{mode}")
    (database,) = con.execute("select current_database()").fetchone()
    quoted = '"' + database.replace('"', '""') + '"'
    con.execute(f"set search_path = '{quoted}.main,{STAGING_DATABASE}.main'")
    return con


def relation_exists(con, name: str) -> bool:
    (count,) = con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [name]
    ).fetchone()
    return count > 0


def fetch_rows(con, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_jsonable(report: dict):
    return json.loads(json.dumps(report, default=json_default))
