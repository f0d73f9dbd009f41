"""The GX runner (aiusage.quality.gx): Data Docs, nothing written under expectations/, native
suite JSON, edits taking effect, loud invalid entries, summaries."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from aiusage.quality import events as qe
from aiusage.quality import gx
from aiusage.quality import prices as qp
from tests.conftest import PROJECT_DIR
from tests.unit.quality.conftest import PRICE_COLUMNS, failed_columns, price_rows


def test_data_docs_built_into_docs_dir(tmp_path, prices, events):
    docs = tmp_path / "gx_docs"
    result = qp.validate_prices(prices, build_docs=True, docs_dir=docs)
    assert result.docs_index == docs / "index.html"
    assert (docs / "index.html").is_file()
    qe.validate_events(events, build_docs=True, docs_dir=docs)
    index = (docs / "index.html").read_text()
    assert "model_prices" in index and "usage_events" in index  # history of both runs
    assert list((docs / "validations").rglob("*.html"))


def test_deferred_docs_are_rendered_in_one_pass_after_the_checks(tmp_path, prices, events,
                                                                  monkeypatch):  # fmt: skip
    """In the GX worker a check stores its result and returns; its pages are rendered
    later, together with the other checks' (render_pending_docs)."""
    monkeypatch.setattr(gx, "_DOCS", gx._DeferredDocs())
    monkeypatch.setattr(gx, "DOCS_IDLE_SECONDS", 3600.0)  # only the explicit call renders
    gx.defer_data_docs()
    docs = tmp_path / "gx_docs"
    with gx.activity():
        priced = qp.validate_prices(prices, build_docs=True, docs_dir=docs)
        qe.validate_events(events, build_docs=True, docs_dir=docs)
        assert priced.success and priced.docs_index == docs / "index.html"
        assert not (docs / "index.html").exists()  # not rendered during the checks
        results = docs / "_validation_results"
        stored = sorted(p.relative_to(results).parts[0] for p in results.rglob("*.json"))
        assert stored == ["model_prices", "usage_events"]  # the results are stored
    assert gx.render_pending_docs() == 2
    index = (docs / "index.html").read_text()
    assert "model_prices" in index and "usage_events" in index
    pages = {
        p.relative_to(docs / "validations").parts[0] for p in docs.glob("validations/**/*.html")
    }
    assert pages == {"model_prices", "usage_events"}
    assert gx.render_pending_docs() == 0  # nothing left


def _runs(folder: Path, pattern: str = "*.json") -> list[Path]:
    """The result folders (suite / run name / run time) under `folder` holding a file of
    `pattern` (a stored result's JSON, or "*.html": its page), by path: within a suite,
    run-time order."""
    return sorted(p.parent.relative_to(folder) for p in folder.rglob(pattern))


def test_a_deferred_rendering_archives_what_its_index_no_longer_lists(tmp_path, prices,
                                                                     monkeypatch):  # fmt: skip
    """The GX worker's rendering (render_pending_docs) archives the results older than the
    index's newest before it renders: three pending results, an index of two: the oldest's
    JSON moves to the archive unrendered, the two newest get their pages."""
    monkeypatch.setattr(gx, "_DOCS", gx._DeferredDocs())
    monkeypatch.setattr(gx, "DOCS_IDLE_SECONDS", 3600.0)  # only the explicit call renders
    monkeypatch.setattr(gx, "DOCS_INDEX_RESULTS", 2)
    gx.defer_data_docs()
    docs = tmp_path / "gx_docs"
    with gx.activity():
        for _ in range(3):
            assert qp.validate_prices(prices, build_docs=True, docs_dir=docs).success
    stored = docs / "_validation_results"
    runs = _runs(stored)
    assert len(runs) == 3  # stored, not rendered yet: nothing archived while checks run
    assert gx.render_pending_docs() == 3
    assert _runs(stored) == runs[1:]
    assert _runs(docs / gx.ARCHIVED_RESULTS_SUBDIR) == runs[:1]
    assert _runs(docs / "validations", "*.html") == runs[1:]


def test_deferred_docs_that_cannot_be_written_are_reported_not_raised(
    tmp_path, prices, monkeypatch, capsys
):
    monkeypatch.setattr(gx, "_DOCS", gx._DeferredDocs())
    monkeypatch.setattr(gx, "DOCS_IDLE_SECONDS", 3600.0)
    gx.defer_data_docs()
    docs = tmp_path / "gx_docs"
    with gx.activity():
        assert qp.validate_prices(prices, build_docs=True, docs_dir=docs).success
    shutil.rmtree(docs)
    docs.write_text("a file where the docs folder was")
    gx.render_pending_docs_or_warn()
    assert "Data Docs not rendered" in capsys.readouterr().err
    assert gx._DOCS.pending == []  # dropped with the report, not retried forever


