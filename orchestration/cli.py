"""`aiusage` command line: generate, build, report, demo.

The CLI runs the same Dagster job as the schedule, in-process, so a command-line run and a
scheduled run are one code path.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from orchestration.settings import Settings


def _today() -> date:
    return datetime.now(UTC).date()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """AI usage analytics warehouse."""


@main.command()
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--events-per-day", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last landing day (default: today, UTC).",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def generate(days, events_per_day, seed, end_date, no_progress) -> None:
    """Write realistic sample usage events into the landing folder."""
    from orchestration.generate import generate as run_generate

    settings = Settings.from_env()
    summary = run_generate(
        settings.landing_dir,
        days=days,
        events_per_day=events_per_day,
        seed=seed,
        end_date=end_date.date() if end_date else _today(),
        progress=not no_progress,
    )
    click.echo(
        f"Generated {summary.events_written:,} events in {summary.files_written} files "
        f"({summary.start_date} .. {summary.end_date}) under {settings.landing_dir / 'events'}"
    )


def run_refresh(settings: Settings, options=None, log_level: str | None = None):
    """Run the refresh_warehouse job in-process; returns the Dagster execution result.

    `options` (orchestration.resources.RefreshOptions) sets a backfill range or a full
    refresh, as the launchpad does through the warehouse resource's run config; `log_level`
    the level of the console log (e.g. CRITICAL: no step logs, no stack traces).
    """
    from orchestration.project import ensure_manifest

    settings.apply_to_environ()
    ensure_manifest(settings)
    from orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    job = defs.resolve_job_def("refresh_warehouse")
    run_config = options.run_config() if options is not None else {}
    if log_level:
        run_config = {**run_config, "loggers": {"console": {"config": {"log_level": log_level}}}}
    return job.execute_in_process(run_config=run_config, raise_on_error=False)


def explain_failure(result) -> str:
    """One readable paragraph per failed step or failed blocking check."""
    import dagster as dg

    messages = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            text = error.message.strip() if error else "unknown error"
            messages.append(f"step {event.step_key} failed: {text}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            if not data.passed:
                key = data.asset_key.to_user_string()
                description = data.description or ""
                messages.append(f"check {data.check_name} on {key} failed. {description}".strip())
    return "\n".join(messages) or "the run failed (see the Dagster logs above)"


@main.command()
@click.option("--quiet", is_flag=True, help="Only print the outcome.")
@click.option(
    "--start-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Backfill: re-process the landing days from this day on.",
)
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Backfill: last landing day of the range (needs --start-date).",
)
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from all files.")
def build(quiet, start_date=None, end_date=None, full_refresh=False) -> None:
    """Refresh the warehouse: landing inventory, expectations, dbt build, checks, publish."""
    from orchestration.resources import RefreshOptions

    settings = Settings.from_env()
    try:
        options = RefreshOptions(
            backfill_start=start_date.date() if start_date else None,
            backfill_end=end_date.date() if end_date else None,
            full_refresh=full_refresh,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    from orchestration.failures import diagnose, preflight

    preflight(settings)  # a missing seed or unreadable landing folder: one line, no run
    if quiet:  # only the outcome: no step logs, no dbt output (dagster-dbt writes to stdout)
        import contextlib
        import logging
        import os

        logging.getLogger("dagster").setLevel(logging.WARNING)
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            result = run_refresh(settings, options, log_level="CRITICAL")
    else:
        result = run_refresh(settings, options)
    if not result.success or _failed_checks(result):
        explanation = explain_failure(result)
        diagnosis = diagnose(explanation, settings)
        if diagnosis:
            click.echo(f"Refresh FAILED: {diagnosis}", err=True)
        else:
            click.echo("Refresh FAILED:\n" + explanation, err=True)
        sys.exit(1)
    click.echo(f"Refresh succeeded. Warehouse: {settings.duckdb_path}")
    try:
        from orchestration.publish import published_duckdb_path

        click.echo(f"Published snapshot: {published_duckdb_path(settings)}")
    except FileNotFoundError:
        pass
    from orchestration.delivery.alerts import deliver_after_refresh

    alerts_line = deliver_after_refresh(settings)
    if alerts_line:
        click.echo(alerts_line)


def _failed_checks(result) -> list:
    import dagster as dg

    return [
        e
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and not e.event_specific_data.passed
    ]


def _report_source(settings: Settings) -> Path:
    """The published snapshot when there is one (readers never touch the build file)."""
    from orchestration.publish import reader_duckdb_path

    return reader_duckdb_path(settings)


@main.command()
@click.option("--last-days", type=click.IntRange(1, 366), default=7, show_default=True)
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last day of the period (default: today).",
)
@click.option(
    "--start-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day of the period (with --end-date, replaces --last-days).",
)
@click.option("--client", default=None, help="Only this client.")
@click.option("--team", default=None, help="Only this team.")
@click.option("--user", default=None, help="Only this user id.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "csv"]),
    default="text",
    show_default=True,
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--currency",
    default="USD",
    show_default=True,
    help="Show money in this currency (seeds/fx_rates.csv, rate valid at the period end).",
)
def report(
    last_days,
    end_date,
    fmt,
    output,
    currency="USD",
    start_date=None,
    client=None,
    team=None,
    user=None,
):
    """Print the usage report for a period, read from the marts."""
    from orchestration.delivery.report import RENDERERS, build_report, report_window

    settings = Settings.from_env()
    try:
        window = report_window(last_days, start_date, end_date, _today())
        data = build_report(
            _report_source(settings),
            window,
            {"client": client, "team": team, "user": user},
            currency=currency,
        )
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    text = RENDERERS[fmt](data)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Report written to {output}")
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--events-per-day", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.pass_context
def demo(ctx, days, events_per_day, seed) -> None:
    """The main job end to end: generate sample data, build the warehouse, print the report."""
    settings = Settings.from_env()
    ctx.invoke(generate, days=days, events_per_day=events_per_day, seed=seed)
    ctx.invoke(build, quiet=True)
    ctx.invoke(report, last_days=7)
    click.echo(f"\nWarehouse file: {settings.duckdb_path}")
    click.echo("Explore: duckdb -readonly " + str(settings.duckdb_path))


from orchestration.pricing import pricing  # noqa: E402

main.add_command(pricing)
from orchestration.ingest import ingest_command  # noqa: E402

main.add_command(ingest_command)

from orchestration.delivery import commands as delivery_commands  # noqa: E402

main.add_command(delivery_commands.send_report)
main.add_command(delivery_commands.send_alerts)
main.add_command(delivery_commands.tokens)
main.add_command(delivery_commands.serve)
main.add_command(delivery_commands.dashboard)


@click.command()
@click.option("--no-docs", is_flag=True, help="Do not update the Data Docs site.")
def validate(no_docs) -> None:
    """Run every Great Expectations suite: prices, the landed batch, fct_llm_requests, marts."""
    from orchestration.validate import run_all_suites

    settings = Settings.from_env()
    outcomes = run_all_suites(settings, build_docs=not no_docs)
    failed = 0
    for name, result in outcomes:
        if isinstance(result, str):
            click.echo(f"SKIPPED {name}: {result}")
            continue
        click.echo(("PASSED " if result.success else "FAILED ") + result.summary())
        failed += not result.success
    if not no_docs:
        click.echo(f"Data Docs: {settings.gx_docs_dir / 'index.html'}")
    if failed:
        sys.exit(1)


main.add_command(validate)


if __name__ == "__main__":
    main()
