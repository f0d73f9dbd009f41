"""End to end: generate -> refresh job (Dagster, dbt, GX) -> marts, checked against an
independent Python computation over the same landing files and price seeds."""

from __future__ import annotations

import os
from collections import defaultdict
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import PROJECT_DIR
from tests.support.reference import PriceBook, read_landing

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built_warehouse(sample_warehouse):
    """The session's sample warehouse (tests/conftest.py): generated, then refreshed once."""
    return sample_warehouse


@pytest.fixture(scope="module")
def reference(built_warehouse):
    settings, _ = built_warehouse
    return read_landing(settings.landing_dir), PriceBook.load(PROJECT_DIR / "seeds")


def _query(settings, sql):
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_landed_line_is_accounted_for(built_warehouse, reference):
    settings, summary = built_warehouse
    landing, _ = reference
    (requests,) = _query(settings, "select count(*) from fct_llm_requests")[0]
    rejected = dict(
        _query(settings, "select rejection_reason, count(*) from fct_rejected_events group by 1")
    )
    assert requests == len(landing.requests)
    assert rejected == dict(landing.rejected)
    assert landing.duplicates > 0 and sum(rejected.values()) > 0
    assert landing.landed_lines == requests + landing.duplicates + sum(rejected.values())


def test_requests_and_tokens_per_model_match(built_warehouse, reference):
    settings, _ = built_warehouse
    landing, prices = reference
    expected = defaultdict(lambda: [0, 0, 0, 0])
    for event in landing.requests.values():
        row = expected[(event["provider"], prices.canonical(event["provider"], event["model"]))]
        row[0] += 1
        row[1] += event["input_tokens"]
        row[2] += event["output_tokens"]
        row[3] += event["cache_read_tokens"]
    actual = {
        (p, m): [r, i, o, c]
        for p, m, r, i, o, c in _query(
            settings,
            """select provider, model, sum(requests), sum(input_tokens), sum(output_tokens),
                      sum(cache_read_tokens)
               from fct_daily_usage group by 1, 2""",
        )
    }
    assert actual == dict(expected)
    assert len(actual) >= 10


def test_cost_per_team_matches_independent_pricing(built_warehouse, reference):
    settings, _ = built_warehouse
    landing, prices = reference
    expected: dict[str, Decimal] = defaultdict(Decimal)
    unpriced = 0
    for event in landing.requests.values():
        cost = prices.cost(event)
        if cost is None:
            unpriced += 1
        else:
            expected[event["team"]] += cost
    actual = dict(
        _query(settings, "select team, sum(total_cost_usd) from rpt_cost_by_team group by 1")
    )
    assert set(actual) == set(expected)
    for team, cost in expected.items():
        assert abs(actual[team] - cost) < Decimal("0.000001"), team
    (unpriced_actual,) = _query(
        settings, "select count(*) from fct_llm_requests where not is_priced"
    )[0]
    assert unpriced_actual == unpriced
    (null_cost,) = _query(
        settings,
        "select count(*) from fct_llm_requests where not is_priced and total_cost_usd is not null",
    )[0]
    assert null_cost == 0


def test_daily_mart_totals_equal_request_fact(built_warehouse):
    settings, _ = built_warehouse
    fact, daily = _query(
        settings,
        """select (select sum(total_cost_usd) from fct_llm_requests),
                  (select sum(total_cost_usd) from fct_daily_usage)""",
    )[0]
    assert fact == daily and fact > 0


