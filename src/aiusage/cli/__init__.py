"""`aiusage`: the command line. The only module besides `orchestration` that imports click or
Dagster; every command is a thin layer over the domain modules of the package.

`aiusage build` runs the Dagster job `refresh_warehouse` in-process, so a command-line
refresh and a scheduled one are one code path.
"""

from __future__ import annotations

import sys

import click

from aiusage.errors import AiusageError
from aiusage.settings import Settings, SettingsError, leave


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
        warehouse.refresh_server,
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


def run() -> None:
    """The `aiusage` executable: the command, then what the interpreter does at exit up to
    its teardown (wait for the threads that are not daemons, including the GX worker
    pool's shutdown; run the exit handlers, which stop the dbt server), then leave. Freeing
    the objects Dagster, dbt, GX and DuckDB loaded took 1-1.8 s after each `aiusage build`
    (docs/performance.md) and writes nothing: every file and connection a command opens is
    closed when it returns. An exception other than an exit keeps the normal path (its
    traceback is printed by the interpreter). A refresh goes to the refresh server when
    AIUSAGE_REFRESH_SERVER names one that answers (aiusage.cli.refreshserver)."""
    from aiusage.cli.refreshserver import delegate

    served = delegate(sys.argv[1:])
    if served is not None:
        leave(served)
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)  # as the interpreter prints a non-integer exit
        code = 0 if code is None else 1
    leave(code)
