"""What a refresh delivers once the snapshot is published: the alerts of rpt_alerts and,
when due, the weekly report. `aiusage send-alerts` and `aiusage send-report` call the same
functions (aiusage.delivery), so every path sends the same thing."""

import dagster as dg

from aiusage.delivery.alerts import deliver, summary_line
from aiusage.delivery.reports import weekly_report
from aiusage.snapshot import published_duckdb_path
from orchestration.assets.publish import PUBLISHED
from orchestration.resources import WarehouseSettings

ALERTS = dg.AssetKey(["alerts", "usage_alerts"])
WEEKLY_REPORT = dg.AssetKey(["reports", "weekly_usage_report"])


@dg.asset(
    key=ALERTS,
    deps=[PUBLISHED],
    group_name="delivery",
    owners=["team:data-platform"],
    kinds={"slack", "email"},
    description=(
        "The new and escalated alerts of rpt_alerts in the published snapshot, sent to Slack "
        "(SLACK_WEBHOOK_URL) and e-mail (AIUSAGE_SMTP_*); cleared alerts recorded. A channel "
        "that fails is reported here and retried after the next refresh, never a failed run."
    ),
)
def usage_alerts(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
    settings = warehouse.resolve()
    result = deliver(settings, published_duckdb_path(settings))
    if result is None:
        context.log.info("No alert channel configured (or rpt_alerts not built): nothing sent")
        return dg.MaterializeResult(metadata={"summary": "no alert channel configured"})
    line = summary_line(result)
    (context.log.warning if result.failures else context.log.info)(line)
    return dg.MaterializeResult(
        metadata={
            "summary": line,
            "new": len(result.new),
            "escalated": len(result.escalated),
            "cleared": len(result.cleared),
            "already_sent": len(result.unchanged),
            "channels": ", ".join(result.channels) or "none",
            "failures": "; ".join(result.failures) or "none",
            "details": dg.MetadataValue.md(
                "\n".join(f"- [{a['severity']}] {a['message']}" for a in result.sent) or "none"
            ),
        }
    )


@dg.asset(
    key=WEEKLY_REPORT,
    deps=[PUBLISHED],
    group_name="delivery",
    owners=["team:finops"],
    kinds={"text", "slack", "email"},
    description=(
        "The usage report of the last full week (Monday to Sunday in "
        "AIUSAGE_SCHEDULE_TIMEZONE), written to <reports>/weekly/<end>.txt and .json and, the "
        "first time a refresh runs after the week ended, sent to Slack and e-mail with the "
        "payload of `aiusage send-report`."
    ),
)
def weekly_usage_report(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
    settings = warehouse.resolve()
    weekly = weekly_report(settings, published_duckdb_path(settings))
    state = weekly.state()
    if weekly.delivery is not None and weekly.delivery.failures:
        context.log.warning("Weekly report delivery: %s", "; ".join(weekly.delivery.failures))
    context.log.info("Weekly report %s .. %s: %s", weekly.window.start, weekly.window.end, state)
    return dg.MaterializeResult(
        metadata={
            "period": f"{weekly.window.start} .. {weekly.window.end}",
            "delivery": state,
            "file": dg.MetadataValue.path(str(weekly.files[0])),
        }
    )