def test_runs_write_nothing_under_expectations(prices, events):
    root = gx.gx_root()

    def snapshot() -> dict:
        return {p: p.stat().st_mtime_ns for p in root.rglob("*")}

    before = snapshot()
    qp.validate_prices(prices)
    qe.validate_events(events)
    assert snapshot() == before


def test_suite_json_is_native_gx_and_loads_in_the_file_context(tmp_path):
    copy = tmp_path / "expectations"
    shutil.copytree(PROJECT_DIR / "expectations", copy)
    context = gx.open_file_context(copy)
    names = {s.name: len(s.expectations) for s in context.suites.all()}
    assert set(names) == {"model_prices", "service_tier_multipliers", "fx_rates", "usage_events"}
    for name, count in names.items():
        assert count == len(gx.load_suite_dict(name)["expectations"])


def test_suite_edits_take_effect_and_invalid_entries_are_loud(tmp_path, events):
    root = tmp_path / "expectations"
    shutil.copytree(PROJECT_DIR / "expectations", root)
    path = gx.suites_dir(root) / "usage_events.json"
    suite = json.loads(path.read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "provider", "value_set": ["openai"]},
            "description": "only openai",
        }
    )
    path.write_text(json.dumps(suite))
    result = qe.validate_events(events, context_root=root)
    assert failed_columns(result) == {"provider"}
    assert "only openai" in result.summary()

    suite["expectations"].append({"type": "expect_column_values_to_be_between", "kwargs": {}})
    path.write_text(json.dumps(suite))
    with pytest.raises(ValueError, match="is invalid"):
        qe.validate_events(events, context_root=root)


def test_run_checkpoint_directly():
    df = qp.prepare_prices(pd.DataFrame(price_rows(), columns=PRICE_COLUMNS))
    result = gx.run_checkpoint("model_prices", df, suite_parameters={"alias_targets": []})
    assert result.success and result.suite == "model_prices"
    with pytest.raises(FileNotFoundError):
        gx.run_checkpoint("no_such_suite", df)


def test_summary_lists_every_failure():
    result = gx.SuiteResult(
        suite="s",
        success=False,
        evaluated=3,
        row_count=1,
        failed=[{"detail": "first broke."}, {"detail": "second broke."}],
    )
    assert result.summary() == (
        "Suite s: 2 of 3 expectations failed on 1 row. (1) first broke. (2) second broke."
    )


def test_the_docs_site_keeps_only_the_results_its_index_lists(tmp_path, prices, monkeypatch):
    """GX reads every result the index lists and lists every stored result and page: the
    site keeps the newest DOCS_INDEX_RESULTS, so rendering does not grow with the history of
    runs; an older result's JSON and page move to the archive, where the page's links to the
    index and its suite still resolve."""
    monkeypatch.setattr(gx, "DOCS_INDEX_RESULTS", 2)
    docs = tmp_path / "gx_docs"
    runs = []
    for _ in range(3):
        result = qp.validate_prices(prices, build_docs=True, docs_dir=docs)
        assert result.success
        (json_file,) = set((docs / "_validation_results").rglob("*.json")) - set(runs)
        runs.append(json_file)
    # (suite, run name, run time) of each run, oldest first
    keys = [path.parent.relative_to(docs / "_validation_results") for path in runs]
    assert [key.parts[2] for key in keys] == sorted(key.parts[2] for key in keys)
    assert _runs(docs / "_validation_results") == keys[1:]
    assert _runs(docs / gx.ARCHIVED_RESULTS_SUBDIR) == keys[:1]
    assert _runs(docs / "validations", "*.html") == keys[1:]

    def resolved(page: Path) -> set[str]:  # the page's relative links that resolve
        links = re.findall(r'(?:href|src)="(\.\./[^"#]+)"', page.read_text())
        return {link for link in links if (page.parent / link).resolve().exists()}

    (old_page,) = (docs / gx.ARCHIVED_PAGES_SUBDIR / keys[0]).glob("*.html")
    (kept_page,) = (docs / "validations" / keys[1]).glob("*.html")
    assert "../../../../index.html" in resolved(old_page)
    assert resolved(old_page) == resolved(kept_page)  # the index, the suite's page
    index = (docs / "index.html").read_text()
    linked = [key for key in keys if str(key) in index]
    assert linked == keys[1:]  # the two newest, not the oldest


