"""The landing zone's layout: ``<landing>/<source>/dt=YYYY-MM-DD/<file>``.

Every writer (the tracking client, ``aiusage ingest``, the sample generator) and every
reader (the refresh window, the landing sensor, the landed-batch expectations) of the
landing folder goes through these functions; the dbt sources read the same layout.

* ``<source>`` is one folder per landed source (``events``, ``openai_usage``, ...);
* ``dt=YYYY-MM-DD`` is the landing day (when the file arrived, not when its events
  happened);
* files whose name starts with ``.`` are work in progress (temporaries) and never read.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from datetime import date
from pathlib import Path

DAY_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


def day_folder(landing_dir: Path, source: str, day: date) -> Path:
    """The folder of one source's files landed on `day`."""
    return Path(landing_dir) / source / f"dt={day.isoformat()}"


def landing_day(folder_name: str) -> date | None:
    """The landing day of a `dt=YYYY-MM-DD` folder name; None for any other name."""
    match = DAY_FOLDER.match(folder_name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def is_landed_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".")


def landed_files(landing_dir: Path, source: str) -> list[tuple[date, Path]]:
    """(landing day, path) of every landed file of one source, by day then name."""
    root = Path(landing_dir) / source
    found: list[tuple[date, Path]] = []
    if not root.is_dir():
        return found
    for folder in root.iterdir():
        day = landing_day(folder.name)
        if day is None or not folder.is_dir():
            continue
        found.extend((day, path) for path in folder.iterdir() if is_landed_file(path))
    return sorted(found)


def write_atomically(path: Path, data: bytes) -> None:
    """Write a whole file under a temporary name, then rename it into place: a reader sees
    the old file, no file, or the new one, never half of it. The temporary is removed when
    the write fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


_APPEND_LOCK = threading.Lock()


def _reset_lock_after_fork() -> None:
    # A child forked while another thread held the lock would inherit it locked forever.
    global _APPEND_LOCK
    _APPEND_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_reset_lock_after_fork)


def append_line(path: Path, line: bytes) -> None:
    """Append one whole line to a landed file: one ``os.write`` loop on an ``O_APPEND``
    descriptor under an exclusive ``flock``, so lines from many threads and processes
    never interleave or tear."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _APPEND_LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                written = 0
                while written < len(line):
                    written += os.write(fd, line[written:])
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
