"""The checks of a refresh as the refresh process sees them: the calls it hands the GX
worker (aiusage.quality.worker), what each reads and what it returns.

The refresh process only passes these calls to the worker and reads their results, so this
module imports neither pandas nor Great Expectations: each call imports its implementation
(aiusage.quality.events, aiusage.quality.prices) when it runs, in the worker. pandas and
numpy cost the refresh process 0.4 s of CPU at the start of a refresh, while the dbt server
and the GX worker import on the same two cores (docs/performance.md). A check runs in the
refresh process only when the worker died.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from aiusage.quality.gx import SuiteResult, suites_dir
from aiusage.refresh import RefreshOptions, landed_event_batch
from aiusage.settings import Settings

EVENTS_SUITE = "usage_events"
PRICES_SUITE = "model_prices"
MULTIPLIERS_SUITE = "service_tier_multipliers"
FX_RATES_SUITE = "fx_rates"
PRICE_SEEDS = (PRICES_SUITE, MULTIPLIERS_SUITE, FX_RATES_SUITE)


@dataclass(frozen=True)
class LandedBatchResult:
    """The landed-batch check of one refresh: the suite's result over the new or changed
    files (None when there were none), and how many files of the window were skipped
    because they passed unchanged on an earlier refresh."""

    result: SuiteResult | None
    files: int
    already_validated: int
    first_landing_day: date | None

    @property
    def success(self) -> bool:
        return self.result is None or self.result.success

    def summary(self) -> str:
        if self.result is None:
            return (
                f"No new or changed landed event files: the {self.already_validated} file(s) "
                "of the refresh window passed on an earlier refresh."
            )
        return self.result.summary()


def landed_batch_check(settings: Settings, options: RefreshOptions) -> LandedBatchResult:
    """The landed-batch check of a refresh: aiusage.quality.events.validate_landed_batch,
    with Data Docs, remembering the files that pass."""
    from aiusage.quality.events import validate_landed_batch

    return validate_landed_batch(settings, options)


def _landed_batch_inputs(settings: Settings, options: RefreshOptions) -> list[Path]:
    """The files landed_batch_check reads (aiusage.quality.worker.prefetch): the batch's
    files and the suite. A file landed in the batch's days since changes the list. The
    record of files that passed is in the warehouse, which nothing writes before the check
    but the check itself."""
    suite = suites_dir(settings.project_dir / "expectations") / f"{EVENTS_SUITE}.json"
    return [*landed_event_batch(settings, options), suite]


landed_batch_check.inputs = _landed_batch_inputs


def price_seed_check(*args, **kwargs) -> SuiteResult:
    """The check of one price seed: aiusage.quality.prices.validate_price_seed, which takes
    the same arguments (name, seeds_dir, context_root, build_docs, docs_dir)."""
    from aiusage.quality.prices import validate_price_seed

    return validate_price_seed(*args, **kwargs)


def _price_seed_inputs(name: str, seeds_dir: Path, context_root: Path | None = None, *_, **__):
    """The files price_seed_check reads (aiusage.quality.worker.prefetch)."""
    read = [seeds_dir / f"{name}.csv", suites_dir(context_root) / f"{name}.json"]
    return [*read, seeds_dir / "model_aliases.csv"] if name == PRICES_SUITE else read


price_seed_check.inputs = _price_seed_inputs
