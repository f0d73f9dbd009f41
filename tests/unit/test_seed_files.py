"""The seed files load on every engine: dbt-spark's seed loader writes each cell into an
INSERT statement without escaping single quotes, so a cell with an apostrophe (a
description such as "its workflow's sessions") fails the Spark build. Seeds keep them out."""

from __future__ import annotations

import csv

from tests.support.project import PROJECT_DIR


def test_no_seed_cell_holds_a_single_quote():
    found = []
    for path in sorted((PROJECT_DIR / "seeds").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for line_number, row in enumerate(csv.reader(handle), start=1):
                found += [f"{path.name}:{line_number}: {cell}" for cell in row if "'" in cell]
    assert found == []
