"""Great Expectations on the warehouse's inputs: the price seeds and each landed batch.

The suites are the JSON files of expectations/gx/expectations/ (gx.py runs them on pandas
batches); prices.py and events.py prepare the seeds and a landed batch for them. The marts
are validated by dbt tests, not here: one place per rule.
"""

from __future__ import annotations

from aiusage.settings import Settings


def run_all_suites(settings: Settings, build_docs: bool = True) -> list[tuple[str, object]]:
    """`aiusage validate`: [(suite, SuiteResult or the reason it was skipped)], the suites a
    refresh runs as blocking checks, on the same data: the price seeds and the landed batch
    of the next refresh (its whole window: nothing is skipped or remembered)."""
    from aiusage.quality.events import validate_landed_batch
    from aiusage.quality.prices import validate_price_seeds
    from aiusage.refresh import RefreshOptions

    outcomes: list[tuple[str, object]] = [
        (result.suite, result)
        for result in validate_price_seeds(
            settings.project_dir / "seeds",
            context_root=settings.project_dir / "expectations",
            build_docs=build_docs,
            docs_dir=settings.gx_docs_dir,
        )
    ]
    batch = validate_landed_batch(settings, RefreshOptions(), build_docs=build_docs, remember=False)
    if batch.result is None:
        outcomes.append(("usage_events", f"no landed event files under {settings.landing_dir}"))
    else:
        outcomes.append(("usage_events", batch.result))
    return outcomes
