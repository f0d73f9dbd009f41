"""Report delivery: the usage report to Slack (Block Kit) and e-mail, on demand or weekly.

`send_report` is the one way a report goes out: `aiusage send-report` calls it, and so does
the weekly report of a refresh (the Dagster asset reports/weekly_usage_report), so both post
the same payload for the same period. The weekly report covers the last full week, Monday
to Sunday in AIUSAGE_SCHEDULE_TIMEZONE; it is due when no weekly report of that week has
been delivered yet (the delivery state records each one), so whichever refresh of the week
runs first sends it, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiusage.delivery.email import EmailDeliveryError, send_email
from aiusage.delivery.slack import SlackError, post_slack, report_payload
from aiusage.delivery.state import connect_state
from aiusage.reporting.build import build_report
from aiusage.reporting.period import ReportWindow
from aiusage.reporting.render import render_json, render_text, title
from aiusage.settings import Settings

CHANNELS = ("slack", "email")


class ReportDeliveryError(RuntimeError):
    """No channel to send to, or a channel asked for that is not configured."""


def configured_channels(settings: Settings) -> list[str]:
    configured = {"slack": bool(settings.slack_webhook_url), "email": settings.smtp is not None}
    return [name for name in CHANNELS if configured[name]]


@dataclass
class ReportDelivery:
    window: ReportWindow
    report: dict
    sent: dict[str, str] = field(default_factory=dict)  # channel -> what happened
    failures: list[str] = field(default_factory=list)


def send_report(
    settings: Settings,
    duckdb_path: Path,
    window: ReportWindow,
    filters: dict[str, str] | None = None,
    channels: list[str] | None = None,
    kind: str = "on_demand",
) -> ReportDelivery:
    """Build the report of `window` from `duckdb_path` and send it to `channels` (default:
    every configured one). Failures of a channel are collected, not raised; the delivery is
    recorded when at least one channel took it."""
    available = configured_channels(settings)
    wanted = list(channels or available)
    if not wanted:
        raise ReportDeliveryError(
            "no delivery channel configured: set SLACK_WEBHOOK_URL and/or AIUSAGE_SMTP_HOST "
            "(with AIUSAGE_SMTP_FROM and AIUSAGE_SMTP_TO)"
        )
    for name in wanted:
        if name not in available:
            raise ReportDeliveryError(f"--to {name}: that channel is not configured")
    filters = {k: v for k, v in (filters or {}).items() if v}
    delivery = ReportDelivery(window, build_report(duckdb_path, window, filters))
    if "slack" in wanted:
        try:
            attempts = post_slack(report_payload(delivery.report), settings.slack_webhook_url)
            delivery.sent["slack"] = f"posted to Slack ({attempts} attempt(s))"
        except SlackError as error:
            delivery.failures.append(f"Slack: {error}")
    if "email" in wanted and settings.smtp is not None:
        try:
            send_email(settings.smtp, title(delivery.report), render_text(delivery.report))
            delivery.sent["email"] = f"e-mailed to {len(settings.smtp.recipients)} recipient(s)"
        except EmailDeliveryError as error:
            delivery.failures.append(f"e-mail: {error}")
    if delivery.sent:
        record_report_delivery(settings, kind, window, filters, sorted(delivery.sent))
    return delivery


def record_report_delivery(settings, kind, window, filters, channels) -> None:
    """Record that a report of `window` went out (a weekly one is then no longer due)."""
    con = connect_state(settings.delivery_state_path)
    try:
        with con:
            con.execute(
                """insert into report_deliveries
                   (kind, period_start, period_end, filters, channels, delivered_at)
                   values (?, ?, ?, ?, ?, ?)""",
                [
                    kind,
                    window.start.isoformat(),
                    window.end.isoformat(),
                    json.dumps(filters, sort_keys=True),
                    ",".join(channels),
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ],
            )
    finally:
        con.close()


def weekly_window(today: date) -> ReportWindow:
    """The last full week before `today`'s week: Monday to Sunday."""
    monday = today - timedelta(days=today.weekday())
    return ReportWindow(monday - timedelta(days=7), monday - timedelta(days=1))


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def weekly_report_due(settings: Settings, window: ReportWindow) -> bool:
    con = connect_state(settings.delivery_state_path)
    try:
        row = con.execute(
            "select 1 from report_deliveries where kind = 'weekly' and period_start = ? "
            "and period_end = ?",
            [window.start.isoformat(), window.end.isoformat()],
        ).fetchone()
    finally:
        con.close()
    return row is None


def current_week(settings: Settings, today: date | None = None) -> ReportWindow:
    """The week the weekly report covers now: the last full week in the schedule's zone."""
    return weekly_window(today or today_in(settings.schedule_timezone))


@dataclass
class WeeklyReport:
    window: ReportWindow
    files: list[Path]
    delivery: ReportDelivery | None  # None: not due, or no channel configured
    due: bool

    def state(self) -> str:
        """What the delivery did, in one line (the asset's metadata, `aiusage build`)."""
        if self.delivery is None:
            return "no channel configured" if self.due else "already sent"
        return "; ".join([*self.delivery.sent.values(), *self.delivery.failures])


def weekly_report(settings: Settings, duckdb_path: Path, today: date | None = None) -> WeeklyReport:
    """The weekly report of the last full week: written to <reports>/weekly/<end>.txt and
    .json, and sent to every configured channel when it is due."""
    window = current_week(settings, today)
    due = weekly_report_due(settings, window)
    delivery = None
    if due and configured_channels(settings):
        delivery = send_report(settings, duckdb_path, window, kind="weekly")
        report = delivery.report
    else:
        report = build_report(duckdb_path, window)
    folder = settings.reports_dir / "weekly"
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"{window.end}.txt", folder / f"{window.end}.json"]
    files[0].write_text(render_text(report), encoding="utf-8")
    files[1].write_text(render_json(report), encoding="utf-8")
    return WeeklyReport(window, files, delivery, due)
