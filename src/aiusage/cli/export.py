"""`aiusage export focus`: the warehouse's priced usage as FOCUS rows (aiusage.focus)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from aiusage.cli import DATE, load_settings


@click.group("export")
def export() -> None:
    """Export the warehouse's data in standard formats."""


@export.command("focus")
@click.option("--version", "version", type=click.Choice(["1.2"]), default="1.2",
              show_default=True, help="FOCUS version of the columns.")  # fmt: skip
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="FILE.csv or FILE.parquet.")  # fmt: skip
@click.option("--start-date", type=DATE, default=None,
              help="First usage day (default: the first day of the warehouse).")  # fmt: skip
@click.option("--end-date", type=DATE, default=None,
              help="Last usage day, inclusive (default: the last day).")  # fmt: skip
def focus(version, output, start_date, end_date) -> None:
    """Write the priced usage as FOCUS cost and usage rows: one per day x provider x model x
    price x token class x team, workflow and user (Tags). Unpriced usage is left out and
    counted on stderr; the BilledCost total is the warehouse's cost for the period."""
    from aiusage.focus import focus_rows, write_export
    from aiusage.snapshot import reader_duckdb_path

    settings = load_settings()
    start = start_date.date() if start_date else date.min
    end = end_date.date() if end_date else date.max
    try:
        path = reader_duckdb_path(settings)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    export_ = focus_rows(path, start, end)
    write_export(export_, output)
    click.echo(
        f"FOCUS {version}: {len(export_.rows):,} rows ({export_.requests:,} priced requests), "
        f"BilledCost {export_.billed_cost:.2f} USD -> {output}"
    )
    if export_.unpriced_requests:
        click.echo(
            f"left out: {export_.unpriced_requests:,} unpriced requests "
            f"({export_.unpriced_tokens:,} tokens); see rpt_unpriced_usage",
            err=True,
        )


@export.command("validate-focus")
@click.argument("data_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--validator", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="focus-validator 2.2.1 (default: .venv-focus/bin/"
              "focus-validator of the project, what make focus-validator installs).")  # fmt: skip
def validate_focus(data_file, validator) -> None:
    """Check a FOCUS 1.2 export with the FinOps Foundation's focus-validator, offline; exit 1
    when a requirement fails (the validator itself exits 0 whatever fails)."""
    from aiusage.focus import run_validator

    validator = validator or load_settings().project_dir / ".venv-focus/bin/focus-validator"
    verdict, _output = run_validator(validator, data_file)
    click.echo(
        f"focus-validator: Total: {verdict.total} | Pass: {verdict.passed} | "
        f"Fail: {verdict.failed} | Skipped: {verdict.skipped}"
    )
    for rule in verdict.unmet_branches:
        click.echo(f"  {rule}: FAIL as one branch of an OR requirement that passed (not a failure)")
    for rule in verdict.failed_requirements:
        click.echo(f"  {rule}: FAIL", err=True)
    if verdict.failed_requirements:
        raise SystemExit(1)
