"""The same dbt project on Spark (issue 10): one small generated sample plus the example
provider files is built on DuckDB and on local Spark (dbt-spark `session` target), and every
mart (models under models/marts) must match between the two engines.

Tolerances: the same rows and keys; text, integers, booleans, dates and timestamps equal;
money (decimal columns) equal to the cent (0.005 USD); floats (averages, rates, scores,
percentiles) within 1e-6, absolute or relative: Spark divides decimals at 6 decimals where
DuckDB divides in double. Percentiles are interpolated the same way on both engines
(continuous, linear), so they share the float tolerance.

Marked `spark`: deselected by `make test`, run by `make test-spark` (needs the spark extra
and Java 17). dbt unit tests run on DuckDB only (`make test`); the Spark build runs the
models, seeds and data tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLES = {
    "openai_usage": "openai_usage_completions.json",
    "anthropic_usage": "anthropic_usage_messages.json",
    "litellm_spend_logs": "litellm_spend_logs.csv",
    "langfuse_observations": "langfuse_observations.json",
    "outcomes": "outcomes.jsonl",
}
SAMPLE_DAYS, SAMPLE_EVENTS_PER_DAY, SAMPLE_SEED, SAMPLE_END = 5, 300, 11, "2026-11-20"
MONEY_TOLERANCE = Decimal("0.005")
FLOAT_REL_TOLERANCE, FLOAT_ABS_TOLERANCE = 1e-6, 1e-6


# the marts: the models under models/marts (their contracts and keys come from the manifest
# the builds wrote: aiusage.project, as publish reads them)
MARTS = sorted(p.stem for p in (PROJECT_DIR / "models" / "marts").rglob("*.sql"))


def _marts(manifest: Path) -> dict[str, dict]:
    """Every mart: its contract's columns (name -> data_type) and its key columns
    (Mart.key: the column publish orders rows by; every column when it has none)."""
    from aiusage.project import mart_contracts, mart_relations

    contracts = mart_contracts(manifest)
    marts = {
        mart.name: {"columns": contracts[mart.name], "keys": [mart.key] if mart.key else []}
        for mart in mart_relations(manifest)
        if not mart.support  # a table a view mart reads: compared through that mart
    }
    assert sorted(marts) == MARTS, set(MARTS) ^ set(marts)
    return marts


def _run(args: list[str], env: dict) -> float:
    started = time.monotonic()
    result = subprocess.run(args, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, (result.stdout[-6000:], result.stderr[-3000:])
    return elapsed


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    """(duckdb connection to the DuckDB build, Spark's warehouse folder, build timings,
    the marts' contracts and keys from the builds' manifest)."""
    import duckdb

    from aiusage.sample import generate

    root = tmp_path_factory.mktemp("spark_parity")
    landing = root / "landing"
    generate(
        landing,
        days=SAMPLE_DAYS,
        events_per_day=SAMPLE_EVENTS_PER_DAY,
        seed=SAMPLE_SEED,
        end_date=date.fromisoformat(SAMPLE_END),
        progress=False,
    )
    # a few rejected lines, so that fct_rejected_events is compared too (1% of the day)
    events_file = next((landing / "events" / f"dt={SAMPLE_END}").glob("*.jsonl"))
    with events_file.open("a") as f:
        f.write('not json at all\n{"request_id": "cut-off", "provider": "op\n[1, 2]\n')
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "AIUSAGE_LANDING_DIR": str(landing),
        "AIUSAGE_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "AIUSAGE_SPARK_DIR": str(root / "spark"),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
    }
    for source, example in EXAMPLES.items():
        _run(
            [str(BIN / "aiusage"), "ingest", source, str(PROJECT_DIR / "examples" / example)]
            + ["--landing-date", SAMPLE_END],
            env,
        )
    timings = {
        "duckdb": _run(
            [str(BIN / "dbt"), "build", "--quiet"], {**env, "AIUSAGE_DBT_TARGET": "duckdb"}
        ),
        "spark": _run(
            [str(BIN / "dbt"), "build", "--quiet", "--exclude-resource-type", "unit_test"],
            {**env, "AIUSAGE_DBT_TARGET": "spark"},
        ),
    }
    print(f"\nbuild time of the sample: {timings}")
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    warehouse = root / "spark" / "warehouse" / "aiusage.db"
    yield con, warehouse, timings, _marts(root / "target" / "manifest.json")
    con.close()


def _spark_rows(con, warehouse: Path, mart: str, columns: list[str]):
    assert (warehouse / mart).is_dir(), f"Spark did not build {mart}"
    files = sorted(str(p) for p in (warehouse / mart).rglob("*.parquet"))
    if not files:
        return []  # an empty partitioned table has no parquet file
    relation = f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)"
    duck_types = dict(con.sql(f"describe {mart}").fetchall()[i][:2] for i in range(len(columns)))
    select = ", ".join(f'cast("{c}" as {duck_types[c]}) as "{c}"' for c in columns)
    return con.sql(f"select {select} from {relation}").fetchall()


def _equal(value_duckdb, value_spark, data_type: str) -> bool:
    if value_duckdb is None or value_spark is None:
        return value_duckdb is None and value_spark is None
    if data_type.startswith("decimal"):
        return abs(Decimal(value_duckdb) - Decimal(value_spark)) <= MONEY_TOLERANCE
    if data_type == "double":
        return abs(value_duckdb - value_spark) <= max(
            FLOAT_ABS_TOLERANCE, FLOAT_REL_TOLERANCE * abs(value_duckdb)
        )
    return value_duckdb == value_spark


@pytest.mark.parametrize("mart", MARTS)
def test_mart_matches_duckdb(two_builds, mart):
    con, warehouse, _, marts = two_builds
    contract = marts[mart]
    columns = list(contract["columns"])
    keys = contract["keys"] or columns
    duck = con.sql(f"select {', '.join(columns)} from {mart}").fetchall()
    spark = _spark_rows(con, warehouse, mart, columns)
    assert len(duck) == len(spark), f"{mart}: {len(duck)} rows on DuckDB, {len(spark)} on Spark"
    key_index = [columns.index(k) for k in keys]

    def keyed(rows):
        return {tuple(row[i] for i in key_index): row for row in rows}

    duck_by_key, spark_by_key = keyed(duck), keyed(spark)
    assert set(duck_by_key) == set(spark_by_key), f"{mart}: keys differ"
    mismatches = []
    for key, duck_row in duck_by_key.items():
        spark_row = spark_by_key[key]
        for i, column in enumerate(columns):
            if not _equal(duck_row[i], spark_row[i], contract["columns"][column]):
                mismatches.append((key, column, duck_row[i], spark_row[i]))
    assert not mismatches, f"{mart}: {len(mismatches)} values differ, e.g. {mismatches[:5]}"


def test_marts_are_not_empty_on_spark(two_builds):
    """The comparison means something: the core marts hold rows on both engines."""
    con, warehouse, _, marts = two_builds
    for mart in [
        "fct_llm_requests",
        "fct_daily_usage",
        "fct_provider_usage",
        "fct_rejected_events",
    ]:
        columns = list(marts[mart]["columns"])
        assert _spark_rows(con, warehouse, mart, columns), mart
