"""What the API reads: the published snapshot (connections and cached answers per snapshot)
and the token store (verified tokens, cached while the store is unchanged)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import duckdb
from fastapi import HTTPException

from aiusage.api.tokens import Principal, verify_token
from aiusage.delivery.state import connect_state


class _Held:
    """A read-only connection to one snapshot and the requests using it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.users = 0
        self.retired = False


class Warehouse:
    """The published snapshot as the API reads it.

    `source()` names the DuckDB file to read (the published snapshot, resolved on every
    request, so a new build is served as soon as it is published). A snapshot is identified
    by its path and file identity (inode, size, mtime); results are cached per snapshot and
    dropped when it changes. When `hold_open(path)` is true (an immutable published snapshot)
    one read-only connection is kept per snapshot and each request reads through its own
    cursor; otherwise (the build file, which a refresh writes) each read opens and closes
    the file, so the API never holds a lock the builder needs."""

    def __init__(
        self,
        source: Callable[[], Path],
        hold_open: Callable[[Path], bool],
        max_cached: int = 512,
    ) -> None:
        self._source = source
        self._hold_open = hold_open
        self._max_cached = max_cached
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._held: _Held | None = None
        self._results: OrderedDict[tuple, bytes] = OrderedDict()

    def exists(self) -> bool:
        try:
            return Path(self._source()).exists()
        except FileNotFoundError:
            return False

    def _current(self) -> tuple[Path, tuple]:
        try:
            path = Path(self._source())
            st = path.stat()
        except FileNotFoundError as error:
            raise HTTPException(503, "the warehouse is not built or published yet") from error
        key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            if key != self._key:
                self._key = key
                self._results.clear()
                if self._held is not None:
                    self._retire(self._held)
                    self._held = None
        return path, key

    def _retire(self, held: _Held) -> None:
        held.retired = True
        if held.users == 0:
            held.con.close()

    def cached(self, what: tuple) -> bytes | None:
        """The cached body of `what` in the current snapshot, if any."""
        _, key = self._current()
        with self._lock:
            body = self._results.get((key, what))
            if body is not None:
                self._results.move_to_end((key, what))
            return body

    def compute(self, what: tuple, produce: Callable[[duckdb.DuckDBPyConnection], bytes]):
        """produce(con) over the current snapshot, cached under `what`."""
        path, key = self._current()
        with self._lock:
            body = self._results.get((key, what))
        if body is not None:
            return body
        with self.connect(path, key) as con:
            body = produce(con)
        with self._lock:
            if self._key == key:
                self._results[(key, what)] = body
                while len(self._results) > self._max_cached:
                    self._results.popitem(last=False)
        return body

    @contextmanager
    def connect(self, path: Path | None = None, key: tuple | None = None):
        if path is None:
            path, key = self._current()
        if not self._hold_open(path):
            con = duckdb.connect(str(path), read_only=True)
            try:
                yield con
            finally:
                con.close()
            return
        with self._lock:
            if self._key == key and self._held is None:
                self._held = _Held(duckdb.connect(str(path), read_only=True))
            held = self._held if self._key == key else None
            if held is not None:
                held.users += 1
        if held is None:  # the snapshot changed meanwhile: read the one we resolved
            con = duckdb.connect(str(path), read_only=True)
            try:
                yield con
            finally:
                con.close()
            return
        cursor = held.con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                held.users -= 1
                if held.retired and held.users == 0:
                    held.con.close()


class TokenCache:
    """Verified tokens, kept while the token store is unchanged (a revoke or a new token
    changes the state file, which empties the cache: a revoked token fails at once)."""

    def __init__(self, state_path: Callable[[], Path]) -> None:
        self._state_path = state_path
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._known: dict[str, Principal] = {}

    def _file_stamp(self) -> tuple:
        stamps = []
        for suffix in ("", "-wal", "-journal"):
            try:
                st = os.stat(f"{self._state_path()}{suffix}")
                stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                stamps.append(None)
        return tuple(stamps)

    def verify(self, token: str) -> Principal | None:
        stamp = self._file_stamp()
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._known = stamp, {}
            found = self._known.get(digest)
        if found is not None:
            return found
        state = connect_state(Path(self._state_path()))
        try:
            found = verify_token(state, token)
        finally:
            state.close()
        if found is not None:
            with self._lock:
                if self._stamp == stamp and len(self._known) < 10_000:
                    self._known[digest] = found
        return found
