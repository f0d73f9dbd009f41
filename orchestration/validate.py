"""`aiusage validate`: every Great Expectations suite from the command line.

Runs the suites the refresh job runs as asset checks, on the same data: the price seed, the
landed batch the next refresh reads, the fct_llm_requests rows of the refreshed days and the
mart reconciliation (the last two read the build DuckDB file, read-only).
"""

from __future__ import annotations

from orchestration.settings import Settings


def run_all_suites(settings: Settings, build_docs: bool = True) -> list[tuple[str, object]]:
    """[(suite, SuiteResult or the reason it was skipped)] in pipeline order."""
    from orchestration.checks.expectations import (
        price_check,
        read_landed_events,
        refresh_batch,
        refresh_first_day,
    )
    from orchestration.expectations import (
        read_marts,
        read_requests,
        validate_events,
        validate_marts,
        validate_requests,
    )
    from orchestration.resources import RefreshOptions

    docs = {"build_docs": build_docs, "docs_dir": settings.gx_docs_dir}
    options = RefreshOptions()
    outcomes: list[tuple[str, object]] = [
        ("model_prices", price_check(settings, build_docs=build_docs))
    ]
    batch = refresh_batch(settings, options)
    if batch:
        events = validate_events(
            read_landed_events(batch), mostly=1.0 - settings.reject_threshold, **docs
        )
        outcomes.append(("usage_events", events))
    else:
        outcomes.append(("usage_events", f"no landed files under {settings.landing_dir}"))
    if not settings.duckdb_path.exists():
        reason = f"no warehouse at {settings.duckdb_path} (run `aiusage build`)"
        outcomes += [("fct_llm_requests", reason), ("warehouse_marts", reason)]
        return outcomes
    first = refresh_first_day(settings, options)
    outcomes.append(
        ("fct_llm_requests", validate_requests(read_requests(settings.duckdb_path, first), **docs))
    )
    outcomes.append(("warehouse_marts", validate_marts(read_marts(settings.duckdb_path), **docs)))
    return outcomes