def test_second_refresh_changes_nothing(tmp_path):
    """Idempotency: a refresh with no new data, after the same delivered file is ingested a
    second time, changes no mart (every mart under models/marts, found from the manifest)
    and publishes byte-identical Parquet marts. Its own small warehouse: other tests read the
    shared one at the same time, DuckDB has one writer, and landed rows are keyed by their
    file path, so a copy elsewhere would not be the same warehouse."""
    import json
    from datetime import date

    from click.testing import CliRunner

    from aiusage.cli import main
    from aiusage.project import manifest_path, mart_relations
    from aiusage.sample import generate
    from aiusage.settings import Settings
    from aiusage.snapshot import current_build_id
    from orchestration.run import run_refresh

    saved = dict(os.environ)
    try:
        os.environ.update(
            {
                "AIUSAGE_LANDING_DIR": str(tmp_path / "landing"),
                "AIUSAGE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
                "AIUSAGE_PUBLISHED_DIR": str(tmp_path / "published"),
                "AIUSAGE_GX_DOCS_DIR": str(tmp_path / "gx_docs"),
                "AIUSAGE_REPORTS_DIR": str(tmp_path / "reports"),
            }
        )
        settings = Settings.from_env()
        generate(
            settings.landing_dir,
            days=8,
            events_per_day=300,
            seed=5,
            end_date=date(2026, 11, 20),
            progress=False,
        )
        # one delivered file, landed through `aiusage ingest` (late events of a known day)
        delivered = tmp_path / "inbox" / "late.jsonl"
        delivered.parent.mkdir()
        late = [
            {
                "request_id": f"late-{n}",
                "occurred_at": f"2026-11-19T10:{n:02d}:00Z",
                "provider": "openai",
                "model": "gpt-4o-mini",
                "team": "search",
                "input_tokens": 100 + n,
                "output_tokens": 10,
            }
            for n in range(5)
        ]
        delivered.write_text("".join(json.dumps(e) + "\n" for e in late), encoding="utf-8")
        ingest = ["ingest", "events", str(delivered), "--landing-date", "2026-11-20"]
        assert CliRunner().invoke(main, ingest).exit_code == 0
        assert run_refresh(settings).success
        marts = mart_relations(manifest_path(settings))
        assert len(marts) > 20
        first = current_build_id(settings)

        def landed():
            return sorted(
                p.relative_to(settings.landing_dir) for p in settings.landing_dir.rglob("*")
            )

        def checksums():
            return {
                m.name: _query(
                    settings, f'select count(*), sum(hash(t)) from "{m.schema}"."{m.name}" as t'
                )[0]
                for m in marts
            }

        before, files = checksums(), landed()
        assert before["fct_llm_requests"][0] > 0
        late_rows = _query(
            settings, "select count(*) from fct_llm_requests where request_id like 'late-%'"
        )
        assert late_rows == [(5,)]
        again = CliRunner().invoke(main, ingest)
        assert again.exit_code == 0 and "1 skipped as already landed" in again.output
        assert landed() == files
        assert run_refresh(settings).success
        assert checksums() == before
        second = current_build_id(settings)
        assert second != first
        for mart in marts:  # the published Parquet files are byte-identical
            # one file per mart, or one per landing day for the marts holding the history
            old_root = settings.published_dir / first / "marts"
            new_root = settings.published_dir / second / "marts"
            names = [f"{mart.name}.parquet"]
            if (old_root / mart.name).is_dir():
                names = sorted(p.name for p in (old_root / mart.name).iterdir())
                assert names == sorted(p.name for p in (new_root / mart.name).iterdir())
                names = [f"{mart.name}/{n}" for n in names]
            for name in names:
                old = (old_root / name).read_bytes()
                assert (new_root / name).read_bytes() == old, name
    finally:  # run_refresh exports the settings; give the other tests their environment back
        os.environ.clear()
        os.environ.update(saved)


def test_every_mart_has_the_columns_and_types_of_its_contract_in_order(sample_warehouse):
    """Tables take their contract's column order from dbt; views (the roll-ups only BI reads)
    take their SQL's: both must match the contract, which readers and BI rely on."""
    from aiusage.project import manifest_path, mart_contracts
    from aiusage.settings import Settings

    settings, _ = sample_warehouse
    contracts = mart_contracts(manifest_path(Settings.from_env()))
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        for mart, columns in contracts.items():
            built = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = ? order by ordinal_position",
                [mart],
            ).fetchall()
            assert [name for name, _ in built] == list(columns), mart
            for (name, kind), expected in zip(built, columns.values(), strict=True):
                assert _type(kind) == _type(expected), (mart, name, kind, expected)


def _type(name: str) -> str:
    """A type name as DuckDB reports it (the contracts say `string`, DuckDB `VARCHAR`)."""
    name = name.lower().replace(" ", "")
    return {"string": "varchar", "int": "integer"}.get(name, name)
