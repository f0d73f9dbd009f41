"""Great Expectations suites as blocking Dagster asset checks, on the warehouse's inputs.

* one check per price seed file (model_prices with its alias targets,
  service_tier_multipliers, fx_rates), on the asset of the CSV file (seed_files/<seed>),
  upstream of the dbt seed: a broken seed stops the refresh before dbt starts, so it is
  never loaded and never reaches a model;
* landed_events_expectations on landing/events: the landed batch a refresh reads.

The marts are checked by the dbt tests (asset checks of the dbt assets). Each check returns
the suite's readable summary (failing rows named) as its description and metadata, and
updates the Data Docs site in AIUSAGE_GX_DOCS_DIR. The suites run in the warm GX worker
process (aiusage.quality.worker), which a refresh starts before it needs it.
"""

from collections.abc import Callable

import dagster as dg

from aiusage.changes import RefreshPlan
from aiusage.quality import worker
from aiusage.quality.checks import PRICE_SEEDS, landed_batch_check, price_seed_check
from aiusage.quality.gx import SuiteResult
from aiusage.refresh import RefreshOptions
from aiusage.settings import Settings
from orchestration.assets.seeds import seed_file_key
from orchestration.resources import WarehouseSettings


def check_result(result: SuiteResult, **extra) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.summary(),
        metadata={
            "suite": result.suite,
            "rows": result.row_count,
            "expectations": result.evaluated,
            "failed_expectations": len(result.failed),
            "summary": dg.MetadataValue.md(result.summary()),
            **(
                {"data_docs": dg.MetadataValue.path(str(result.docs_index))}
                if result.docs_index
                else {}
            ),
            **extra,
        },
    )


def _price_seed_call(seed: str, settings: Settings) -> tuple[Callable, tuple, dict]:
    """The call a price seed's check makes in the GX worker."""
    kwargs = {
        "context_root": settings.project_dir / "expectations",
        "build_docs": True,
        "docs_dir": settings.gx_docs_dir,
    }
    return price_seed_check, (seed, settings.project_dir / "seeds"), kwargs


def prefetch_checks(settings: Settings, options: RefreshOptions, plan: RefreshPlan) -> None:
    """Hand the GX worker the checks a refresh of this plan will run, in the order it runs
    them, before Dagster starts the run (aiusage.quality.worker.prefetch): the landed-batch
    check unless only seeds changed, and the checks of the price seeds unless the seeds are
    unchanged (only the changed ones when they are the only change)."""
    if not plan.seeds_only:
        worker.prefetch(landed_batch_check, settings, options)
    if not plan.seeds_unchanged:
        for seed in PRICE_SEEDS:
            if not plan.seeds_only or seed in plan.changed_seeds:
                function, args, kwargs = _price_seed_call(seed, settings)
                worker.prefetch(function, *args, **kwargs)


def price_seed_asset_check(seed: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=seed_file_key(seed),
        name=f"{seed}_expectations",
        blocking=True,
        description=f"GX suite {seed} over seeds/{seed}.csv (expectations/gx/expectations/"
        f"{seed}.json; the rules `aiusage pricing validate` runs).",
    )
    def _check(warehouse: WarehouseSettings) -> dg.AssetCheckResult:
        function, args, kwargs = _price_seed_call(seed, warehouse.resolve())
        return check_result(worker.run(function, *args, **kwargs))

    return _check


@dg.asset_check(
    asset=dg.AssetKey(["landing", "events"]),
    name="landed_events_expectations",
    blocking=True,
    description="GX suite usage_events over the landed batch a refresh reads (the look-back "
    "window, or the backfill range), minus the files that passed on an earlier refresh "
    "unchanged: token integrity, allowed values, timestamps. Fails when more than "
    "AIUSAGE_REJECT_THRESHOLD of the lines break an expectation.",
)
def landed_events_expectations(warehouse: WarehouseSettings) -> dg.AssetCheckResult:
    settings = warehouse.resolve()
    batch = worker.run(landed_batch_check, settings, warehouse.refresh_options())
    extra = {
        "files": batch.files,
        "already_validated": batch.already_validated,
        "first_landing_day": str(batch.first_landing_day or "all"),
    }
    if batch.result is None:
        return dg.AssetCheckResult(
            passed=True,
            severity=dg.AssetCheckSeverity.ERROR,
            description=batch.summary(),
            metadata={**extra, "rows": 0},
        )
    return check_result(batch.result, **extra)


EXPECTATION_CHECKS = [
    *(price_seed_asset_check(seed) for seed in PRICE_SEEDS),
    landed_events_expectations,
]
