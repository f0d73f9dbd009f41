"""The publish step and what is read from it: the weekly report and the usage alerts."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.assets.dbt import mart_asset_keys
from orchestration.project import warehouse_project
from orchestration.resources import WarehouseSettings

PUBLISHED = dg.AssetKey(["published_warehouse"])


@dg.asset(
    key=PUBLISHED,
    deps=mart_asset_keys(),
    group_name="delivery",
    owners=["team:data-platform"],
    kinds={"duckdb", "parquet"},
    retry_policy=dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL),
    description=(
        "Read-only snapshot for readers: a copy of the DuckDB file and one Parquet file per "
        "mart in <published>/<build_id>/, then the CURRENT pointer swapped atomically. Runs "
        "only after every mart built and passed its blocking checks."
    ),
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
    from orchestration.publish import mart_relations, publish

    settings = warehouse.resolve()
    options = warehouse.refresh_options()
    snapshot = publish(
        settings,
        mart_relations(warehouse_project.manifest_path),
        run_id=context.run_id,
        metadata={
            "backfill_start": str(options.backfill_start or ""),
            "backfill_end": str(options.backfill_end or ""),
            "full_refresh": options.full_refresh,
        },
    )
    context.log.info("Published %s (removed %s)", snapshot.folder, snapshot.removed or "none")
    return dg.MaterializeResult(
        metadata={
            "build_id": snapshot.build_id,
            "duckdb": dg.MetadataValue.path(str(snapshot.duckdb_path)),
            "marts": dg.MetadataValue.json(snapshot.row_counts),
            "removed_snapshots": len(snapshot.removed),
        }
    )


def _yesterday(timezone: str):
    return (datetime.now(ZoneInfo(timezone)) - timedelta(days=1)).date()


@dg.asset(
    key=dg.AssetKey(["reports", "weekly_usage_report"]),
    deps=[PUBLISHED],
    group_name="delivery",
    owners=["team:finops"],
    kinds={"text", "slack"},
    description=(
        "The usage report of the last 7 full days (in AIUSAGE_SCHEDULE_TIMEZONE), read from the "
        "published snapshot, written to <reports>/weekly/<end>.txt and .json and posted to Slack "
        "when SLACK_WEBHOOK_URL is set."
    ),
)
def weekly_usage_report(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
    from orchestration.notify import post_slack
    from orchestration.publish import published_duckdb_path
    from orchestration.report import ReportWindow, build_report, render_json, render_text

    settings = warehouse.resolve()
    window = ReportWindow.last_days(7, _yesterday(settings.schedule_timezone))
    data = build_report(published_duckdb_path(settings), window)
    text = render_text(data)
    folder = settings.reports_dir / "weekly"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{window.end}.txt").write_text(text, encoding="utf-8")
    (folder / f"{window.end}.json").write_text(render_json(data), encoding="utf-8")
    posted = post_slack({"text": f"```\n{text}```"})
    context.log.info(
        "Weekly report %s .. %s, posted to Slack: %s", window.start, window.end, posted
    )
    return dg.MaterializeResult(
        metadata={
            "period": f"{window.start} .. {window.end}",
            "report": dg.MetadataValue.md(f"```\n{text}```"),
            "file": dg.MetadataValue.path(str(folder / f"{window.end}.txt")),
            "posted_to_slack": posted,
        }
    )


def alert_lines(data: dict) -> list[str]:
    """Readable alert lines from a report's warnings (unpriced usage, rejected lines)."""
    lines = [
        f"UNPRICED: {row['requests']:,} requests of {row['provider']}/{row['model']} have no "
        "price (add a row to seeds/model_prices.csv)"
        for row in data["warnings"]["unpriced_usage"]
    ]
    lines += [
        f"REJECTED: {row['lines']:,} landed lines ({row['rejection_reason']}); "
        "see fct_rejected_events"
        for row in data["warnings"]["rejected_lines"]
    ]
    return lines


@dg.asset(
    key=dg.AssetKey(["alerts", "usage_alerts"]),
    deps=[PUBLISHED],
    group_name="delivery",
    owners=["team:data-platform"],
    kinds={"slack"},
    description=(
        "Data alerts of the latest usage day in the published snapshot (unpriced models, "
        "rejected lines), posted to Slack when SLACK_WEBHOOK_URL is set."
    ),
)
def usage_alerts(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
    from orchestration.notify import post_slack
    from orchestration.publish import published_duckdb_path
    from orchestration.report import ReportWindow, build_report, connect_readonly

    settings = warehouse.resolve()
    path = published_duckdb_path(settings)
    with connect_readonly(path) as con:
        (latest,) = con.execute("select max(usage_date) from fct_daily_usage").fetchone()
    if latest is None:
        return dg.MaterializeResult(metadata={"alerts": 0})
    data = build_report(path, ReportWindow.last_days(1, latest))
    lines = alert_lines(data)
    posted = bool(lines) and post_slack(
        {"text": f"aiusage alerts for {latest}:\n" + "\n".join(f"• {line}" for line in lines)}
    )
    for line in lines:
        context.log.warning(line)
    return dg.MaterializeResult(
        metadata={
            "usage_date": str(latest),
            "alerts": len(lines),
            "details": dg.MetadataValue.md("\n".join(f"- {line}" for line in lines) or "none"),
            "posted_to_slack": posted,
        }
    )
