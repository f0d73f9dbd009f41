"""Slack: the webhook poster against a real local HTTP server, and the Block Kit payloads."""

from __future__ import annotations

from datetime import date

import pytest

from aiusage.delivery.slack import (
    SlackError,
    alerts_payload,
    failure_payload,
    post_slack,
    report_payload,
)
from aiusage.reporting.build import build_report
from aiusage.reporting.period import ReportWindow
from tests.support.contract_warehouse import small_warehouse
from tests.support.servers import RecordingWebhook

WEEK = ReportWindow(date(2026, 11, 14), date(2026, 11, 20))


def test_post_sends_the_payload_as_json():
    with RecordingWebhook() as hook:
        assert post_slack({"text": "hello"}, hook.url) == 1
        assert hook.payloads() == [{"text": "hello"}]
        assert hook.requests[0]["headers"]["Content-Type"] == "application/json"


def test_post_retries_429_and_5xx_then_succeeds():
    script = [(429, {"Retry-After": "0"}), (503, {}), (500, {})]
    sleeps = []
    with RecordingWebhook(script) as hook:
        attempts = post_slack({"text": "hi"}, hook.url, backoff_seconds=0.01, sleep=sleeps.append)
        assert attempts == 4
        assert [p["text"] for p in hook.payloads()] == ["hi"] * 4
    assert sleeps == [0.0, 0.02, 0.04]  # Retry-After honoured, then exponential back-off


def test_post_gives_up_without_leaking_the_url(caplog):
    with RecordingWebhook([(503, {})] * 3) as hook:
        with pytest.raises(SlackError) as error:
            post_slack({"text": "x"}, hook.url, attempts=3, sleep=lambda s: None)
        assert "after 3 attempts" in str(error.value) and "secret-part" not in str(error.value)
    assert "secret-part" not in caplog.text
    with RecordingWebhook([(400, {})]) as hook:
        with pytest.raises(SlackError, match="refused"):
            post_slack({"text": "x"}, hook.url, sleep=lambda s: None)
        assert len(hook.requests) == 1  # a 4xx other than 429 is not retried


def test_post_without_a_webhook_does_nothing():
    assert post_slack({"text": "x"}, None) == 0


def test_report_payload_has_a_fallback_and_sections(tmp_path):
    payload = report_payload(build_report(small_warehouse(tmp_path / "w.duckdb"), WEEK))
    assert payload["text"].startswith("AI USAGE REPORT  2026-11-14 .. 2026-11-20")
    assert "Cost: $3.50" in payload["text"]
    assert "UNPRICED: 2 requests of google/gemini-3-pro-preview" in payload["text"]
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds[0] == "header" and kinds[-1] == "context" and len(kinds) <= 50
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert any(t.startswith("*By team*\n• legal: *$2.00*, 4 requests") for t in texts)
    assert all(len(t) <= 3000 for t in texts)


def test_alerts_payload_names_scope_and_escalation():
    alert = {
        "alert_key": "k",
        "alert_type": "budget_forecast",
        "scope_type": "team",
        "scope_id": "search <x>",
        "severity": "critical",
        "as_of_date": date(2026, 11, 20),
        "message": "forecast 111% of the limit",
    }
    payload = alerts_payload([alert], escalated={"k"})
    assert "[critical] budget_forecast team search <x>" in payload["text"]
    (section,) = [b for b in payload["blocks"] if b["type"] == "section"]
    assert "*ESCALATED critical* budget_forecast (team search &lt;x&gt;" in section["text"]["text"]


def test_failure_payload_lists_the_first_line_of_each_step():
    steps = [(f"step_{i}", f"boom {i}\ntraceback") for i in range(12)]
    text = failure_payload("refresh_warehouse", "run1", steps)["text"]
    assert "job `refresh_warehouse`, run `run1`" in text and "`step_0`: boom 0" in text
    assert "traceback" not in text and "… and 2 more failed steps" in text
