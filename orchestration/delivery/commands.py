"""Delivery commands, added to `aiusage` in orchestration/cli.py: send-report, send-alerts,
tokens, serve, dashboard."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from orchestration.publish import reader_duckdb_path
from orchestration.settings import Settings

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _today():
    return datetime.now(UTC).date()


@click.command("send-report")
@click.option("--last-days", type=click.IntRange(1, 366), default=7, show_default=True)
@click.option("--end-date", type=_DATE, default=None, help="Last day (default: today, UTC).")
@click.option("--team", default=None, help="Only this team.")
@click.option("--client", default=None, help="Only this client.")
@click.option(
    "--to",
    "channels",
    type=click.Choice(["slack", "email"]),
    multiple=True,
    help="Channels (default: every configured one: SLACK_WEBHOOK_URL, AIUSAGE_SMTP_HOST).",
)
def send_report(last_days, end_date, team, client, channels) -> None:
    """Send the usage report to Slack (Block Kit) and/or by e-mail."""
    from orchestration.delivery.email import EmailDeliveryError, SmtpSettings, send_email
    from orchestration.delivery.report import ReportWindow, build_report, render_text, title
    from orchestration.delivery.slack import SlackDeliveryError, post_slack, report_payload

    settings = Settings.from_env()
    try:
        smtp = SmtpSettings.from_env()
    except EmailDeliveryError as error:
        raise click.ClickException(str(error)) from error
    configured = {"slack": bool(os.environ.get("SLACK_WEBHOOK_URL")), "email": smtp is not None}
    wanted = list(channels) or [name for name, ok in configured.items() if ok]
    if not wanted:
        raise click.ClickException(
            "no delivery channel configured: set SLACK_WEBHOOK_URL and/or AIUSAGE_SMTP_HOST "
            "(with AIUSAGE_SMTP_FROM and AIUSAGE_SMTP_TO)"
        )
    for name in wanted:
        if not configured[name]:
            raise click.ClickException(f"--to {name}: that channel is not configured")
    try:
        window = ReportWindow.last_days(last_days, end_date.date() if end_date else _today())
        report = build_report(
            reader_duckdb_path(settings), window, {"team": team, "client": client}
        )
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    failed = []
    if "slack" in wanted:
        try:
            attempts = post_slack(report_payload(report))
            click.echo(f"Report posted to Slack ({attempts} attempt(s)).")
        except SlackDeliveryError as error:
            failed.append(f"Slack: {error}")
    if "email" in wanted:
        try:
            send_email(smtp, title(report), render_text(report))
            click.echo(f"Report e-mailed to {len(smtp.recipients)} recipient(s).")
        except EmailDeliveryError as error:
            failed.append(f"e-mail: {error}")
    if failed:
        raise click.ClickException("; ".join(failed))


@click.command("send-alerts")
def send_alerts() -> None:
    """Send the alerts of rpt_alerts not sent yet (new, or escalated) to Slack / e-mail."""
    from orchestration.delivery.alerts import (
        AlertsUnavailable,
        configured_senders,
        deliver_alerts,
        read_alerts,
    )
    from orchestration.delivery.email import EmailDeliveryError
    from orchestration.delivery.state import connect_state, state_path

    settings = Settings.from_env()
    try:
        current = read_alerts(reader_duckdb_path(settings))
        senders = configured_senders()
    except (FileNotFoundError, AlertsUnavailable, EmailDeliveryError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if not senders:
        raise click.ClickException(
            "no alert channel configured (SLACK_WEBHOOK_URL, AIUSAGE_SMTP_*)"
        )
    con = connect_state(state_path(settings))
    try:
        result = deliver_alerts(current, con, senders)
    finally:
        con.close()
    click.echo(
        f"Alerts: {len(result.new)} new, {len(result.escalated)} escalated, "
        f"{len(result.unchanged)} already sent, {len(result.cleared)} cleared"
        + (f"; sent via {', '.join(result.channels)}" if result.channels else "")
    )
    if result.failures:
        raise click.ClickException("delivery failed: " + "; ".join(result.failures))


@click.group("tokens")
def tokens() -> None:
    """API tokens (stored hashed in the delivery state file)."""


@tokens.command("create")
@click.option("--team", default=None, help="The team the token may read.")
@click.option("--admin", is_flag=True, help="A token that reads every team.")
@click.option("--label", default=None, help="A note (who holds the token).")
def tokens_create(team, admin, label) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    from orchestration.api.tokens import create_token
    from orchestration.delivery.state import connect_state, state_path

    con = connect_state(state_path())
    try:
        token = create_token(con, team=team, is_admin=admin, label=label)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    finally:
        con.close()
    click.echo(token)
    click.echo(
        "Store it now: only its hash is kept. Use it as 'Authorization: Bearer <token>'.",
        err=True,
    )


@tokens.command("list")
def tokens_list() -> None:
    """List tokens (ids and teams, never secrets)."""
    from orchestration.api.tokens import list_tokens
    from orchestration.delivery.state import connect_state, state_path

    con = connect_state(state_path())
    try:
        for row in list_tokens(con):
            scope = "admin" if row["is_admin"] else f"team {row['team']}"
            state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
            click.echo(f"{row['token_id']}  {scope:<30} {state:<30} {row['label'] or ''}")
    finally:
        con.close()


@tokens.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id) -> None:
    """Revoke a token by its id."""
    from orchestration.api.tokens import revoke_token
    from orchestration.delivery.state import connect_state, state_path

    con = connect_state(state_path())
    try:
        if not revoke_token(con, token_id):
            raise click.ClickException(f"no active token {token_id}")
    finally:
        con.close()
    click.echo(f"Token {token_id} revoked.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8321, show_default=True)
@click.option(
    "--rate-limit",
    type=click.IntRange(1),
    default=None,
    help="Requests per minute per token (default: AIUSAGE_API_RATE_LIMIT or 120).",
)
def serve(host, port, rate_limit) -> None:
    """Start the read-only team API and dashboard (http://HOST:PORT/)."""
    import uvicorn

    from orchestration.api.app import create_app
    from orchestration.delivery.state import state_path

    settings = Settings.from_env()
    try:
        limit = rate_limit or int(os.environ.get("AIUSAGE_API_RATE_LIMIT") or 120)
    except ValueError as error:
        raise click.ClickException(
            "AIUSAGE_API_RATE_LIMIT must be a whole number of requests per minute"
        ) from error
    if limit < 1:
        raise click.ClickException("AIUSAGE_API_RATE_LIMIT must be at least 1")
    app = create_app(
        lambda: reader_duckdb_path(settings),
        state_path(settings),
        rate_limit_per_minute=limit,
        # a published snapshot never changes: keep it open; the build file is the builder's
        hold_open=lambda path: path != settings.duckdb_path,
    )
    click.echo(f"aiusage API on http://{host}:{port}/ (OpenAPI: /openapi.json)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


@click.command("dashboard")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--last-days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--end-date", type=_DATE, default=None, help="Last day (default: latest data).")
@click.option("--team", default=None, help="Only this team.")
def dashboard(output, last_days, end_date, team) -> None:
    """Export the dashboard as one static HTML file (data embedded, no network needed)."""
    from orchestration.dashboard.data import dashboard_data
    from orchestration.dashboard.render import render_page
    from orchestration.delivery.report import ReportQuery, ReportWindow, connect_readonly

    settings = Settings.from_env()
    try:
        with connect_readonly(reader_duckdb_path(settings)) as con:
            end = end_date.date() if end_date else None
            if end is None:
                (end,) = con.execute("select max(usage_date) from fct_daily_usage").fetchone()
                end = end or _today()
            window = ReportWindow.last_days(last_days, end)
            data = dashboard_data(con, ReportQuery(window, {"team": team} if team else {}))
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    output.write_text(render_page(data), encoding="utf-8")
    click.echo(f"Dashboard written to {output}")
