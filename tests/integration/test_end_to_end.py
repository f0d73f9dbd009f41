"""End to end: generate -> refresh job (Dagster, dbt, GX) -> marts, checked against an
independent Python computation over the same landing files and price seeds."""

from __future__ import annotations

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


def test_daily_mart_per_feature_sums_equal_request_fact_and_landing(built_warehouse, reference):
    """fct_daily_usage carries each request's feature ('(unattributed)' when its event has
    none): its requests, tokens, failures and cost per feature equal the request fact's on
    every usage day, and, in total, an independent count over the landed files."""
    settings, _ = built_warehouse
    landing, prices = reference
    expected = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for event in landing.requests.values():
        row = expected[event["feature"]]
        row[0] += 1
        row[1] += event["input_tokens"] + event["output_tokens"]
        row[2] += event["status"] != "success"
        row[3] += prices.cost(event) or 0
    sums = """sum(requests), sum(total_tokens), sum(requests - successful_requests),
              coalesce(sum(total_cost_usd), 0)"""
    daily = _query(
        settings,
        f"""select usage_date, feature, {sums} from fct_daily_usage group by 1, 2""",
    )
    fact = _query(
        settings,
        """select usage_date, coalesce(feature, '(unattributed)'), count(*), sum(total_tokens),
                  count(*) filter (where not is_success), coalesce(sum(total_cost_usd), 0)
           from fct_llm_requests group by 1, 2""",
    )
    assert sorted(daily) == sorted(fact)
    totals = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for _, feature, *figures in daily:
        totals[feature] = [a + b for a, b in zip(totals[feature], figures, strict=True)]
    assert set(totals) == set(expected)
    for feature, (requests, tokens, failed, cost) in expected.items():
        assert totals[feature][:3] == [requests, tokens, failed], feature
        assert abs(totals[feature][3] - cost) < Decimal("0.000001"), feature
    assert len(totals) >= 5
    # the totals of every feature are the mart's totals: the grain only split them
    ((requests, cost),) = _query(
        settings, "select sum(requests), sum(total_cost_usd) from fct_daily_usage"
    )
    assert requests == len(landing.requests) == sum(t[0] for t in totals.values())
    assert cost == sum(t[3] for t in totals.values())


def test_every_mart_key_identifies_its_rows(sample_warehouse):
    """Publish orders each mart's Parquet rows by its key (Mart.key: the column of a blocking
    unique test that is also not null); on a built warehouse each key is unique and never
    null, so the order, and the Parquet bytes, are the same build after build."""
    from aiusage.project import manifest_path, mart_relations
    from aiusage.settings import Settings

    settings, _ = sample_warehouse
    marts = {m.name: m for m in mart_relations(manifest_path(Settings.from_env()))}
    assert marts["fct_llm_requests"].key == "request_key"  # a windowed unique test
    assert marts["fct_landed_rows"].key == "landed_row_key"
    assert marts["dim_teams"].key == "team"  # unique and not_null contract constraints
    assert marts["rpt_alerts"].key == "alert_key"
    assert marts["rpt_cost_by_team"].key == "cost_by_team_key"  # a view: primary_key test
    assert marts["rpt_session_costs"].key == "session_id"  # a view: primary_key test
    # published as a view (meta publish_as_view) over the two tables it reads, which
    # publish keeps beside it as support relations
    assert sorted(marts["rpt_session_costs"].view_over) == [
        "int_session_baselines_measured",
        "int_sessions_windowed",
    ]
    assert marts["int_sessions_windowed"].support and marts["int_sessions_windowed"].incremental
    assert marts["int_session_baselines_measured"].support
    assert not marts["rpt_alerts"].support and not marts["rpt_alerts"].view_over
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        for mart in marts.values():
            if mart.key is None:
                continue
            rows, distinct, nulls = con.execute(
                f'select count(*), count(distinct "{mart.key}"), count(*) - count("{mart.key}") '
                f'from "{mart.schema}"."{mart.name}"'
            ).fetchone()
            assert (distinct, nulls) == (rows, 0), mart


def test_table_marts_enforce_their_keys_and_accepted_values(sample_copy):
    """A table mart's key is a `unique` constraint and its accepted values a `check`
    constraint of its enforced contract, not a test node each: every such constraint the
    contracts declare is on the built table, and DuckDB refuses a repeated key or a value
    outside the list when the table is written."""
    from aiusage.project import load_manifest, manifest_path
    from aiusage.settings import Settings

    manifest = load_manifest(manifest_path(Settings.from_env()))
    declared = set()
    for node in manifest["nodes"].values():
        config = node.get("config") or {}
        if node["resource_type"] != "model" or config.get("materialized") != "table":
            continue
        for name, column in node["columns"].items():
            for constraint in column.get("constraints") or []:
                if constraint["type"] in ("unique", "check"):
                    declared.add((node["name"], constraint["type"].upper(), name))
    path = sample_copy["AIUSAGE_DUCKDB_PATH"]
    with duckdb.connect(path) as con:
        built = set(
            con.execute(
                "select table_name, constraint_type, unnest(constraint_column_names) "
                "from duckdb_constraints() where constraint_type in ('UNIQUE', 'CHECK')"
            ).fetchall()
        )
        assert {("dim_teams", "UNIQUE", "team"), ("rpt_budget_status", "CHECK", "status")} <= (
            declared
        )
        assert len(declared) >= 30 and declared <= built
        assert con.execute("select count(*) from dim_teams").fetchone()[0] > 0
        with pytest.raises(duckdb.ConstraintException, match="unique constraint"):
            con.execute("insert into dim_teams select * from dim_teams limit 1")
        assert con.execute("select count(*) from rpt_budget_status").fetchone()[0] > 0
        with pytest.raises(duckdb.ConstraintException, match="CHECK constraint"):
            con.execute(
                "insert into rpt_budget_status select * replace "
                "('exceeded' as status, md5('another key') as budget_status_key) "
                "from rpt_budget_status limit 1"
            )


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


def test_the_windowed_sessions_are_stored_in_usage_day_order(sample_warehouse):
    """int_sessions_windowed is written in usage_date order (macro stored_in_order_of), in
    the build and in the snapshot's copy of it: the sessions a refresh deletes when their
    day leaves the window then sit together, and DuckDB's checkpoint does not rewrite the
    whole table to merge row groups the delete thinned (docs/performance.md, forty-third
    round). Stored in the order its aggregate yields them, the days interleave."""
    from aiusage.snapshot import published_duckdb_path

    settings, _ = sample_warehouse
    order = (
        "select count(*), count(distinct usage_date), "
        "count(*) filter (where usage_date < previous_day) from ("
        "  select usage_date, lag(usage_date) over (order by rowid) as previous_day"
        "  from int_sessions_windowed)"
    )
    for path in (settings.duckdb_path, published_duckdb_path(settings)):
        with duckdb.connect(str(path), read_only=True) as con:
            sessions, days, out_of_order = con.execute(order).fetchone()
        assert sessions > 1000 and days >= 9, path
        assert out_of_order == 0, (path, out_of_order)
