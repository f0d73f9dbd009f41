"""`aiusage ingest`: validate delivered files and land them (aiusage.ingest)."""

from __future__ import annotations

from pathlib import Path

import click

from aiusage.cli import DATE, load_settings
from aiusage.landing import SOURCE_NAMES


@click.command("ingest")
@click.argument("source", type=click.Choice(SOURCE_NAMES))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--landing-date", type=DATE, default=None, help="dt= folder to land into "
              "(default: today, UTC).")  # fmt: skip
def ingest(source, paths, landing_date) -> None:
    """Validate files of SOURCE and land them under <landing>/SOURCE/dt=YYYY-MM-DD/.

    SOURCE: events, openai_usage, anthropic_usage, litellm_spend_logs,
    langfuse_observations, openrouter (chat-completion responses with usage accounting, and
    /api/v1/generation records, enveloped or not: the bill lands as billed_cost_usd) or
    outcomes (task outcome records: task_id, workflow, occurred_at, outcome success|failure,
    optional value_usd). PATHS: files or folders (JSONL, JSON, CSV, Parquet, .gz).
    """
    from aiusage.ingest import ingest as land

    settings = load_settings()
    summary = land(
        settings.landing_dir, source, list(paths), landing_date.date() if landing_date else None
    )
    for landed in summary.files:
        state = "already landed" if landed.skipped else "landed"
        click.echo(
            f"{state}: {landed.delivered} -> {landed.landed} "
            f"({landed.rows:,} rows, {landed.invalid_rows:,} invalid)"
        )
    click.echo(
        f"{source}: {summary.files_landed} file(s) landed, {summary.files_skipped} skipped as "
        f"already landed; {summary.rows:,} rows landed, {summary.invalid_rows:,} failing basic "
        "validation (quarantined in fct_rejected_events by the next build)"
    )
