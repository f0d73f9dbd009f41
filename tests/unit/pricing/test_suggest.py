"""`aiusage pricing suggest`: a consistent disagreement of bills with the list price becomes
a proposed seed row (learned_from_bills) that the seed's rules accept; the rest are named."""

from __future__ import annotations

import csv
import io
from datetime import date

import duckdb
import pandas as pd
from click.testing import CliRunner

from aiusage.cli import main
from aiusage.quality import prices as qp

COLUMNS = (
    "usage_month date, provider varchar, price_provider varchar, model varchar, "
    "price_valid_from timestamp, billed_requests bigint, drift_pct double, "
    "median_bill_ratio double, implied_input_usd_per_mtok double, "
    "implied_output_usd_per_mtok double, implied_cache_read_usd_per_mtok double, "
    "implied_per_request_usd double, implied_prices_method varchar, is_disagreeing boolean, "
    "likely_cause varchar"
)
ROWS = [
    # a retired model billed at twice its list price (3 / 15 / 0.30) for two months
    (date(2026, 2, 1), "openrouter", "openrouter", "anthropic/claude-3.5-sonnet", None, 40,
     50.0, 2.0, 6.0, 30.0, 0.6, 0.0, "least_squares", True, "list_price_stale"),
    (date(2026, 3, 1), "openrouter", "openrouter", "anthropic/claude-3.5-sonnet", None, 25,
     50.0, 2.0, 6.0, 30.0, 0.6, 0.0, "least_squares", True, "list_price_stale"),
    # search fees on top of tokens: no seed row expresses a per-request fee
    (date(2026, 3, 1), "openrouter", "openrouter", "perplexity/sonar", None, 12, 60.0, 2.4,
     1.0, 1.0, None, 0.005, "least_squares", True, "per_request_fee"),
    # consistent, but on two requests only
    (date(2026, 3, 1), "openrouter", "openrouter", "x/rare", None, 2, 20.0, 1.25, 1.25, 2.5,
     None, 0.0, "bill_ratio", True, "list_price_changed"),
    # agrees: never proposed
    (date(2026, 3, 1), "openrouter", "openrouter", "openai/gpt-4o-mini", None, 90, 0.0, 1.0,
     0.15, 0.6, 0.075, 0.0, "least_squares", False, None),
]  # fmt: skip


def test_suggest_proposes_rows_for_consistent_disagreements_only(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"create table rpt_bill_reconciliation ({COLUMNS})")
        con.executemany(f"insert into rpt_bill_reconciliation values ({', '.join('?' * 15)})", ROWS)
    env = {
        "AIUSAGE_DUCKDB_PATH": str(path),
        "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "published"),
    }
    result = CliRunner().invoke(main, ["pricing", "suggest"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout
    rows = list(csv.DictReader(io.StringIO(lines)))
    assert [(r["provider"], r["model"], r["valid_from"], r["input_usd_per_mtok"],
             r["output_usd_per_mtok"], r["cache_read_usd_per_mtok"], r["source"])
            for r in rows] == [
        ("openrouter", "anthropic/claude-3.5-sonnet", "2026-02-01 00:00:00", "6", "30",
         "0.6", "learned_from_bills"),
    ]  # fmt: skip
    assert qp.validate_prices(pd.DataFrame(rows)).success
    notes = result.stderr
    assert "openrouter/perplexity/sonar: per_request_fee over 12 billed requests" in notes
    assert "per request 0.005" in notes
    assert "openrouter/x/rare: list_price_changed on 2 billed requests only (< 3)" in notes
    assert "gpt-4o-mini" not in notes


def test_suggest_needs_a_built_warehouse(tmp_path):
    env = {
        "AIUSAGE_DUCKDB_PATH": str(tmp_path / "none.duckdb"),
        "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "published"),
    }
    result = CliRunner().invoke(main, ["pricing", "suggest"], env=env)
    assert result.exit_code != 0 and "aiusage build" in result.output
