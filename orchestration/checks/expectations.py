"""Great Expectations suites as blocking Dagster asset checks.

The price check guards the `model_prices` seed and the landing check guards the landed
events: both are blocking, so when either fails the dbt models downstream do not run.
"""


import json

import dagster as dg
import pandas as pd

from orchestration.assets.landing import landed_files, recent_batch
from orchestration.resources import WarehouseSettings

EVENT_COLUMNS = [
    "request_id", "occurred_at", "provider", "model", "input_tokens", "cache_read_tokens",
    "cache_write_tokens", "cache_write_1h_tokens", "output_tokens", "reasoning_tokens",
    "service_tier", "latency_ms", "ttft_ms", "status", "quality_score",
]


def read_landed_events(paths) -> pd.DataFrame:
    """Landed JSONL lines as rows; a line that is not a JSON object becomes an all-null row,
    so it counts against the batch instead of vanishing."""
    rows = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                rows.append(
                    {c: record.get(c) for c in EVENT_COLUMNS}
                    if isinstance(record, dict)
                    else dict.fromkeys(EVENT_COLUMNS)
                )
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def _check_result(result) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if result.success else result.summary(),
        metadata={
            "suite": result.suite,
            "rows": result.row_count,
            "expectations": result.evaluated,
            "failed_expectations": len(result.failed),
            "summary": dg.MetadataValue.md(result.summary()),
        },
    )


@dg.asset_check(
    asset=dg.AssetKey(["model_prices"]),
    name="model_prices_expectations",
    blocking=True,
    description="GX suite model_prices: non-negative prices, no overlapping validity "
    "windows, known providers, tier consistency, every alias target priced.",
)
def model_prices_expectations(warehouse: WarehouseSettings) -> dg.AssetCheckResult:
    from orchestration.expectations import validate_prices

    settings = warehouse.resolve()
    seeds = settings.project_dir / "seeds"
    prices = pd.read_csv(seeds / "model_prices.csv", dtype=str, keep_default_na=False)
    aliases = pd.read_csv(seeds / "model_aliases.csv", dtype=str, keep_default_na=False)
    return _check_result(validate_prices(prices, aliases))


@dg.asset_check(
    asset=dg.AssetKey(["landing", "events"]),
    name="landed_events_expectations",
    blocking=True,
    description="GX suite usage_events over the landed batch a refresh reads (latest landing "
    "day and the look-back window): token integrity, allowed values, timestamps. Fails when "
    "more than AIUSAGE_REJECT_THRESHOLD of the lines break an expectation.",
)
def landed_events_expectations(warehouse: WarehouseSettings) -> dg.AssetCheckResult:
    from orchestration.expectations import validate_events

    settings = warehouse.resolve()
    batch = recent_batch(landed_files(settings.landing_dir, "events"), settings.lookback_days)
    frame = read_landed_events(batch)
    result = validate_events(frame, mostly=1.0 - settings.reject_threshold)
    check = _check_result(result)
    return dg.AssetCheckResult(
        passed=check.passed,
        severity=check.severity,
        description=check.description,
        metadata={**check.metadata, "files": len(batch)},
    )
