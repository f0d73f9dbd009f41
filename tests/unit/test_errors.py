"""One line for a failed refresh: what failed (the file and row where there is one) and the
fix, from the failed steps and checks of the run."""

from __future__ import annotations

import pytest

from aiusage.errors import explain_refresh_failure
from aiusage.settings import Settings
from tests.support.contract_warehouse import contract_warehouse


@pytest.fixture
def settings(warehouse_env):
    return warehouse_env


def test_a_reject_rate_failure_names_the_file_its_first_rejected_line_and_the_fix(settings):
    landed = "/data/landing/events/dt=2026-11-19/bad.1f2e3d4c5b6a7980.jsonl"
    contract_warehouse(
        settings.duckdb_path,
        {
            "fct_rejected_events": [
                {"rejected_event_key": key, "source_file": landed, "line_number": line,
                 "rejection_reason": reason, "landing_date": "2026-11-19"}
                for key, line, reason in [
                    ("a", 4, "negative_output_tokens"),
                    ("b", 2, "malformed_json"),
                ]
            ]
        },
    )  # fmt: skip
    step = (
        "step warehouse_dbt failed: The dbt CLI process with command `dbt build` failed "
        "with exit code `1`.\n\nErrors parsed from dbt logs:\n\nRuntime Error in test "
        "reject_rate_within_threshold_fct_landed_rows_ (models/marts/x.yml)\n  reject rate "
        f"above 5% in {landed} (3 of 4 rows rejected; see fct_rejected_events)"
    )
    line = explain_refresh_failure([step], settings)
    assert "\n" not in line
    assert line.startswith(f"{landed}: 3 of 4 rows rejected, above the 5% threshold")
    assert "the first at line 2 (malformed_json)" in line
    assert "land the file again" in line and "AIUSAGE_REJECT_THRESHOLD" in line


def test_a_failed_expectation_check_gives_its_first_failure_and_the_fix(settings):
    check = (
        "check model_prices_expectations on seed_files/model_prices failed. Suite "
        "model_prices: 2 of 27 expectations failed on 20 rows. (1) no two price windows "
        "overlap: 2 of 20 row(s) fail; rows (provider, model, valid_from): "
        "(openai, gpt-4o-mini, 2024-07-18), "
        "(openai, gpt-4o-mini, 2025-01-01). (2) input_usd_per_mtok is >= 0: 1 of 20 rows fail."
    )
    line = explain_refresh_failure(["step warehouse_dbt skipped", check], settings)
    assert line.startswith(
        "check model_prices_expectations on seed_files/model_prices failed: no two"
    )
    assert "(openai, gpt-4o-mini, 2025-01-01)." in line and "(2)" not in line
    assert "Fix: edit seeds/model_prices.csv" in line


def test_a_full_disk_is_named_before_anything_else(settings):
    messages = ["step published_warehouse failed: IO Error: No space left on device '/d/x'"]
    line = explain_refresh_failure(messages, Settings.from_env())
    assert line.startswith("no space left on the device writing /d/x: free disk space")


def test_any_other_failure_is_its_first_message_on_one_line(settings):
    line = explain_refresh_failure(["step a failed: boom\n  at line 3", "step b failed"], settings)
    assert line == "step a failed: boom at line 3"


def test_an_upgrade_that_adds_columns_names_the_full_refresh(settings):
    """dbt's own text when an incremental model (on_schema_change: fail) gains a column the
    warehouse's table lacks, as the failed dbt step reports it."""
    messages = [
        "step warehouse_dbt failed: dbt build failed. Errors parsed from dbt logs: "
        "Compilation Error in model stg_events__usage_events "
        "(models/staging/events/stg_events__usage_events.sql)\n"
        "  The source and target schemas on this incremental model are out of sync!\n"
        "  They can be reconciled in several ways:"
    ]
    line = explain_refresh_failure(messages, settings)
    assert line.startswith("an incremental model (stg_events__usage_events) of this version")
    assert "`aiusage build --full-refresh` once" in line and "\n" not in line
