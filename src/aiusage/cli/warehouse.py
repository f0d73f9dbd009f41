"""Commands that build and read the warehouse: generate, build, report, demo, validate."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from aiusage.cli import DATE, load_settings


def _today() -> date:
    return datetime.now(UTC).date()


@click.command()
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--events-per-day", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--end-date", type=DATE, default=None, help="Last landing day (default: today, UTC).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("--planted/--no-planted", default=True, show_default=True,
              help="Add the noise-free workflows with one planted cause each "
              "(docs/insights.md).")  # fmt: skip
def generate(days, events_per_day, seed, end_date, no_progress, planted=True) -> None:
    """Write realistic sample usage events into the landing folder."""
    from aiusage.sample import generate as run_generate

    settings = load_settings()
    summary = run_generate(
        settings.landing_dir,
        days=days,
        events_per_day=events_per_day,
        seed=seed,
        end_date=end_date.date() if end_date else _today(),
        progress=not no_progress,
        planted=planted,
    )
    click.echo(
        f"Generated {summary.events_written:,} events in {summary.files_written} files "
        f"({summary.start_date} .. {summary.end_date}) under {settings.landing_dir / 'events'}"
    )


@click.command()
@click.option("--quiet", is_flag=True, help="Only print the outcome.")
@click.option("--verbose", is_flag=True, help="Every Dagster and dbt log line (DEBUG).")
@click.option("--start-date", type=DATE, default=None,
              help="Backfill: re-process the landing days from this day on.")  # fmt: skip
@click.option("--end-date", type=DATE, default=None,
              help="Backfill: last landing day of the range (needs --start-date).")  # fmt: skip
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from all files.")
def build(quiet, verbose=False, start_date=None, end_date=None, full_refresh=False) -> None:
    """Refresh the warehouse: the Dagster job refresh_warehouse in this process (landing,
    expectations, dbt build with its tests, publish, alerts, weekly report when due)."""
    from aiusage.changes import plan
    from aiusage.refresh import RefreshOptions, preflight
    from aiusage.snapshot import published_duckdb_path

    settings = load_settings()
    try:
        options = RefreshOptions(
            backfill_start=start_date.date() if start_date else None,
            backfill_end=end_date.date() if end_date else None,
            full_refresh=full_refresh,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    preflight(settings)  # a missing seed or unreadable landing folder: one line, no run
    refresh_plan = plan(settings, options)  # what the schedule and the sensor ask too
    if refresh_plan.nothing_new:
        click.echo(f"{refresh_plan.reason}.")
        _deliver_due(settings)
        return
    from aiusage import dbtserver

    settings.apply_to_environ()
    if refresh_plan.runs_expectations:
        from aiusage.quality import worker

        # GX imports on another core (or, in a refresh of the refresh server, the worker is
        # forked with GX imported: before this process starts a thread)
        worker.start()
    if not options.full_refresh:
        from aiusage.snapshot import prepare_next_snapshot

        # the file publish starts from (an expired snapshot's, or a copy of the current
        # one's, under way while everything loads; the dbt step keeps it)
        prepare_next_snapshot(settings)
    dbtserver.start()  # dbt imports on the other core while Dagster loads
    if refresh_plan.runs_expectations:
        from orchestration.checks.expectations import prefetch_checks

        # the checks start in the worker once GX is imported, while Dagster starts the run
        prefetch_checks(settings, options, refresh_plan)
    from orchestration.run import outcome, run_refresh
    from orchestration.schedules import selection_for

    selection = selection_for(refresh_plan)
    if refresh_plan.seeds_only and not quiet:
        click.echo(f"Refreshing {refresh_plan.reason}.")
    if verbose:
        result = run_refresh(settings, options, selection=selection)
    elif quiet:
        # Nothing but the outcome: dagster-dbt writes dbt's lines to stdout, discarded here.
        logging.getLogger("dagster").setLevel(logging.CRITICAL)
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            result = run_refresh(settings, options, log_level="CRITICAL", selection=selection)
    else:
        # Step progress at INFO, and dbt's own line per model and test (START ... / OK ...),
        # which dagster-dbt writes to stdout as dbt runs.
        logging.getLogger("dagster").setLevel(logging.INFO)
        result = run_refresh(settings, options, log_level="INFO", selection=selection)
    done = outcome(result, settings)
    if not done.success:
        click.echo(f"Refresh FAILED: {done.failure}", err=True)
        sys.exit(1)
    click.echo(f"Refresh succeeded. Warehouse: {settings.duckdb_path}")
    with contextlib.suppress(FileNotFoundError):
        click.echo(f"Published snapshot: {published_duckdb_path(settings)}")
    for line in (done.alerts, done.weekly_report and f"Weekly report: {done.weekly_report}"):
        if line and not line.startswith("no alert channel"):
            click.echo(line)


@click.command("refresh-server")
@click.option("--socket", "socket_path", type=click.Path(dir_okay=False), default=None,
              help="Unix socket to listen on (default: AIUSAGE_REFRESH_SERVER).")  # fmt: skip
def refresh_server(socket_path) -> None:
    """Keep a warm process that runs each `aiusage build` whose AIUSAGE_REFRESH_SERVER names
    this socket (Dagster, dbt and Great Expectations imported once; aiusage.cli.refreshserver).
    Runs until SIGTERM or Ctrl-C."""
    from aiusage.cli.refreshserver import SOCKET_ENV, serve
    from aiusage.settings import process_environment

    path = socket_path or process_environment().get(SOCKET_ENV)
    if not path:
        raise click.UsageError(f"give --socket or set {SOCKET_ENV}")
    if len(os.fsencode(os.path.abspath(path))) > 100:
        raise click.UsageError(f"socket path too long for a Unix socket: {path}")
    serve(os.path.abspath(path))


def _deliver_due(settings) -> None:
    """A refresh with nothing new still delivers what is due, with the functions the
    delivery assets call: alerts a channel failed to take, the weekly report."""
    from aiusage.delivery.alerts import deliver, summary_line
    from aiusage.delivery.reports import weekly_report
    from aiusage.snapshot import published_duckdb_path

    published = published_duckdb_path(settings)
    result = deliver(settings, published)
    if result is not None and (result.sent or result.failures):
        click.echo(summary_line(result))
    weekly = weekly_report(settings, published)
    if weekly.delivery is not None:
        click.echo(f"Weekly report {weekly.window.start} .. {weekly.window.end}: {weekly.state()}")


@click.command()
@click.option("--last-days", type=click.IntRange(1, 366), default=7, show_default=True)
@click.option(
    "--end-date",
    type=DATE,
    default=None,
    help="Last day of the period (default: the last day with usage).",
)
@click.option("--start-date", type=DATE, default=None,
              help="First day of the period (with --end-date, replaces --last-days).")  # fmt: skip
@click.option("--client", default=None, help="Only this client.")
@click.option("--team", default=None, help="Only this team.")
@click.option("--user", default=None, help="Only this user id.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "csv"]),
              default="text", show_default=True)  # fmt: skip
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--currency", default="USD", show_default=True,
              help="Show money in this currency (seeds/fx_rates.csv, rate valid at the period "
              "end).")  # fmt: skip
def report(last_days, end_date, fmt, output, currency="USD", start_date=None, client=None,
           team=None, user=None):  # fmt: skip
    """Print the usage report for a period, read from the published marts."""
    from aiusage.reporting.build import build_report
    from aiusage.reporting.period import report_window
    from aiusage.reporting.render import RENDERERS
    from aiusage.reporting.usage import period_end_of
    from aiusage.snapshot import reader_duckdb_path

    settings = load_settings()
    try:
        path = reader_duckdb_path(settings)
        end = end_date.date() if end_date else None
        window = report_window(last_days, start_date, end, period_end_of(path, end))
        data = build_report(
            path,
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


@click.command()
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--events-per-day", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.pass_context
def demo(ctx, days, events_per_day, seed) -> None:
    """The main job end to end: generate sample data, build the warehouse, print the report."""
    settings = load_settings()
    ctx.invoke(generate, days=days, events_per_day=events_per_day, seed=seed)
    ctx.invoke(build, quiet=True)
    ctx.invoke(report, last_days=7)
    from aiusage.snapshot import stable_duckdb_path

    # readers open the published snapshot, never the build's file (a refresh writes that)
    click.echo(f"\nWarehouse (dbt builds it): {settings.duckdb_path}")
    click.echo(f"Explore the published marts: duckdb -readonly {stable_duckdb_path(settings)}")


@click.command()
@click.option("--no-docs", is_flag=True, help="Do not update the Data Docs site.")
def validate(no_docs) -> None:
    """Run every Great Expectations suite on the warehouse's inputs: the price seeds and the
    landed batch the next refresh reads."""
    from aiusage.quality import run_all_suites

    settings = load_settings()
    failed = 0
    for name, result in run_all_suites(settings, build_docs=not no_docs):
        if isinstance(result, str):
            click.echo(f"SKIPPED {name}: {result}")
            continue
        click.echo(("PASSED " if result.success else "FAILED ") + result.summary())
        failed += not result.success
    if not no_docs:
        click.echo(f"Data Docs: {settings.gx_docs_dir / 'index.html'}")
    if failed:
        sys.exit(1)
