"""Report delivery: `aiusage send-report` to a real local Slack webhook and SMTP server, and
the weekly report's week and due state."""

from __future__ import annotations

import os
from datetime import date

import pytest
from click.testing import CliRunner

from aiusage.cli import main
from aiusage.delivery.reports import weekly_report, weekly_window
from aiusage.reporting.period import ReportWindow
from aiusage.settings import Settings
from tests.support.contract_warehouse import small_warehouse
from tests.support.servers import RecordingSmtp, RecordingWebhook


@pytest.fixture
def small(tmp_path, monkeypatch):
    path = small_warehouse(tmp_path / "small.duckdb")
    monkeypatch.setenv("AIUSAGE_DUCKDB_PATH", str(path))
    monkeypatch.setenv("AIUSAGE_DELIVERY_STATE_PATH", str(tmp_path / "state.sqlite"))
    monkeypatch.setenv("AIUSAGE_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    for var in ("HOST", "PORT", "FROM", "TO", "USER", "PASSWORD", "STARTTLS", "SSL"):
        monkeypatch.delenv(f"AIUSAGE_SMTP_{var}", raising=False)
    return path


def test_send_report_posts_to_slack_and_never_prints_the_url(small):
    with RecordingWebhook() as hook:
        env = {"SLACK_WEBHOOK_URL": hook.url}
        result = CliRunner().invoke(main, ["send-report", "--end-date", "2026-11-20"], env=env)
        assert result.exit_code == 0, result.output
        assert "secret-part" not in result.output
        (payload,) = hook.payloads()
    assert "Cost: $3.50" in payload["text"] and payload["blocks"][0]["type"] == "header"


def test_send_report_by_email_to_a_local_smtp_server(small):
    with RecordingSmtp() as smtp:
        args = ["send-report", "--to", "email", "--end-date", "2026-11-20"]
        result = CliRunner().invoke(main, args, env=smtp.env())
        assert result.exit_code == 0, result.output
        (envelope,), (message,) = smtp.messages, smtp.parsed()
    assert envelope.rcpt_tos == ["lead@example.test", "finance@example.test"]
    assert message["Subject"].startswith("AI USAGE REPORT  2026-11-14 .. 2026-11-20")
    body = message.get_body(("plain",)).get_content()
    assert "Cost:              $3.50" in body and "BY TEAM" in body


def test_send_report_without_channels_explains(small):
    result = CliRunner().invoke(main, ["send-report"])
    assert result.exit_code != 0 and "SLACK_WEBHOOK_URL" in result.output
    result = CliRunner().invoke(
        main, ["send-report", "--to", "email"], env={"SLACK_WEBHOOK_URL": "https://x"}
    )
    assert result.exit_code != 0 and "--to email: that channel is not configured" in result.output


def test_the_weekly_report_covers_the_last_full_week():
    assert weekly_window(date(2026, 11, 23)) == ReportWindow(date(2026, 11, 16), date(2026, 11, 22))
    assert weekly_window(date(2026, 11, 29)) == ReportWindow(date(2026, 11, 16), date(2026, 11, 22))
    assert weekly_window(date(2026, 11, 30)) == ReportWindow(date(2026, 11, 23), date(2026, 11, 29))


def test_the_weekly_report_is_sent_once_per_week(small):
    today = date(2026, 11, 21)  # a Saturday: the week before is 2026-11-09 .. 2026-11-15
    with RecordingWebhook() as hook:
        settings = Settings.from_env({**os.environ, "SLACK_WEBHOOK_URL": hook.url})
        first = weekly_report(settings, small, today)
        again = weekly_report(settings, small, date(2026, 11, 22))
        next_week = weekly_report(settings, small, date(2026, 11, 23))
        payloads = hook.payloads()
    assert first.due and first.delivery.sent and not again.due and again.delivery is None
    assert next_week.due and next_week.window.end == date(2026, 11, 22)
    assert [p["text"].splitlines()[0] for p in payloads] == [
        "AI USAGE REPORT  2026-11-09 .. 2026-11-15 (7 days)",
        "AI USAGE REPORT  2026-11-16 .. 2026-11-22 (7 days)",
    ]
    assert first.files[0].read_text().startswith("=" * 72)
    assert first.files[1].name == "2026-11-15.json"
