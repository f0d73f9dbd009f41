"""`aiusage`: the command line. The only module besides `orchestration` that imports click or
Dagster; every command is a thin layer over the domain modules of the package.

`aiusage build` runs the Dagster job `refresh_warehouse` in-process, so a command-line
refresh and a scheduled one are one code path.
"""

from __future__ import annotations

import click

from aiusage.errors import AiusageError
from aiusage.settings import Settings, SettingsError


class AiusageGroup(click.Group):
    """Errors a user can fix (a bad setting, a refused file, a missing project) end as one
    line without a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (AiusageError, SettingsError) as error:
            raise click.ClickException(" ".join(str(error).split())) from error


DATE = click.DateTime(formats=["%Y-%m-%d"])


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from error


@click.group(cls=AiusageGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """AI usage analytics warehouse."""


def _register() -> None:
    from aiusage.cli import delivery, export, ingest, pricing, warehouse

    for command in (
        warehouse.generate,
        warehouse.build,
        warehouse.report,
        warehouse.demo,
        warehouse.validate,
        ingest.ingest,
        export.export,
        pricing.pricing,
        delivery.send_report,
        delivery.send_alerts,
        delivery.tokens,
        delivery.serve,
        delivery.dashboard,
    ):
        main.add_command(command)


_register()
