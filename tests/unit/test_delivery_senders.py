"""Slack (a real local HTTP server), e-mail (a real local SMTP server, aiosmtpd) and the
alert delivery state machine (a real DuckDB file holding rpt_alerts)."""

from __future__ import annotations

import email
import socket
import sqlite3
from datetime import date
from email import policy

import duckdb
import pytest
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.delivery.alerts import deliver_alerts, plan, read_alerts
from orchestration.delivery.report import ReportWindow, build_report
from orchestration.delivery.slack import SlackDeliveryError, post_slack, report_payload
from orchestration.delivery.state import connect_state
from tests.support.servers import RecordingWebhook
from tests.support.tiny_warehouse import build_tiny_warehouse

WEEK = ReportWindow(date(2026, 11, 14), date(2026, 11, 20))


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    path = build_tiny_warehouse(tmp_path / "tiny.duckdb")
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(path))
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    for var in ("HOST", "PORT", "FROM", "TO", "USER", "PASSWORD", "STARTTLS", "SSL"):
        monkeypatch.delenv(f"AIUSAGE_SMTP_{var}", raising=False)
    return path


def test_block_kit_payload_has_fallback_and_sections(tiny):
    payload = report_payload(build_report(tiny, WEEK))
    assert payload["text"].startswith("AI USAGE REPORT  2026-11-14 .. 2026-11-20")
    assert "Cost: $3.50" in payload["text"]
    assert "UNPRICED: 2 requests of google/gemini-3-pro-preview" in payload["text"]
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds[0] == "header" and kinds[-1] == "context" and len(kinds) <= 50
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert any(t.startswith("*By team*\n• legal: *$2.00*, 4 requests") for t in texts)
    assert all(len(t) <= 3000 for t in texts)


def test_post_retries_429_and_5xx_then_succeeds():
    script = [(429, {"Retry-After": "0"}), (503, {}), (500, {})]
    sleeps = []
    with RecordingWebhook(script) as hook:
        attempts = post_slack({"text": "hi"}, hook.url, backoff_seconds=0.01, sleep=sleeps.append)
        assert attempts == 4
        assert [p["text"] for p in hook.payloads()] == ["hi"] * 4
        assert hook.requests[0]["headers"]["Content-Type"] == "application/json"
    assert sleeps == [0.0, 0.02, 0.04]  # Retry-After honoured, then exponential back-off


def test_post_gives_up_without_leaking_the_url():
    with RecordingWebhook([(503, {})] * 3) as hook:
        with pytest.raises(SlackDeliveryError) as error:
            post_slack({"text": "x"}, hook.url, attempts=3, sleep=lambda s: None)
        assert "after 3 attempts" in str(error.value) and "secret-part" not in str(error.value)
    with RecordingWebhook([(400, {})]) as hook:
        with pytest.raises(SlackDeliveryError, match="refused"):
            post_slack({"text": "x"}, hook.url, sleep=lambda s: None)
        assert len(hook.requests) == 1  # a 4xx other than 429 is not retried


def test_send_report_posts_to_slack_and_never_prints_the_url(tiny, monkeypatch):
    with RecordingWebhook() as hook:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
        result = CliRunner().invoke(main, ["send-report", "--end-date", "2026-11-20"])
        assert result.exit_code == 0, result.output
        assert "secret-part" not in result.output
        (payload,) = hook.payloads()
    assert "Cost: $3.50" in payload["text"] and payload["blocks"][0]["type"] == "header"


