"""`aiusage ingest`: validate delivered files and land them (aiusage.ingest)."""

from __future__ import annotations

from pathlib import Path

import click

from aiusage.cli import DATE, load_settings
from aiusage.ingest import INGEST_SOURCES


@click.command("ingest")
@click.argument("source", type=click.Choice(INGEST_SOURCES))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--landing-date", type=DATE, default=None, help="dt= folder to land into "
              "(default: today, UTC).")  # fmt: skip
@click.option("--mapping", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="otel only: the attribution mapping (default: otel_attribution.yml at "
              "the project root).")  # fmt: skip
def ingest(source, paths, landing_date, mapping) -> None:
    """Validate files of SOURCE and land them under <landing>/SOURCE/dt=YYYY-MM-DD/.

    SOURCE: events, openai_usage, anthropic_usage, litellm_spend_logs,
    langfuse_observations, openrouter (chat-completion responses with usage accounting, and
    /api/v1/generation records, enveloped or not: the bill lands as billed_cost_usd) or
    outcomes (task outcome records: task_id, workflow, occurred_at, outcome success|failure,
    optional value_usd); or otel: OTLP/JSON spans and log records (the Collector's file
    exporter), landed as canonical events, one per LLM or embedding call. PATHS: files or
    folders (JSONL, JSON, CSV, Parquet, .gz).
    """
    from aiusage.ingest import ingest as land
    from aiusage.otel import load_mapping, mapping_path

    settings = load_settings()
    otel_mapping = (
        load_mapping(mapping_path(settings.project_dir, mapping)) if source == "otel" else None
    )
    summary = land(
        settings.landing_dir,
        source,
        list(paths),
        landing_date.date() if landing_date else None,
        otel_mapping=otel_mapping,
    )
    for landed in summary.files:
        state = "already landed" if landed.skipped else "landed"
        click.echo(
            f"{state}: {landed.delivered} -> {landed.landed} "
            f"({landed.rows:,} rows, {landed.invalid_rows:,} invalid)"
        )
        if landed.note:
            click.echo(f"  read: {landed.note}")
    click.echo(
        f"{source}: {summary.files_landed} file(s) landed, {summary.files_skipped} skipped as "
        f"already landed; {summary.rows:,} rows landed, {summary.invalid_rows:,} failing basic "
        "validation (quarantined in fct_rejected_events by the next build)"
    )
