"""The event contract (usage_event.v1.schema.json) is the one list of the event's fields:
the tracking client, ingest, the landed-batch suite and the dbt staging model agree with it."""

from __future__ import annotations

import json
import re

from aiusage.ingest import required_record_fields
from aiusage.quality.events import suite_fields
from aiusage_tracking import contract
from tests.conftest import PROJECT_DIR


def test_the_schema_lists_fields_tokens_and_allowed_values():
    assert contract.required_fields() == ("request_id", "occurred_at", "provider", "model")
    assert contract.token_fields() == (
        "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
        "output_tokens", "reasoning_tokens",
    )  # fmt: skip
    assert contract.statuses() == ("success", "error", "timeout", "rate_limited", "cancelled")
    assert contract.service_tiers() == ("standard", "batch", "flex", "priority")
    assert (
        contract.record_fields()[0] == "request_id" and "metadata" not in contract.record_fields()
    )
    assert set(contract.record_fields()) | {"schema_version", "metadata"} == set(
        contract.event_fields()
    )


def test_ingest_and_the_landed_batch_suite_read_their_fields_from_the_schema():
    assert required_record_fields("events") == tuple((f,) for f in contract.required_fields())
    assert set(suite_fields()) <= set(contract.record_fields())
    assert set(contract.token_fields()) <= set(suite_fields())


def test_the_staging_model_parses_exactly_the_contract_fields():
    """The dbt side keeps the field list in one macro (events_text_fields); it must name the
    contract's fields, in the contract's order."""
    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    (macro,) = [m for m in manifest["macros"].values() if m["name"] == "events_text_fields"]
    names = re.findall(r"'([a-z0-9_]+)'", macro["macro_sql"])
    assert tuple(names) == contract.record_fields()