def test_send_report_by_email_to_local_smtp_server(tiny, monkeypatch):
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append(envelope)
            return "250 OK"

    handler = Handler()
    with socket.socket() as probe:  # a free port (aiosmtpd cannot start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("AIUSAGE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("AIUSAGE_SMTP_PORT", str(port))
        monkeypatch.setenv("AIUSAGE_SMTP_STARTTLS", "false")
        monkeypatch.setenv("AIUSAGE_SMTP_FROM", "aiusage@example.test")
        monkeypatch.setenv("AIUSAGE_SMTP_TO", "lead@example.test, finance@example.test")
        result = CliRunner().invoke(
            main, ["send-report", "--to", "email", "--end-date", "2026-11-20"]
        )
        assert result.exit_code == 0, result.output
    finally:
        controller.stop()
    (envelope,) = handler.messages
    assert envelope.rcpt_tos == ["lead@example.test", "finance@example.test"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"].startswith("AI USAGE REPORT  2026-11-14 .. 2026-11-20")
    body = message.get_body(("plain",)).get_content()
    assert "Cost:              $3.50" in body and "BY TEAM" in body


def test_send_report_without_channels_explains(tiny):
    result = CliRunner().invoke(main, ["send-report"])
    assert result.exit_code != 0 and "SLACK_WEBHOOK_URL" in result.output


# --- alerts ---------------------------------------------------------------------------------


def _alert(key, severity="warning", scope_id="search"):
    return {
        "alert_key": key,
        "alert_type": "budget",
        "scope": "team",
        "scope_id": scope_id,
        "severity": severity,
        "measured_value": 0.9,
        "threshold": 0.85,
        "as_of_date": "2026-11-20",
        "message": f"{scope_id} used 90% of its budget",
    }


def _write_alerts(path, alerts):
    with duckdb.connect(str(path)) as con:
        con.execute(
            """create or replace table rpt_alerts (alert_key varchar, alert_type varchar,
               scope varchar, scope_id varchar, severity varchar, measured_value double,
               threshold double, as_of_date date, message varchar)"""
        )
        for a in alerts:
            con.execute(
                "insert into rpt_alerts values (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(a.values())
            )


def test_alert_state_machine_sends_once_until_cleared_or_escalated(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    state = connect_state(tmp_path / "state.sqlite")
    sent = []

    def sender(alerts, escalated):
        sent.append(sorted((a["alert_key"], a["alert_key"] in escalated) for a in alerts))

    def refresh(alerts):
        _write_alerts(warehouse, alerts)
        return deliver_alerts(read_alerts(warehouse), state, {"test": sender})

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
    assert row["is_active"] == 1 and row["send_count"] == 2


def test_failed_delivery_keeps_the_alert_pending(tmp_path):
    state = connect_state(tmp_path / "state.sqlite")

    def broken(alerts, escalated):
        raise RuntimeError("smtp down")

    result = deliver_alerts([_alert("a")], state, {"email": broken})
    assert result.failures == ["email: smtp down"] and result.sent == []
    assert state.execute("select count(*) from alert_state").fetchone()[0] == 0
    new, _, _, _ = plan([_alert("a")], state.execute("select * from alert_state").fetchall())
    assert [a["alert_key"] for a in new] == ["a"]


def test_send_alerts_command_posts_new_alerts_to_slack(tmp_path, monkeypatch):
    warehouse = tmp_path / "wh.duckdb"
    _write_alerts(warehouse, [_alert("budget:search", "critical")])
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(warehouse))
    monkeypatch.delenv("AIUSAGE_SMTP_HOST", raising=False)
    with RecordingWebhook() as hook:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
        first = CliRunner().invoke(main, ["send-alerts"])
        second = CliRunner().invoke(main, ["send-alerts"])
        payloads = hook.payloads()
    assert first.exit_code == 0 and "1 new" in first.output, first.output
    assert second.exit_code == 0 and "1 already sent" in second.output
    assert len(payloads) == 1 and "[critical] budget team search" in payloads[0]["text"]
    state = sqlite3.connect(tmp_path / "delivery_state.sqlite")
    assert state.execute("select count(*) from alert_history").fetchone()[0] == 1


def test_rpt_alerts_with_unknown_severity_is_refused(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    _write_alerts(warehouse, [_alert("x", "info")])
    with pytest.raises(ValueError, match="expected 'warning' or 'critical'"):
        read_alerts(warehouse)


def test_refresh_hook_delivers_only_when_alerts_and_a_channel_exist(tmp_path, monkeypatch):
    from orchestration.delivery.alerts import deliver_after_refresh
    from orchestration.settings import Settings

    warehouse = build_tiny_warehouse(tmp_path / "wh.duckdb")
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(warehouse))
    monkeypatch.delenv("AIUSAGE_SMTP_HOST", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    settings = Settings.from_env()
    assert deliver_after_refresh(settings) is None  # no channel
    with RecordingWebhook([(400, {})]) as hook:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
        assert deliver_after_refresh(settings) is None  # no rpt_alerts yet
        _write_alerts(warehouse, [_alert("a")])
        failed = deliver_after_refresh(settings)
        first = deliver_after_refresh(settings)
        second = deliver_after_refresh(settings)
    assert "delivery failed" in failed and "secret-part" not in failed
    assert first.startswith("Alerts: 1 new") and second.startswith("Alerts: 0 new")
