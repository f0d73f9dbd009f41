"""Clear failures: errors an operator can fix, each one readable line naming the fix.

A refresh that fails never touches the published snapshot: publish runs only after every
step succeeded, writes a new folder and swaps CURRENT last (aiusage.snapshot).
"""

from __future__ import annotations

import errno
import re

from aiusage.settings import Settings

_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")
_NO_SPACE = re.compile(r"no space left on device|\benospc\b|\[errno 28\]|disk is full", re.I)
# dbt's on_schema_change: fail (every incremental model of the project)
_SCHEMA_CHANGED = re.compile(r"schemas on this incremental model are out of sync", re.I)
_SCHEMA_MODEL = re.compile(r"in model (\w+)")
_PERMISSION = re.compile(r"permission denied|read-only file system|\[errno 13\]|\[errno 30\]", re.I)


def one_line(text: str) -> str:
    """Collapse a message onto one line (error texts of libraries carry newlines)."""
    return " ".join(str(text).split())


class AiusageError(Exception):
    """An error the user can fix. Its text is one line that names the file or setting and
    the fix; the command line prints it without a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))
        self.message = one_line(message)


class RefreshRefused(AiusageError):
    """A refresh that cannot start (a missing seed, an unreadable landing folder)."""


class IngestError(AiusageError):
    """A delivered file that cannot be landed (wrong format or shape), or a landing folder
    that cannot be written."""


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
    if _SCHEMA_CHANGED.search(text):
        model = _SCHEMA_MODEL.search(text)
        which = f" ({model.group(1)})" if model else ""
        return (
            f"an incremental model{which} of this version has columns the warehouse's table "
            "lacks (an upgrade): run `aiusage build --full-refresh` once, which rebuilds the "
            "incremental models from the landed files; the published snapshot was not changed"
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


_REJECT_RATE = re.compile(
    r"reject rate above (?P<limit>[0-9.]+)% in (?P<file>\S+) \((?P<rejected>\d+) of "
    r"(?P<rows>\d+) rows rejected"
)
_CHECK = re.compile(r"^check (?P<check>\S+) on (?P<asset>\S+) failed\. ?(?P<detail>.*)$", re.S)
_SUITE_HEAD = re.compile(r"^Suite \S+: .*? failed on \d+ rows?\. ")

# What to do when a blocking check fails, by check name (dbt tests: the generic advice).
_CHECK_FIXES = {
    "landed_events_expectations": (
        "correct or remove those lines and land the file again (aiusage ingest), or raise "
        "AIUSAGE_REJECT_THRESHOLD"
    ),
    "model_prices_expectations": (
        "edit seeds/model_prices.csv (`aiusage pricing validate` checks every rule)"
    ),
    "service_tier_multipliers_expectations": (
        "edit seeds/service_tier_multipliers.csv (`aiusage pricing validate` checks every rule)"
    ),
    "fx_rates_expectations": "edit seeds/fx_rates.csv (`aiusage pricing validate` checks it)",
}


def _first_rejected_line(settings: Settings, source_file: str) -> tuple[int, str] | None:
    """(line number, reason) of the first quarantined row of a landed file, when the build
    got as far as fct_rejected_events."""
    import duckdb

    try:
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            return con.execute(
                "select line_number, rejection_reason from fct_rejected_events "
                "where source_file = ? order by line_number limit 1",
                [source_file],
            ).fetchone()
    except duckdb.Error:
        return None


def explain_refresh_failure(messages: list[str], settings: Settings) -> str:
    """One line for a failed refresh: what failed (the file and row where there is one) and
    the fix. `messages` are the failed steps and checks of the run, in order."""
    text = "\n".join(messages)
    diagnosis = diagnose(text, settings)
    if diagnosis:
        return diagnosis
    reject = _REJECT_RATE.search(text)
    if reject:
        first = _first_rejected_line(settings, reject["file"])
        where = f"; the first at line {first[0]} ({first[1]})" if first else ""
        return one_line(
            f"{reject['file']}: {reject['rejected']} of {reject['rows']} rows rejected, above "
            f"the {reject['limit']}% threshold{where}. Fix: correct or remove the rejected "
            "lines (fct_rejected_events lists each with its reason) and land the file again, "
            "or raise AIUSAGE_REJECT_THRESHOLD; nothing was published"
        )
    for message in messages:
        check = _CHECK.match(message)
        if check:
            detail = _SUITE_HEAD.sub("", check["detail"]).split(" (2) ")[0]
            detail = re.sub(r"^\(1\) ", "", detail)
            fix = _CHECK_FIXES.get(
                check["check"],
                f"see the failing rows with `dbt test --select {check['check']} --store-failures`",
            )
            return one_line(
                f"check {check['check']} on {check['asset']} failed: {detail} Fix: {fix}; "
                "nothing was published"
            )
    return one_line(messages[0])[:2000]
