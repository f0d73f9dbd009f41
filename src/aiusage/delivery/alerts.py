"""Alert delivery: after each refresh, send the new rows of `rpt_alerts`, once.

`rpt_alerts` (a mart) holds the alerts that fire as of the latest data, one row per
alert_key, with the columns in ALERT_COLUMNS (its contract). A refresh run by the schedule,
the sensor, the Dagster UI or `aiusage build` delivers them the same way (the Dagster asset
alerts/usage_alerts calls `deliver`), and so does `aiusage send-alerts`.

The delivery state machine, per alert_key:

    (not active) --fires--> sent         (notify "NEW")
    sent --fires, same or lower severity--> unchanged (no message)
    sent --fires, warning -> critical--> escalated (notify "ESCALATED")
    sent/escalated --no longer in rpt_alerts--> cleared (recorded; fires again = NEW)

A delivery that fails on every channel changes no state (the alert is tried again after the
next refresh) and is recorded as `failed` in alert_history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiusage.delivery.email import send_email
from aiusage.delivery.slack import alerts_payload, post_slack
from aiusage.delivery.state import connect_state
from aiusage.settings import Settings
from aiusage.warehouse import connect_readonly, relation_exists

# The columns of rpt_alerts that delivery reads (names as in the mart's contract).
ALERT_COLUMNS = [
    "alert_key",
    "alert_type",
    "scope_type",
    "scope_id",
    "severity",
    "measured_value",
    "threshold_value",
    "unit",
    "as_of_date",
    "message",
]
SEVERITY_RANK = {"warning": 1, "critical": 2}


class AlertsUnavailable(RuntimeError):
    pass


def read_alerts(duckdb_path: Path) -> list[dict]:
    """Every row of rpt_alerts (the alerts firing as of the latest data), by alert_key."""
    with connect_readonly(duckdb_path) as con:
        if not relation_exists(con, "rpt_alerts"):
            raise AlertsUnavailable("rpt_alerts is not in the warehouse yet: no alerts to deliver")
        cursor = con.execute(
            f"select {', '.join(ALERT_COLUMNS)} from rpt_alerts order by alert_key"
        )
        rows = [dict(zip(ALERT_COLUMNS, r, strict=True)) for r in cursor.fetchall()]
    for row in rows:
        if row["severity"] not in SEVERITY_RANK:
            raise ValueError(
                f"rpt_alerts row {row['alert_key']!r} has severity {row['severity']!r}; "
                "expected 'warning' or 'critical'"
            )
    return rows


@dataclass
class DeliveryResult:
    new: list[dict] = field(default_factory=list)
    escalated: list[dict] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def sent(self) -> list[dict]:
        return self.new + self.escalated


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def plan(current: list[dict], state_rows: list) -> tuple[list, list, list, list]:
    """Pure transition: (new, escalated, cleared keys, unchanged keys)."""
    active = {r["alert_key"]: r for r in state_rows if r["is_active"]}
    new, escalated, unchanged = [], [], []
    for alert in current:
        previous = active.get(alert["alert_key"])
        if previous is None:
            new.append(alert)
        elif SEVERITY_RANK[alert["severity"]] > SEVERITY_RANK.get(previous["severity"], 0):
            escalated.append(alert)
        else:
            unchanged.append(alert["alert_key"])
    firing = {a["alert_key"] for a in current}
    cleared = sorted(key for key in active if key not in firing)
    return new, escalated, cleared, unchanged


def deliver_alerts(
    current: list[dict],
    state_con,
    senders: dict[str, Callable[[list[dict], set[str]], None]],
) -> DeliveryResult:
    """Apply the state machine and send through every configured channel."""
    state_rows = state_con.execute("select * from alert_state").fetchall()
    new, escalated, cleared, unchanged = plan(current, state_rows)
    result = DeliveryResult(new=new, escalated=escalated, cleared=cleared, unchanged=unchanged)
    now = _now()
    to_send = new + escalated
    delivered_by = []
    if to_send:
        escalated_keys = {a["alert_key"] for a in escalated}
        for name, send in senders.items():
            try:
                send(to_send, escalated_keys)
                delivered_by.append(name)
            except Exception as error:  # one channel failing must not hide the others
                result.failures.append(f"{name}: {error}")
    result.channels = delivered_by
    with state_con:
        if to_send and not delivered_by:
            for alert in to_send:
                _history(state_con, alert, "failed", "", "; ".join(result.failures), now)
            result.new, result.escalated = [], []
        else:
            for alert in to_send:
                event = "sent" if alert in new else "escalated"
                state_con.execute(
                    """
                    insert into alert_state (alert_key, alert_type, scope, scope_id, severity,
                        is_active, first_sent_at, last_sent_at, cleared_at, send_count)
                    values (?, ?, ?, ?, ?, 1, ?, ?, null, 1)
                    on conflict (alert_key) do update set
                        severity = excluded.severity,
                        is_active = 1,
                        first_sent_at = case when alert_state.is_active = 1
                            then alert_state.first_sent_at else excluded.first_sent_at end,
                        last_sent_at = excluded.last_sent_at,
                        cleared_at = null,
                        send_count = alert_state.send_count + 1
                    """,
                    [
                        alert["alert_key"],
                        alert["alert_type"],
                        alert["scope_type"],
                        str(alert["scope_id"]),
                        alert["severity"],
                        now,
                        now,
                    ],
                )
                _history(state_con, alert, event, ",".join(delivered_by), None, now)
        for key in cleared:
            state_con.execute(
                "update alert_state set is_active = 0, cleared_at = ? where alert_key = ?",
                [now, key],
            )
            state_con.execute(
                "insert into alert_history (alert_key, event, recorded_at) values (?, ?, ?)",
                [key, "cleared", now],
            )
    return result


def _history(con, alert, event, channels, detail, now):
    def number(value):
        return None if value is None else float(value)

    con.execute(
        """
        insert into alert_history (alert_key, event, severity, measured_value, threshold,
            as_of_date, message, channels, detail, recorded_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            alert["alert_key"],
            event,
            alert["severity"],
            number(alert["measured_value"]),
            number(alert["threshold_value"]),
            str(alert["as_of_date"]),
            alert["message"],
            channels,
            detail,
            now,
        ],
    )


