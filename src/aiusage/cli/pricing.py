"""`aiusage pricing sync|validate`: the price seed from genai-prices, and its rules."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aiusage.cli import load_settings
from aiusage.pricing.sync import DEFAULT_NEW_MODEL_START


def _providers(value: str) -> tuple[str, ...] | None:
    """None (every genai-prices provider) for "all"."""
    chosen = tuple(p.strip().lower() for p in value.split(",") if p.strip())
    return None if chosen in ((), ("all",)) else chosen


def _seeds_dir(value: Path | None) -> Path:
    return value if value is not None else load_settings().project_dir / "seeds"


SEEDS_DIR = click.option(
    "--seeds-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the price seeds (default: seeds/ of the project).",
)
PROVIDERS = click.option(
    "--providers",
    default="all",
    show_default=True,
    help="Comma-separated genai-prices provider ids, or all.",
)


@click.group()
def pricing() -> None:
    """Model prices: sync from genai-prices, validate the seeds, suggest rows from bills."""


@pricing.command()
@SEEDS_DIR
@PROVIDERS
@click.option("--all/--seed-models-only", "include_all", default=True, show_default=True,
              help="Import every model of those providers, or only the seed's.")  # fmt: skip
@click.option("--new-model-start", default=DEFAULT_NEW_MODEL_START, show_default=True,
              help="valid_from of a new model whose first price has no date and whose ids "
              "carry none (valid_from_is_estimated = true).")  # fmt: skip
@click.option("--show-new", is_flag=True, help="List every model new to the seed.")
def sync(seeds_dir, providers, include_all, new_model_start, show_new) -> None:
    """Import prices, their history and genai-prices' exact match rules (as aliases) into
    seeds/model_prices.csv and seeds/model_aliases.csv; print what changed."""
    import genai_prices

    from aiusage.pricing.seed import (
        GENAI_SOURCE,
        read_alias_seed,
        read_price_seed,
        write_alias_seed,
        write_price_seed,
    )
    from aiusage.pricing.sync import (
        PricingError,
        ensure_standard_tiers,
        genai_aliases,
        genai_windows,
        seed_changes,
        sync_aliases,
        sync_rows,
    )

    folder = _seeds_dir(seeds_dir)
    path, alias_path = folder / "model_prices.csv", folder / "model_aliases.csv"
    before = read_price_seed(path)
    chosen = _providers(providers)
    windows = genai_windows(chosen, on_skip=lambda text: click.echo(text, err=True))
    try:
        rows = sync_rows(before, windows, include_all, new_model_start)
    except PricingError as error:
        raise click.ClickException(str(error)) from error
    write_price_seed(path, rows)
    after = read_price_seed(path)
    aliases_before = read_alias_seed(alias_path) if alias_path.exists() else []
    aliases = sync_aliases(aliases_before, genai_aliases(chosen), after)
    write_alias_seed(alias_path, aliases)

    added_tiers = ensure_standard_tiers(folder / "service_tier_multipliers.csv", after)
    if added_tiers:
        click.echo(
            f"service_tier_multipliers.csv: standard = 1.0 (the list price) added for "
            f"{len(added_tiers)} providers new to it"
        )
    changes = seed_changes(before, after)
    estimated = sum(1 for r in after if r.get("valid_from_is_estimated") == "true")
    click.echo(
        f"Synced {path} from genai-prices {genai_prices.__version__}: {len(after)} rows, "
        f"{len({(r['provider'], r['model']) for r in after})} models, "
        f"{len({r['provider'] for r in after})} providers; "
        f"{sum(1 for r in after if r['source'] != GENAI_SOURCE)} hand-edited rows kept; "
        f"{estimated} first prices with an estimated start (valid_from_is_estimated)."
    )
    click.echo(
        f"{alias_path}: {len(aliases)} aliases "
        f"({sum(1 for r in aliases if r['source'] == GENAI_SOURCE)} from genai-prices match "
        f"rules, {sum(1 for r in aliases if r['source'] != GENAI_SOURCE)} hand-edited kept)."
    )
    new_models = changes["new_models"]
    by_provider: dict[str, int] = {}
    for provider, _ in new_models:
        by_provider[provider] = by_provider.get(provider, 0) + 1
    if new_models:
        click.echo(
            f"+ {len(new_models)} models new to the seed: "
            + ", ".join(f"{p} {n}" for p, n in sorted(by_provider.items()))
        )
        if show_new:
            for provider, model in new_models:
                click.echo(f"  + {provider}/{model}")
    for line in changes["changed"]:
        click.echo(f"~ {line}")
    for provider, model in changes["removed_models"]:
        click.echo(f"- {provider}/{model}: no longer in the seed")
    if not (new_models or changes["changed"] or changes["removed_models"]):
        click.echo("No price changed.")


@pricing.command()
@SEEDS_DIR
@PROVIDERS
@click.option("--all", "list_missing", is_flag=True,
              help="List every genai-prices model missing from the seed.")  # fmt: skip
def validate(seeds_dir, providers, list_missing) -> None:
    """Check the price seeds against their rules (the same expectation suites a refresh runs;
    exit 1 naming the rows) and list the differences with genai-prices (informational)."""
    from aiusage.pricing.seed import read_price_seed
    from aiusage.pricing.sync import genai_differences, genai_windows
    from aiusage.quality.prices import validate_price_seeds

    settings = load_settings()
    folder = _seeds_dir(seeds_dir)
    prices = read_price_seed(folder / "model_prices.csv")
    diffs = genai_differences(prices, genai_windows(_providers(providers)), list_missing)
    click.echo(f"Differences with genai-prices ({len(diffs)}):")
    for line in diffs:
        click.echo(f"  {line}")
    results = validate_price_seeds(folder, context_root=settings.project_dir / "expectations")
    failed = [result for result in results if not result.success]
    for result in failed:
        click.echo(f"FAILED {result.suite}:", err=True)
        for failure in result.failed:
            click.echo(f"  {failure['detail']}", err=True)
    if failed:
        sys.exit(1)
    click.echo(
        f"Seeds OK: {len(prices)} price rows; "
        + ", ".join(f"{r.suite} ({r.row_count} rows)" for r in results)
        + " pass every rule."
    )


@pricing.command()
@click.option("--min-requests", type=click.IntRange(1), default=3, show_default=True,
              help="Billed requests a disagreement needs before a row is proposed.")  # fmt: skip
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the proposed rows here (CSV, the seed's columns); "
              "default stdout.")  # fmt: skip
def suggest(min_requests, output) -> None:
    """Propose seed rows (source learned_from_bills) for the models whose bills one unit
    price explains but their list price does not (rpt_bill_reconciliation), for review."""
    import csv
    import io

    from aiusage.pricing.seed import PRICE_FIELDS
    from aiusage.pricing.suggest import SQL
    from aiusage.pricing.suggest import suggest as propose
    from aiusage.snapshot import reader_duckdb_path
    from aiusage.warehouse import connect_readonly, fetch_rows, relation_exists

    settings = load_settings()
    try:
        with connect_readonly(reader_duckdb_path(settings)) as con:
            if not relation_exists(con, "rpt_bill_reconciliation"):
                raise click.ClickException(
                    "no rpt_bill_reconciliation in the warehouse: run `aiusage build` first"
                )
            records = fetch_rows(con, SQL, [])
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    result = propose(records, min_requests)
    for note in result.notes:
        click.echo(note, err=True)
    if not result.rows:
        click.echo("No seed row to propose.", err=True)
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PRICE_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.rows)
    if output is None:
        click.echo(buffer.getvalue(), nl=False)
    else:
        output.write_text(buffer.getvalue(), encoding="utf-8")
        click.echo(f"{len(result.rows)} proposed row(s) written to {output}", err=True)
