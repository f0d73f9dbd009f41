"""The canonical usage event contract, read from its JSON Schema (usage_event.v1), and
the task outcome record (task_outcome.v1).

The schema files beside this module are the one list of each record's fields: the tracking
client, `aiusage ingest`, the landed-batch expectations and the tests read them from here
(the dbt staging models document the same fields; tests check that they agree).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

SCHEMA_FILE = "usage_event.v1.schema.json"
OUTCOME_SCHEMA_FILE = "task_outcome.v1.schema.json"


@cache
def schema() -> dict:
    """The JSON Schema of a usage event (draft 2020-12)."""
    return json.loads(files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def _properties() -> dict[str, dict]:
    return schema()["properties"]


def event_fields() -> tuple[str, ...]:
    """Every field of the contract, in schema order (schema_version and metadata included)."""
    return tuple(_properties())


def record_fields() -> tuple[str, ...]:
    """The fields of the event itself: every field but the envelope (schema_version) and
    the free-form metadata."""
    return tuple(f for f in _properties() if f not in ("schema_version", "metadata"))


def required_fields() -> tuple[str, ...]:
    return tuple(schema()["required"])


def token_fields() -> tuple[str, ...]:
    """Token counts (integers >= 0): input, its cached parts, output and its reasoning part."""
    return tuple(f for f in _properties() if f.endswith("_tokens"))


def _enum(field: str) -> tuple[str, ...]:
    return tuple(v for v in _properties()[field]["enum"] if v is not None)


def statuses() -> tuple[str, ...]:
    """Allowed values of `status` (absent means success)."""
    return _enum("status")


def service_tiers() -> tuple[str, ...]:
    """Allowed values of `service_tier` (absent means standard)."""
    return _enum("service_tier")


@cache
def outcome_schema() -> dict:
    """The JSON Schema of a task outcome record (draft 2020-12)."""
    text = files(__package__).joinpath(OUTCOME_SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def outcome_required_fields() -> tuple[str, ...]:
    return tuple(outcome_schema()["required"])


def outcomes() -> tuple[str, ...]:
    """Allowed values of a task outcome record's `outcome`."""
    return tuple(outcome_schema()["properties"]["outcome"]["enum"])
