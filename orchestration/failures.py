"""Clear failures: what `aiusage build` checks before a refresh, and one readable line for the
failures an operator can fix (full disk, missing or unreadable files, permissions).

A refresh that fails never touches the published snapshot: publish runs only after every
step succeeded, writes a new folder and swaps CURRENT last (orchestration.publish).
"""

from __future__ import annotations

import errno
import os
import re

import click

from orchestration.settings import Settings

REQUIRED_SEEDS = ("model_prices.csv", "model_aliases.csv", "service_tier_multipliers.csv")

_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")
_NO_SPACE = re.compile(r"no space left on device|\benospc\b|\[errno 28\]|disk is full", re.I)
_PERMISSION = re.compile(r"permission denied|read-only file system|\[errno 13\]|\[errno 30\]", re.I)


class RefreshRefused(click.ClickException):
    """A refresh that cannot start: the message names what to fix."""

    def format_message(self) -> str:
        return one_line(self.message)


def one_line(text: str) -> str:
    """Collapse a message onto one line (error texts of libraries carry newlines)."""
    return " ".join(str(text).split())


def preflight(settings: Settings) -> None:
    """Refuse a refresh whose inputs are missing, before any step runs."""
    seeds = settings.project_dir / "seeds"
    for name in REQUIRED_SEEDS:
        path = seeds / name
        if not path.is_file():
            hint = " or run `aiusage pricing sync`" if name == "model_prices.csv" else ""
            raise RefreshRefused(
                f"price seed missing: {path}; restore it (git checkout seeds/{name}){hint}, "
                "then run `aiusage build` again"
            )
        if not os.access(path, os.R_OK):
            raise RefreshRefused(f"price seed not readable: {path}; fix its permissions")
    landing = settings.landing_dir
    if landing.exists() and not os.access(landing, os.R_OK | os.X_OK):
        raise RefreshRefused(f"landing folder not readable: {landing}; fix its permissions")


def _path_in(text: str) -> str | None:
    match = _QUOTED_PATH.search(text)
    return match.group(1) if match else None


def diagnose(text: str, settings: Settings) -> str | None:
    """One line naming the cause and the fix, for failures an operator can fix; None when the
    failure is not one of them (the caller then prints the per-step explanation)."""
    if _NO_SPACE.search(text):
        where = _path_in(text)
        target = f" writing {where}" if where else ""
        return (
            f"no space left on the device{target}: free disk space (or point "
            f"AIUSAGE_DUCKDB_PATH / AIUSAGE_PUBLISHED_DIR at a larger disk; warehouse "
            f"{settings.duckdb_path}, snapshots {settings.published_dir}) and run "
            "`aiusage build` again; the published snapshot was not changed"
        )
    if _PERMISSION.search(text):
        where = _path_in(text) or "a warehouse file"
        return (
            f"permission denied on {where}: make it writable by this user (warehouse "
            f"{settings.duckdb_path}, snapshots {settings.published_dir}) and run "
            "`aiusage build` again; the published snapshot was not changed"
        )
    return None


def os_error_message(error: OSError, what: str, variable: str) -> str:
    """One line for an OSError while writing `what` (a folder named by `variable`)."""
    reason = error.strerror or str(error)
    target = error.filename or what
    if error.errno == errno.ENOSPC:
        fix = f"free disk space or point {variable} at a larger disk"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"make it writable by this user or point {variable} at a writable folder"
    else:
        fix = f"check the folder or point {variable} elsewhere"
    return one_line(f"cannot write {what} {target} ({reason}): {fix}")
