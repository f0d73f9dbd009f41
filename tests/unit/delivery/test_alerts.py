"""Alert delivery: the state machine over rows of rpt_alerts (a warehouse built from the
mart's contract), to a real local Slack webhook and a real local SMTP server."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from aiusage.cli import main
from aiusage.delivery.alerts import deliver, deliver_alerts, plan, read_alerts
from aiusage.delivery.state import connect_state
from aiusage.settings import Settings
from tests.support.contract_warehouse import contract_warehouse
from tests.support.servers import RecordingSmtp, RecordingWebhook


def _alert(key, severity="warning", scope_id="search"):
    """A row of rpt_alerts, every column named as in the mart's contract."""
    return {
        "alert_key": key,
        "as_of_date": "2026-11-20",
        "alert_type": "budget_utilization",
        "scope_type": "team",
        "scope_id": scope_id,
        "period_start_date": "2026-11-01",
        "severity": severity,
        "severity_rank": {"warning": 1, "critical": 2}.get(severity, 0),
        "measured_value": 0.9,
        "threshold_value": 0.85,
        "unit": "ratio",
        "sample_requests": 40,
        "message": f"{scope_id} used 90% of its budget",
    }


def _warehouse(path, alerts):
    path.unlink(missing_ok=True)
    return contract_warehouse(path, {"rpt_alerts": alerts})


def test_alert_state_machine_sends_once_until_cleared_or_escalated(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    state = connect_state(tmp_path / "state.sqlite")
    sent = []

    def sender(alerts, escalated):
        sent.append(sorted((a["alert_key"], a["alert_key"] in escalated) for a in alerts))

    def refresh(alerts):
        return deliver_alerts(read_alerts(_warehouse(warehouse, alerts)), state, {"test": sender})

    refresh([_alert("a"), _alert("b")])
    refresh([_alert("a"), _alert("b")])  # same alerts: nothing sent
    refresh([_alert("a", "critical"), _alert("b")])  # a escalates
    refresh([_alert("a", "warning"), _alert("b")])  # de-escalation is not news
    result = refresh([_alert("a")])  # b clears
    assert result.cleared == ["b"] and result.sent == []
    refresh([_alert("a"), _alert("b")])  # b fires again: new
    assert sent == [[("a", False), ("b", False)], [("a", True)], [("b", False)]]
    history = [
        (r["alert_key"], r["event"])
        for r in state.execute("select * from alert_history order by event_id")
    ]
    assert history == [
        ("a", "sent"), ("b", "sent"), ("a", "escalated"), ("b", "cleared"), ("b", "sent"),
    ]  # fmt: skip
    row = state.execute("select * from alert_state where alert_key = 'b'").fetchone()
    assert row["is_active"] == 1 and row["send_count"] == 2 and row["scope"] == "team"
    sent_row = state.execute("select * from alert_history where event = 'sent'").fetchone()
    assert (sent_row["measured_value"], sent_row["threshold"]) == (0.9, 0.85)


def test_failed_delivery_keeps_the_alert_pending(tmp_path):
    state = connect_state(tmp_path / "state.sqlite")

    def broken(alerts, escalated):
        raise RuntimeError("smtp down")

    result = deliver_alerts([_alert("a")], state, {"email": broken})
    assert result.failures == ["email: smtp down"] and result.sent == []
    assert state.execute("select count(*) from alert_state").fetchone()[0] == 0
    new, _, _, _ = plan([_alert("a")], state.execute("select * from alert_state").fetchall())
    assert [a["alert_key"] for a in new] == ["a"]


def test_send_alerts_command_posts_to_slack_and_mails_new_alerts(tmp_path, monkeypatch):
    warehouse = _warehouse(tmp_path / "wh.duckdb", [_alert("budget:search", "critical")])
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("AIUSAGE_DELIVERY_STATE_PATH", str(tmp_path / "state.sqlite"))
    with RecordingWebhook() as hook, RecordingSmtp() as smtp:
        env = {"SLACK_WEBHOOK_URL": hook.url, **smtp.env(to="oncall@example.test")}
        first = CliRunner().invoke(main, ["send-alerts"], env=env)
        second = CliRunner().invoke(main, ["send-alerts"], env=env)
        payloads = hook.payloads()
        mails = smtp.parsed()
    assert first.exit_code == 0 and "1 new" in first.output, first.output
    assert "sent via slack, email" in first.output and "secret-part" not in first.output
    assert second.exit_code == 0 and "1 already sent" in second.output
    assert len(payloads) == 1
    assert "[critical] budget_utilization team search" in payloads[0]["text"]
    (mail,) = mails
    assert (
        mail["Subject"] == "[aiusage] 1 critical alert(s)" and mail["To"] == "oncall@example.test"
    )
    assert "search used 90% of its budget" in mail.get_body(("plain",)).get_content()
    state = sqlite3.connect(tmp_path / "state.sqlite")
    assert state.execute("select channels from alert_history").fetchall() == [("slack,email",)]


def test_rpt_alerts_with_unknown_severity_is_refused(tmp_path):
    warehouse = _warehouse(tmp_path / "wh.duckdb", [_alert("x", "info")])
    with pytest.raises(ValueError, match="expected 'warning' or 'critical'"):
        read_alerts(warehouse)


def test_deliver_needs_a_channel_and_reports_failures_without_raising(tmp_path, monkeypatch):
    warehouse = _warehouse(tmp_path / "wh.duckdb", [_alert("a")])
    for name in ("SLACK_WEBHOOK_URL", "AIUSAGE_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIUSAGE_DELIVERY_STATE_PATH", str(tmp_path / "state.sqlite"))
    assert deliver(Settings.from_env(), warehouse) is None  # no channel
    with RecordingWebhook([(400, {})]) as hook:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
        settings = Settings.from_env()
        failed = deliver(settings, warehouse)
        first = deliver(settings, warehouse)
        second = deliver(settings, warehouse)
    assert failed.failures and "secret-part" not in " ".join(failed.failures)
    assert [a["alert_key"] for a in first.new] == ["a"] and second.unchanged == ["a"]
