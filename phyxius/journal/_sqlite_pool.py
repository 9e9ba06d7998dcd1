"""The connections of a `SqliteStore`: pooled, configured, and run with retries.

Each thread that uses a store at a time gets a connection of its own from the
pool, so threads contend for SQLite's locks rather than for one Python lock,
exactly like processes do. Writes run in ``BEGIN IMMEDIATE`` transactions:
the write lock is taken before anything is read, and SQLite's busy handler
waits for it up to the busy timeout. Connections never cross a ``fork``.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Final, TypeVar, final

from phyxius.journal._errors import JournalClosedError
from phyxius.journal._sqlite_schema import failure, is_busy

__all__ = ["ConnectionPool"]

_T = TypeVar("_T")

# A busy writer first waits about 0.1 ms, then longer, up to about 2 ms: a
# commit takes from tens of microseconds to a few milliseconds (an fsync).
_FIRST_WAIT: Final = 0.0001
_LONGEST_WAIT: Final = 0.002

# Connections inherited through fork belong to the parent; closing them in
# the child could disturb the parent's locks, so the child keeps them,
# unused, for the life of the process.
_inherited: Final[list[sqlite3.Connection]] = []


@final
class ConnectionPool:
    """Connections to one SQLite file, handed to one thread at a time."""

    __slots__ = (
        "_busy_timeout",
        "_closed",
        "_connections",
        "_idle",
        "_lock",
        "_path",
        "_pid",
        "_synchronous",
    )

    def __init__(self, path: str, synchronous: str, busy_timeout: float) -> None:
        self._path = path
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        # Invariant: `_idle` holds the connections not in use by a thread;
        # `_connections` holds every connection this process opened and has
        # not closed.
        self._idle: list[sqlite3.Connection] = []
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self._path,
                # No SQLite busy handler: it sleeps 1, 2, 5, 10... ms between
                # tries, so under contention writers idle far longer than a
                # commit takes. `run` retries with sub-millisecond waits.
                timeout=0,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=64,
            )
        except sqlite3.Error as error:
            raise failure(error, self._path) from None
        try:
            connection.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
            if self._synchronous == "full":
                # macOS's fsync does not reach the disk; F_FULLFSYNC does.
                connection.execute("PRAGMA fullfsync = ON")
        except sqlite3.Error as error:
            connection.close()
            raise failure(error, self._path) from None
        self._connections.append(connection)
        return connection

    def _acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise JournalClosedError(
                    f"the SqliteStore of {self._path} was closed; open a new "
                    "SqliteStore to go on"
                )
            if os.getpid() != self._pid:
                _inherited.extend(self._connections)
                self._connections = []
                self._idle = []
                self._pid = os.getpid()
            if self._idle:
                return self._idle.pop()
            return self._connect()

    def _release(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            if connection not in self._connections:
                return  # opened before a fork, or the store was closed
            if self._closed:
                self._connections.remove(connection)
                connection.close()
            else:
                self._idle.append(connection)

    def run(self, work: Callable[[sqlite3.Connection], _T], *, write: bool) -> _T:
        """Run ``work`` on a pooled connection, in a transaction when writing.

        Waits out a busy lock until ``busy_timeout`` has passed; maps every
        SQLite error to a `StoreError` naming the path.
        """
        connection = self._acquire()
        try:
            deadline = None
            delay = _FIRST_WAIT
            while True:
                try:
                    if not write:
                        return work(connection)
                    connection.execute("BEGIN IMMEDIATE")
                    try:
                        result = work(connection)
                        connection.execute("COMMIT")
                    except BaseException:
                        if connection.in_transaction:
                            connection.execute("ROLLBACK")
                        raise
                    return result
                except sqlite3.Error as error:
                    if not is_busy(error):
                        raise failure(error, self._path) from None
                    now = time.monotonic()
                    if deadline is None:
                        deadline = now + self._busy_timeout
                    if now >= deadline:
                        raise failure(error, self._path, self._busy_timeout) from None
                    # Randomised, so that waiting writers do not retry in step.
                    time.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 1.5, _LONGEST_WAIT)
        finally:
            self._release(connection)

    def close(self) -> None:
        """Close the idle connections now and the busy ones when released."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            for connection in idle:
                self._connections.remove(connection)
                connection.close()