def configured_senders(settings: Settings) -> dict[str, Callable[[list[dict], set[str]], None]]:
    """Slack when SLACK_WEBHOOK_URL is set, e-mail when AIUSAGE_SMTP_HOST is set."""
    senders: dict[str, Callable[[list[dict], set[str]], None]] = {}
    webhook = settings.slack_webhook_url
    if webhook:
        senders["slack"] = lambda alerts, esc: post_slack(
            alerts_payload(alerts, escalated=esc), webhook
        )
    smtp = settings.smtp
    if smtp is not None:

        def send_mail(alerts, esc):
            worst = max(alerts, key=lambda a: SEVERITY_RANK[a["severity"]])["severity"]
            body = alerts_payload(alerts, escalated=esc)["text"]
            send_email(smtp, f"[aiusage] {len(alerts)} {worst} alert(s)", body, html_body=False)

        senders["email"] = send_mail
    return senders


def deliver(settings: Settings, duckdb_path: Path) -> DeliveryResult | None:
    """Deliver the new and escalated rows of rpt_alerts in `duckdb_path` (the published
    snapshot) through every configured channel, and record what was sent, escalated and
    cleared in the delivery state. None when no channel is configured or rpt_alerts is not
    built yet. A channel that fails is reported in the result, never raised: a refresh does
    not fail because Slack is down (the alert is tried again after the next refresh)."""
    senders = configured_senders(settings)
    if not senders:
        return None
    try:
        current = read_alerts(duckdb_path)
    except AlertsUnavailable:
        return None
    con = connect_state(settings.delivery_state_path)
    try:
        return deliver_alerts(current, con, senders)
    finally:
        con.close()


def summary_line(result: DeliveryResult) -> str:
    line = (
        f"Alerts: {len(result.new)} new, {len(result.escalated)} escalated, "
        f"{len(result.unchanged)} already sent, {len(result.cleared)} cleared"
        + (f"; sent via {', '.join(result.channels)}" if result.channels else "")
    )
    return line + (f"; delivery failed: {'; '.join(result.failures)}" if result.failures else "")
