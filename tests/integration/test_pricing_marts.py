"""Pricing marts on the session's sample warehouse: unpriced usage, reconciliation, the
model dimension and the report in another currency, checked against independent Python."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from aiusage import sample as gen
from aiusage.pricing.fx import fx_rate
from aiusage.reporting.build import build_report
from aiusage.reporting.period import ReportWindow
from aiusage.reporting.render import render_text
from aiusage.snapshot import published_duckdb_path
from tests.conftest import PROJECT_DIR, SAMPLE_END_DATE

pytestmark = pytest.mark.slow


def _query(settings, sql):
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_unpriced_usage_lists_exactly_the_unpriced_model(sample_warehouse):
    settings, _ = sample_warehouse
    rows = _query(
        settings,
        "select provider, model, unpriced_reason, sum(requests), min(first_seen_at), "
        "max(last_seen_at) from rpt_unpriced_usage group by all",
    )
    facts = _query(
        settings,
        "select provider, model, count(*), min(occurred_at), max(occurred_at), "
        "count(total_cost_usd) from fct_llm_requests where not is_priced group by all",
    )
    assert [(p, m) for p, m, *_ in rows] == [("google", m) for m in gen.UNPRICED_MODELS]
    assert rows[0][2] == "unknown_model"
    (_, _, requests, first, last, costed) = facts[0]
    assert rows[0][3:] == (requests, first, last)
    assert requests > 0 and costed == 0  # null cost, never 0


def test_reconciliation_pairs_reported_and_computed_cost_of_the_same_requests(sample_warehouse):
    settings, _ = sample_warehouse
    facts = _query(
        settings,
        "select usage_date, provider, model, reported_cost_usd, total_cost_usd "
        "from fct_llm_requests where workflow = '" + gen.REPORTED_COST_WORKFLOW + "'",
    )
    expected = defaultdict(lambda: [0, Decimal(0), None, 0])
    for day, provider, model, reported, computed in facts:
        if reported is None:
            continue
        e = expected[(day, provider, model)]
        e[0] += 1
        e[1] += reported
        if computed is None:
            e[3] += 1
        else:
            e[2] = (e[2] or 0) + computed
    actual = {
        (d, p, m): (n, r, c, pct, flag)
        for d, p, m, n, r, c, pct, flag in _query(
            settings,
            "select usage_date, provider, model, reported_requests, reported_cost_usd, "
            "computed_cost_usd, drift_pct, is_drift_over_threshold from rpt_cost_reconciliation",
        )
    }
    assert set(actual) == set(expected) and expected
    for key, (n, reported, computed, unpriced) in expected.items():
        assert actual[key][:3] == (n, reported, computed), key
        if computed is None:  # only unpriced requests: no drift, flagged
            assert actual[key][3:] == (None, True), key
            continue
        drift = (reported - computed) / computed * 100
        assert abs(actual[key][3] - drift) < Decimal("0.00001"), key
        assert actual[key][4] == (abs(drift) > 1 or unpriced > 0), key
    # The generator's estimate ignores cache and batch discounts: some days drift.
    assert any(flag for *_, flag in actual.values())


def test_dim_models_has_every_priced_model_with_its_current_price(sample_warehouse):
    settings, _ = sample_warehouse
    rows = {
        (p, m): (family, versions, is_current, inp)
        for p, m, family, versions, is_current, inp in _query(
            settings,
            "select provider, model, family, price_versions, is_current, input_usd_per_mtok "
            "from dim_models",
        )
    }
    priced = {(s.provider, m) for m, s in gen.MODELS.items() if m not in gen.UNPRICED_MODELS}
    # the whole genai-prices catalogue: every model of the price seed, the sample's among them
    with open(PROJECT_DIR / "seeds" / "model_prices.csv", newline="") as handle:
        seed_models = {(r["provider"], r["model"]) for r in csv.DictReader(handle)}
    assert set(rows) == seed_models and priced <= seed_models
    assert not {(s.provider, m) for m, s in gen.MODELS.items() if m in gen.UNPRICED_MODELS} & (
        seed_models
    )
    assert rows[("openai", "o3")] == ("o-series", 2, True, Decimal("2"))
    assert rows[("anthropic", "claude-sonnet-4-5")][0] == "claude-sonnet"
    assert rows[("google", "gemini-2.5-flash-lite")][0] == "gemini-flash-lite"
    assert rows[("openai", "gpt-4o-mini")][0] == "gpt-4o"


def test_report_in_another_currency_is_converted_and_stamped(sample_warehouse):
    """On the published snapshot, which `aiusage report` reads (it once lacked fx_rates)."""
    settings, _ = sample_warehouse
    window = ReportWindow.last_days(7, date.fromisoformat(SAMPLE_END_DATE))
    published = published_duckdb_path(settings)
    usd = build_report(published, window)
    eur = build_report(published, window, currency="eur")
    rate, valid_from = fx_rate(PROJECT_DIR / "seeds" / "fx_rates.csv", "EUR", window.end)
    assert eur["currency"] == {"code": "EUR", "usd_rate": rate, "rate_valid_from": valid_from}
    assert eur["summary"]["total_cost_eur"] == usd["summary"]["total_cost_usd"] * rate
    assert eur["summary"]["requests"] == usd["summary"]["requests"]
    text = render_text(eur)
    assert f"EUR (1 USD = {rate.normalize():f} EUR, rate valid from {valid_from})" in text
    assert f"EUR {usd['summary']['total_cost_usd'] * rate:,.2f}" in text
    unpriced = usd["warnings"]["unpriced_usage"]
    assert [row["model"] for row in unpriced] == list(gen.UNPRICED_MODELS)
    assert "UNPRICED:" in render_text(usd)