def test_archiving_keeps_the_newest_results_and_moves_the_rest_whole(tmp_path):
    """archive_old_results on a site of four results of two suites (one without a page):
    the two newest stay, each older one's JSON and page move under the same path, and a
    suite's emptied folders go."""
    docs = tmp_path / "site"
    results = docs / "_validation_results"
    stamps = {
        ("fx_rates", "fx_rates", "20261201T000000.000001Z"): True,
        ("model_prices", "model_prices", "20261202T000000.000001Z"): False,
        ("model_prices", "model_prices", "20261203T000000.000001Z"): True,
        ("fx_rates", "fx_rates", "20261204T000000.000001Z"): True,
    }
    (results / ".ge_store_backend_id").parent.mkdir(parents=True)
    (results / ".ge_store_backend_id").write_text("store_backend_id = x\n")
    for (suite, run, stamp), page in stamps.items():
        (results / suite / run / stamp).mkdir(parents=True)
        (results / suite / run / stamp / "batch.json").write_text(stamp)
        if page:
            (docs / "validations" / suite / run / stamp).mkdir(parents=True)
            (docs / "validations" / suite / run / stamp / "batch.html").write_text(stamp)
    assert gx.archive_old_results(docs, keep=2) == 2
    assert gx.archive_old_results(docs, keep=2) == 0  # nothing left to move

    def files(folder: str) -> dict[str, str]:
        root = docs / folder
        return {str(p.relative_to(root)): p.read_text() for p in root.rglob("batch.*")}

    assert files("_validation_results") == {
        "model_prices/model_prices/20261203T000000.000001Z/batch.json": "20261203T000000.000001Z",
        "fx_rates/fx_rates/20261204T000000.000001Z/batch.json": "20261204T000000.000001Z",
    }
    assert files(gx.ARCHIVED_RESULTS_SUBDIR) == {
        "fx_rates/fx_rates/20261201T000000.000001Z/batch.json": "20261201T000000.000001Z",
        "model_prices/model_prices/20261202T000000.000001Z/batch.json": "20261202T000000.000001Z",
    }
    assert files("validations") == {
        "model_prices/model_prices/20261203T000000.000001Z/batch.html": "20261203T000000.000001Z",
        "fx_rates/fx_rates/20261204T000000.000001Z/batch.html": "20261204T000000.000001Z",
    }
    assert files(gx.ARCHIVED_PAGES_SUBDIR) == {
        "fx_rates/fx_rates/20261201T000000.000001Z/batch.html": "20261201T000000.000001Z",
    }
    assert (results / ".ge_store_backend_id").exists()
    assert not (results / "fx_rates" / "fx_rates" / "20261201T000000.000001Z").exists()
    # a later archiving into a run's folder that exists merges into it
    oldest = Path("fx_rates", "fx_rates", "20261201T000000.000001Z")
    (results / oldest).mkdir()
    (results / oldest / "batch2.json").write_text("")
    assert gx.archive_old_results(docs, keep=2) == 1
    archived = docs / gx.ARCHIVED_RESULTS_SUBDIR / oldest
    assert sorted(p.name for p in archived.iterdir()) == ["batch.json", "batch2.json"]


def _parsed_templates(monkeypatch) -> list[str]:
    """The names of the templates Jinja parses from now on: each compile that is not taken
    from a cache parses its source first (a template made from a string has no name)."""
    import jinja2

    parsed: list[str] = []
    real = jinja2.Environment._parse

    def parse_counted(self, source, name, filename):
        if name is not None:
            parsed.append(name)
        return real(self, source, name, filename)

    monkeypatch.setattr(jinja2.Environment, "_parse", parse_counted)
    return parsed


def test_data_docs_templates_are_compiled_once_in_a_process(tmp_path, prices, monkeypatch):
    """GX makes a Jinja environment for each view of a rendering; the compiled templates
    are shared in the process (aiusage.jinjacode): a rendering after the first, or after
    the refresh server's compile_docs_templates, compiles none of them and writes the
    same pages."""
    gx._gx()
    gx._TEMPLATE_CODE.clear()
    compiled = _parsed_templates(monkeypatch)
    first, second = tmp_path / "first", tmp_path / "second"
    assert qp.validate_prices(prices, build_docs=True, docs_dir=first).success
    assert {"index_page.j2", "page.j2", "section.j2"} <= set(compiled)
    compiled.clear()
    assert qp.validate_prices(prices, build_docs=True, docs_dir=second).success
    assert compiled == []

    def pages(docs):
        return sorted(p.relative_to(docs).parts[:2] for p in docs.rglob("*.html"))

    assert pages(second) == pages(first)
    assert "model_prices" in (second / "index.html").read_text()

    gx._TEMPLATE_CODE.clear()
    assert gx.compile_docs_templates() >= 40
    compiled.clear()
    assert qp.validate_prices(prices, build_docs=True, docs_dir=tmp_path / "warm").success
    assert compiled == []
