"""One code path: a refresh run by Dagster (the job refresh_warehouse, executed in-process as
the schedule, the sensor and the UI run it) and `aiusage build` (a real command-line process)
deliver the same alerts of rpt_alerts, the rows dbt built, to a local Slack webhook and a
local SMTP server, and the same weekly report as `aiusage send-report` for that week."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from aiusage.cli import main
from aiusage.delivery.alerts import deliver
from aiusage.delivery.reports import today_in, weekly_window
from aiusage.delivery.state import connect_state
from aiusage.settings import Settings
from aiusage.snapshot import published_duckdb_path
from tests.support.servers import RecordingSmtp, RecordingWebhook

pytestmark = pytest.mark.slow

AIUSAGE = str(Path(sys.executable).with_name("aiusage"))


def _rpt_alerts(env) -> list[tuple]:
    """rpt_alerts as dbt built it, read independently of the delivery code."""
    with duckdb.connect(env["AIUSAGE_DUCKDB_PATH"], read_only=True) as con:
        return con.execute(
            "select alert_key, severity, message from rpt_alerts order by alert_key"
        ).fetchall()


def _delivered(env) -> list[tuple]:
    state = connect_state(Path(env["AIUSAGE_DELIVERY_STATE_PATH"]))
    try:
        rows = state.execute(
            "select alert_key, severity, message, channels from alert_history "
            "where event = 'sent' order by alert_key"
        ).fetchall()
    finally:
        state.close()
    return [tuple(r) for r in rows]


def _by_path(delivered: list[tuple]) -> list[tuple]:
    return [row[:3] for row in delivered]


def _base_env() -> dict[str, str]:
    """This process's environment without any delivery channel."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIUSAGE_SMTP_") and k != "SLACK_WEBHOOK_URL"
    }


def _mail(smtp: RecordingSmtp) -> list[tuple[str, str]]:
    return [(m["Subject"], m.get_body(("plain",)).get_content()) for m in smtp.parsed()]


def test_dagster_and_the_command_line_deliver_the_same_alerts_and_report(
    sample_copy, tmp_path, monkeypatch
):
    from orchestration.run import outcome, run_refresh

    # --- the Dagster job, in this process, on one copy of the built warehouse
    dagster_env = dict(sample_copy)
    with RecordingWebhook() as hook, RecordingSmtp() as smtp:
        env = {**dagster_env, "SLACK_WEBHOOK_URL": hook.url, **smtp.env()}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings.from_env()
        result = run_refresh(settings, log_level="CRITICAL")
        done = outcome(result, settings)
        dagster_posts, dagster_mail = hook.payloads(), _mail(smtp)
    assert done.success, done.failure
    assert done.alerts.startswith(f"Alerts: {len(_rpt_alerts(dagster_env))} new")

    # --- `aiusage build`, a real process, on the same warehouse (the dbt project parsed
    # once) with a delivery state of its own: nothing sent yet, as on a fresh install
    cli_root = tmp_path / "cli"
    cli_root.mkdir()
    cli_env = dict(sample_copy)
    cli_env["AIUSAGE_DELIVERY_STATE_PATH"] = str(cli_root / "delivery_state.sqlite")
    cli_env["AIUSAGE_REPORTS_DIR"] = str(cli_root / "reports")
    with RecordingWebhook() as hook, RecordingSmtp() as smtp:
        env = {**_base_env(), **cli_env, "SLACK_WEBHOOK_URL": hook.url, **smtp.env()}
        completed = subprocess.run(
            [AIUSAGE, "build", "--quiet"], env=env, capture_output=True, text=True
        )
        cli_posts, cli_mail = hook.payloads(), _mail(smtp)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Alerts:" in completed.stdout and "secret-part" not in completed.stdout

    # --- the same rows of rpt_alerts, each sent once on both channels, by both paths
    built = _rpt_alerts(dagster_env)
    assert len(built) > 0
    assert _by_path(_delivered(dagster_env)) == built == _by_path(_delivered(cli_env))
    assert {row[3] for row in _delivered(dagster_env) + _delivered(cli_env)} == {"slack,email"}
    alert_posts = [p for p in dagster_posts if p["text"].startswith("aiusage: ")]
    assert alert_posts == [p for p in cli_posts if p["text"].startswith("aiusage: ")]
    (alert_post,) = alert_posts
    for _key, severity, message in built:
        assert f"[{severity}]" in alert_post["text"] and message in alert_post["text"]
    assert [m for m in dagster_mail if m[0].startswith("[aiusage]")] == [
        m for m in cli_mail if m[0].startswith("[aiusage]")
    ]

    # --- the weekly report: sent once by each path, the payload of `aiusage send-report`
    week = weekly_window(today_in("UTC"))
    report_posts = [p for p in dagster_posts if p["text"].startswith("AI USAGE REPORT")]
    assert report_posts == [p for p in cli_posts if p["text"].startswith("AI USAGE REPORT")]
    assert len(report_posts) == 1
    with RecordingWebhook() as hook:
        # CliRunner adds `env` to this process's environment: no e-mail channel here
        env = {**cli_env, "SLACK_WEBHOOK_URL": hook.url, "AIUSAGE_SMTP_HOST": None}
        args = ["send-report", "--last-days", "7", "--end-date", str(week.end)]
        sent = CliRunner().invoke(main, args, env=env)
        assert sent.exit_code == 0, sent.output
        assert hook.payloads() == report_posts

    # --- the next delivery (what the next refresh runs) sends nothing new
    with RecordingWebhook() as hook:
        settings = Settings.from_env({**_base_env(), **cli_env, "SLACK_WEBHOOK_URL": hook.url})
        again = deliver(settings, published_duckdb_path(settings))
        assert hook.payloads() == []
    assert again.new == [] and again.escalated == [] and len(again.unchanged) == len(built)
