"""The landing zone: <landing>/<source>/dt=YYYY-MM-DD/<file>, as every reader and writer
sees it."""

from __future__ import annotations

import os
import time
from datetime import date

from aiusage.landing import (
    SOURCE_NAMES,
    day_folder,
    file_with_digest,
    landed_files,
    landing_day,
    settled_inventory,
    write_atomically,
)


def test_the_layout(tmp_path):
    assert (
        day_folder(tmp_path, "events", date(2026, 11, 20)) == tmp_path / "events" / "dt=2026-11-20"
    )
    assert landing_day("dt=2026-11-20") == date(2026, 11, 20)
    assert landing_day("dt=2026-13-40") is None and landing_day("2026-11-20") is None
    assert SOURCE_NAMES == (
        "events", "openai_usage", "anthropic_usage", "litellm_spend_logs", "langfuse_observations",
        "openrouter", "outcomes",
    )  # fmt: skip


def test_landed_files_skip_work_in_progress_and_other_folders(tmp_path):
    for name in ("b.jsonl", "a.jsonl", ".a.jsonl.123.tmp"):
        write_atomically(day_folder(tmp_path, "events", date(2026, 11, 20)) / name, b"{}\n")
    write_atomically(day_folder(tmp_path, "events", date(2026, 11, 19)) / "z.jsonl", b"{}\n")
    (tmp_path / "events" / "notes").mkdir()
    (tmp_path / "events" / "notes" / "x.jsonl").write_text("{}\n")
    found = [(str(day), path.name) for day, path in landed_files(tmp_path, "events")]
    assert found == [
        ("2026-11-19", "z.jsonl"),
        ("2026-11-20", "a.jsonl"),
        ("2026-11-20", "b.jsonl"),
    ]
    assert landed_files(tmp_path, "openai_usage") == []


def test_settled_inventory_leaves_files_still_being_written(tmp_path):
    old = day_folder(tmp_path, "events", date(2026, 11, 20)) / "old.jsonl"
    write_atomically(old, b"{}\n")
    past = time.time() - 60
    os.utime(old, (past, past))
    write_atomically(
        day_folder(tmp_path, "litellm_spend_logs", date(2026, 11, 20)) / "new.jsonl", b"{}\n"
    )
    inventory = settled_inventory(tmp_path)
    assert list(inventory) == ["events/dt=2026-11-20/old.jsonl"]
    assert inventory["events/dt=2026-11-20/old.jsonl"].endswith(":3")


def test_a_file_is_found_by_the_digest_in_its_name(tmp_path):
    path = day_folder(tmp_path, "events", date(2026, 11, 1)) / "x.0123456789abcdef.jsonl"
    write_atomically(path, b"{}\n")
    assert file_with_digest(tmp_path, "events", "0123456789abcdef") == path
    assert file_with_digest(tmp_path, "events", "fedcba9876543210") is None
