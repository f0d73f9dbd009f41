"""Commands that read the published marts for people: send-report, send-alerts, tokens, serve,
dashboard."""

from __future__ import annotations

from pathlib import Path

import click

from aiusage.cli import DATE, load_settings


@click.command("send-report")
@click.option("--last-days", type=click.IntRange(1, 366), default=7, show_default=True)
@click.option("--end-date", type=DATE, default=None, help="Last day (default: latest data).")
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
    """Send the usage report to Slack (Block Kit) and/or by e-mail (the payload the weekly
    report of a refresh sends for the same period)."""
    from aiusage.delivery.reports import ReportDeliveryError
    from aiusage.delivery.reports import send_report as send
    from aiusage.reporting.period import ReportWindow
    from aiusage.reporting.usage import period_end_of
    from aiusage.snapshot import reader_duckdb_path

    settings = load_settings()
    try:
        path = reader_duckdb_path(settings)
        end = period_end_of(path, end_date.date() if end_date else None)
        window = ReportWindow.last_days(last_days, end)
        delivery = send(
            settings,
            path,
            window,
            {"team": team, "client": client},
            list(channels) or None,
        )
    except (FileNotFoundError, ValueError, ReportDeliveryError) as error:
        raise click.ClickException(str(error)) from error
    for what in delivery.sent.values():
        click.echo(f"Report {what}.")
    if delivery.failures:
        raise click.ClickException("; ".join(delivery.failures))


@click.command("send-alerts")
def send_alerts() -> None:
    """Send the alerts of rpt_alerts not sent yet (new, or escalated) to Slack / e-mail
    (what every refresh does after it publishes)."""
    from aiusage.delivery.alerts import AlertsUnavailable, deliver, read_alerts, summary_line
    from aiusage.snapshot import reader_duckdb_path

    settings = load_settings()
    try:
        path = reader_duckdb_path(settings)
        read_alerts(path)  # a missing warehouse or mart is an error here, not a silent no-op
    except (FileNotFoundError, AlertsUnavailable, ValueError) as error:
        raise click.ClickException(str(error)) from error
    result = deliver(settings, path)
    if result is None:
        raise click.ClickException(
            "no alert channel configured (SLACK_WEBHOOK_URL, AIUSAGE_SMTP_*)"
        )
    click.echo(summary_line(result))
    if result.failures:
        raise click.ClickException("delivery failed: " + "; ".join(result.failures))


@click.group("tokens")
def tokens() -> None:
    """API tokens (stored hashed in the delivery state file)."""


def _state():
    from aiusage.delivery.state import connect_state

    return connect_state(load_settings().delivery_state_path)


@tokens.command("create")
@click.option("--team", default=None, help="The team the token may read.")
@click.option("--admin", is_flag=True, help="A token that reads every team.")
@click.option("--label", default=None, help="A note (who holds the token).")
def tokens_create(team, admin, label) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    from aiusage.api.tokens import create_token

    con = _state()
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
    from aiusage.api.tokens import list_tokens

    con = _state()
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
    from aiusage.api.tokens import revoke_token

    con = _state()
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

    from aiusage.api.app import create_app
    from aiusage.snapshot import reader_duckdb_path

    settings = load_settings()
    app = create_app(
        lambda: reader_duckdb_path(settings),
        settings.delivery_state_path,
        rate_limit_per_minute=rate_limit or settings.api_rate_limit,
        # a published snapshot never changes: keep it open; the build file is the builder's
        hold_open=lambda path: path != settings.duckdb_path,
    )
    click.echo(f"aiusage API on http://{host}:{port}/ (OpenAPI: /openapi.json)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


@click.command("dashboard")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--last-days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--end-date", type=DATE, default=None, help="Last day (default: latest data).")
@click.option("--team", default=None, help="Only this team.")
def dashboard(output, last_days, end_date, team) -> None:
    """Export the dashboard as one static HTML file (data embedded, no network needed)."""
    from aiusage.dashboard.data import dashboard_data
    from aiusage.dashboard.render import render_page
    from aiusage.reporting.period import ReportQuery, ReportWindow
    from aiusage.reporting.usage import period_end
    from aiusage.snapshot import reader_duckdb_path
    from aiusage.warehouse import connect_readonly

    settings = load_settings()
    try:
        with connect_readonly(reader_duckdb_path(settings)) as con:
            end = period_end(con, end_date.date() if end_date else None)
            window = ReportWindow.last_days(last_days, end)
            data = dashboard_data(con, ReportQuery(window, {"team": team} if team else {}))
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    output.write_text(render_page(data), encoding="utf-8")
    click.echo(f"Dashboard written to {output}")
