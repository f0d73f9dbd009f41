"""`aiusage export focus` (aiusage.focus) on a contract-built warehouse (fct_llm_requests as
its contract defines it), and the reading of focus-validator's console output. The export
of dbt-built warehouses and the validator run: tests/integration/test_otel_focus.py."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from click.testing import CliRunner

from aiusage.cli import main
from aiusage.focus import ExportError, focus_rows, parse_validator_output, write_export
from tests.support.contract_warehouse import contract_warehouse


def request(i, day, **over):
    row = {
        "request_key": f"k{i}",
        "request_id": f"r{i}",
        "provider": "openai",
        "model": "gpt-4o",
        "usage_date": day,
        "occurred_at": datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
        "team": "support",
        "workflow": "triage",
        "user_id": "u1",
        "service_tier": "standard",
        "is_long_context_tier": False,
        "is_priced": True,
        "price_valid_from": datetime(2024, 10, 2),
        "input_tokens": 1000,
        "uncached_input_tokens": 600,
        "cache_read_tokens": 400,
        "cache_write_tokens": 0,
        "output_tokens": 100,
        "total_tokens": 1100,
        # gpt-4o: 2.50 input, 1.25 cache read, 10.00 output per million tokens
        "input_cost_usd": Decimal("0.0015"),
        "cache_read_cost_usd": Decimal("0.0005"),
        "cache_write_cost_usd": Decimal("0"),
        "output_cost_usd": Decimal("0.001"),
        "total_cost_usd": Decimal("0.003"),
    }
    row.update(over)
    return row


@pytest.fixture
def warehouse(tmp_path):
    day, next_day = date(2026, 11, 2), date(2026, 11, 3)
    unpriced = {"is_priced": False, "model": "mystery", "total_tokens": 5000}
    for cost in ("input", "cache_read", "cache_write", "output", "total"):
        unpriced[f"{cost}_cost_usd"] = None
    rows = [
        request(1, day),
        request(2, day),  # same group: adds up
        request(3, day, user_id="u2"),  # another user: another row (Tags)
        request(4, next_day, team=None, workflow=None, user_id=None),
        request(5, day, **unpriced),
    ]
    return contract_warehouse(tmp_path / "wh.duckdb", {"fct_llm_requests": rows})


def test_rows_per_day_model_price_class_and_attribution(warehouse):
    export = focus_rows(warehouse, date(2026, 11, 1), date(2026, 11, 30))
    assert (export.requests, export.unpriced_requests, export.unpriced_tokens) == (4, 1, 5000)
    # 3 groups with usage in 3 classes each (no cache writes): 9 rows
    assert len(export.rows) == 9
    assert export.billed_cost == Decimal("0.012")  # 4 priced requests x 0.003
    first = [r for r in export.rows if r["ChargePeriodStart"] == "2026-11-02T00:00:00Z"]
    u1 = {r["SkuMeter"]: r for r in first if json.loads(r["Tags"]).get("user") == "u1"}
    assert u1["Input Tokens"]["ConsumedQuantity"] == 1200
    assert u1["Input Tokens"]["BilledCost"] == Decimal("0.003")
    assert u1["Input Tokens"]["ListUnitPrice"] == Decimal("2.5")  # per 1000000 Tokens
    assert u1["Cache Read Input Tokens"]["ListUnitPrice"] == Decimal("1.25")
    assert u1["Output Tokens"]["PricingQuantity"] == Decimal("0.0002")
    assert u1["Output Tokens"]["SkuPriceId"] == "openai/gpt-4o/2024-10-02/standard/output"
    assert json.loads(u1["Output Tokens"]["Tags"]) == {
        "team": "support", "user": "u1", "workflow": "triage"
    }  # fmt: skip
    unattributed = [r for r in export.rows if r["ChargePeriodStart"] == "2026-11-03T00:00:00Z"]
    assert {r["SubAccountId"] for r in unattributed} == {None}
    assert {r["Tags"] for r in unattributed} == {"{}"}
    assert {r["BillingPeriodStart"] for r in export.rows} == {"2026-11-01T00:00:00Z"}
    assert {r["BillingPeriodEnd"] for r in export.rows} == {"2026-12-01T00:00:00Z"}
    one_day = focus_rows(warehouse, date(2026, 11, 3), date(2026, 11, 3))
    assert one_day.billed_cost == Decimal("0.003") and one_day.unpriced_requests == 0


def test_csv_and_parquet_and_refusals(warehouse, tmp_path):
    export = focus_rows(warehouse, date.min, date.max)
    write_export(export, tmp_path / "f.csv")
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal("0.012")
    assert rows[0]["InvoiceId"] == "" and rows[0]["ChargeClass"] == ""  # nulls: empty cells
    with pytest.raises(ExportError, match=r"\.csv or \.parquet"):
        write_export(export, tmp_path / "f.xlsx")
    with pytest.raises(ExportError, match="before --start-date"):
        focus_rows(warehouse, date(2026, 11, 3), date(2026, 11, 2))
    with pytest.raises(ExportError, match="No warehouse"):
        focus_rows(tmp_path / "none.duckdb", date.min, date.max)


def test_cli_counts_unpriced_usage_on_stderr(warehouse, tmp_path):
    env = {"AIUSAGE_DUCKDB_PATH": str(warehouse), "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "p")}
    out = tmp_path / "focus.parquet"
    result = CliRunner().invoke(main, ["export", "focus", "--output", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "9 rows (4 priced requests), BilledCost 0.01 USD" in result.stdout
    assert "left out: 1 unpriced requests (5,000 tokens)" in result.stderr


RULES = {
    "ModelRules": {
        "InvoiceId-C-003-C": {"ValidationCriteria": {"Requirement": {
            "CheckFunction": "OR",
            "Items": [{"CheckFunction": "CheckModelRule", "ModelRuleId": "InvoiceId-C-004-C"},
                      {"CheckFunction": "CheckModelRule", "ModelRuleId": "InvoiceId-C-005-C"}],
        }}},
    }
}  # fmt: skip


def test_validator_output_failures_are_read_and_or_branches_told_apart():
    output = """
=== Validation Results ===
Total: 5 | Pass: 2 | Fail: 2 | Skipped: 1
✅ InvoiceId-C-003-C: PASS  (violations=0, msg=OR passed)
✅ InvoiceId-C-004-C: PASS  (violations=0)
❌ InvoiceId-C-005-C: FAIL  (violations=9, msg=InvoiceId MUST NOT be NULL.)
❌ SkuId-C-002-M: FAIL  (violations=3, msg=SkuId MUST be of type String.)
⏭️ AvailabilityZone-C-001-M: SKIPPED  (violations=0)
"""
    verdict = parse_validator_output(output, RULES)
    assert (verdict.total, verdict.passed, verdict.failed, verdict.skipped) == (5, 2, 2, 1)
    assert verdict.unmet_branches == ["InvoiceId-C-005-C"]
    assert verdict.failed_requirements == ["SkuId-C-002-M"]
    # an OR whose composite failed is a real failure too
    failing_or = output.replace("InvoiceId-C-003-C: PASS", "InvoiceId-C-003-C: FAIL")
    assert "InvoiceId-C-005-C" in parse_validator_output(failing_or, RULES).failed_requirements
    with pytest.raises(ExportError, match="no 'Total"):
        parse_validator_output("Traceback ...", RULES)
