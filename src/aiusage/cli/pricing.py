"""`aiusage pricing sync|validate`: the price seed from genai-prices, and its rules."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aiusage.cli import load_settings
from aiusage.pricing.sync import DEFAULT_NEW_MODEL_START, DEFAULT_PROVIDERS


def _providers(value: str) -> tuple[str, ...]:
    return tuple(p.strip().lower() for p in value.split(",") if p.strip())


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
    default=",".join(DEFAULT_PROVIDERS),
    show_default=True,
    help="Comma-separated genai-prices provider ids.",
)


@click.group()
def pricing() -> None:
    """Model prices: sync from genai-prices, validate the seeds."""


@pricing.command()
@SEEDS_DIR
@PROVIDERS
@click.option("--all", "include_all", is_flag=True,
              help="Import every model of those providers, not only the seed's.")  # fmt: skip
@click.option("--new-model-start", default=DEFAULT_NEW_MODEL_START, show_default=True,
              help="valid_from of a new model whose first price has no date.")  # fmt: skip
def sync(seeds_dir, providers, include_all, new_model_start) -> None:
    """Import prices and their history from genai-prices into seeds/model_prices.csv."""
    import genai_prices

    from aiusage.pricing.seed import GENAI_SOURCE, PRICE_FIELDS, read_price_seed, write_price_seed
    from aiusage.pricing.sync import PricingError, genai_windows, sync_rows

    path = _seeds_dir(seeds_dir) / "model_prices.csv"
    before = read_price_seed(path)
    windows = genai_windows(_providers(providers), on_skip=lambda text: click.echo(text, err=True))
    try:
        rows = sync_rows(before, windows, include_all, new_model_start)
    except PricingError as error:
        raise click.ClickException(str(error)) from error
    write_price_seed(path, rows)
    after = read_price_seed(path)

    def key(row):
        return tuple(row.get(f, "") for f in PRICE_FIELDS)

    added = {key(r) for r in after} - {key(r) for r in before}
    removed = {key(r) for r in before} - {key(r) for r in after}
    click.echo(
        f"Synced {path} from genai-prices {genai_prices.__version__}: {len(after)} rows "
        f"({len(added)} added or changed, {len(removed)} replaced, "
        f"{sum(1 for r in after if r['source'] != GENAI_SOURCE)} hand-edited kept)."
    )


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
