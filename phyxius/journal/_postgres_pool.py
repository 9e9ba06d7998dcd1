"""The connections of a `PostgresStore`: pooled, checked, retried, fork-safe.

Each thread that uses a store at a time gets a connection of its own, so
threads contend for PostgreSQL's row locks rather than for a Python lock,
exactly like processes and machines do. Connections are in autocommit mode:
an append is one statement (the store's append function), so it is its own
transaction and costs one round trip.

What happens when something fails:

* Serialization failures and deadlocks (SQLSTATE 40001, 40P01) roll the
  statement back, so it is run again after a short randomised back-off, up
  to ``max_attempts`` times; then `StoreBusyError`.
* A connection that died while idle in the pool (the server restarted, an
  administrator terminated it) is noticed before use, without a round trip:
  an idle connection has nothing to read, so one whose socket is readable is
  replaced.
* A connection lost *during* a call: a read is run again once on a new
  connection; a write is not, since it may have committed - the caller gets
  a `StoreError` saying so (see `PostgresStore.append`).

Besides the pooled connections there is one *side* connection, for
statements nobody waits for (the notifications that wake followers): they
are sent on it and the call returns; their results are read when the next
one is sent. Running them on another session keeps them off the appending
connection, whose next append would otherwise queue behind them.

Connections never cross a ``fork``: in a child the inherited ones are
disowned (their sockets pointed at ``/dev/null``, so that neither closing nor
collecting them can end the parent's sessions) and the child opens its own.
"""

from __future__ import annotations

import logging
import os
import random
import select
import selectors
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar, final

from phyxius.journal._errors import (
    JournalClosedError,
    StoreBusyError,
    StoreError,
    StoreFormatError,
)

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "ConnectionPool",
    "describe_error",
    "disown",
    "failure",
    "is_lost",
    "on_fork",
]

_T = TypeVar("_T")

_logger: Final = logging.getLogger("phyxius.journal")

_TRANSIENT: Final = frozenset({"40001", "40P01"})
"""Serialization failure and deadlock: rolled back, safe to run again."""

_UNREAD_TIMEOUT: Final = 30.0
"""Seconds to wait for the result of a statement sent without waiting."""

_BACKOFF_FIRST: Final = 0.002
_BACKOFF_CAP: Final = 0.2

# Connections a forked child inherited: kept (pointing at /dev/null) so that
# collecting them does not warn; never used.
_disowned: Final[list[object]] = []
# Objects to tell about a fork, so they forget their parent's connections.
_fork_listeners: Final[weakref.WeakSet[Any]] = weakref.WeakSet()


def on_fork(owner: Any) -> None:
    """Call ``owner.forget_after_fork()`` in the child of every future fork."""
    _fork_listeners.add(owner)


def _after_fork_in_child() -> None:
    for owner in list(_fork_listeners):
        owner.forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def disown(connection: psycopg.Connection[Any]) -> None:
    """Make an inherited connection harmless in a forked child.

    Its socket belongs to the parent's session: if the child closed it, libpq
    would send the server a Terminate message on it. Pointing the child's
    file descriptor at ``/dev/null`` leaves the parent's socket alone.
    """
    try:
        fd = connection.pgconn.socket
    except Exception:  # already closed: nothing of the parent's is left
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
    _disowned.append(connection)


def is_lost(connection: psycopg.Connection[Any], error: BaseException) -> bool:
    """True when ``error`` means the connection itself is gone."""
    import psycopg

    if connection.closed or connection.broken:
        return True
    if isinstance(error, psycopg.InterfaceError):
        return True
    sqlstate = getattr(error, "sqlstate", None) or ""
    # Class 08: connection exception; 57P01-57P03: the server shut it down.
    return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def describe_error(error: BaseException) -> str:
    """The first line of a driver error, with its SQLSTATE when it has one."""
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    sqlstate = getattr(error, "sqlstate", None)
    return f"{first} (SQLSTATE {sqlstate})" if sqlstate else first


def failure(error: BaseException, target: str, attempts: int = 1) -> StoreError:
    """A `StoreError` naming the server for a driver error."""
    sqlstate = getattr(error, "sqlstate", None) or ""
    reason = describe_error(error)
    if sqlstate in _TRANSIENT:
        return StoreBusyError(
            f"{target}: PostgreSQL rolled the statement back {attempts} times in a "
            f"row, the last time with: {reason}; the journal is under heavy "
            "contention: retry later, spread the writers over more journals or "
            "raise max_attempts"
        )
    if sqlstate == "42501":
        return StoreError(
            f"{target}: permission denied: {reason}; grant the user of the dsn "
            "USAGE and CREATE on the schema and rights on the store's tables"
        )
    if sqlstate in ("42P01", "42883", "3F000"):
        return StoreFormatError(
            f"{target}: the journal store's tables or function are gone: {reason}; "
            "they were dropped while the store was open: open a new PostgresStore "
            "to create them again, or restore them from a backup"
        )
    if sqlstate == "57014":
        return StoreError(
            f"{target}: the statement was canceled ({reason}), so nothing was "
            "written; raise statement_timeout if it is too short for the store"
        )
    return StoreError(f"{target}: PostgreSQL failed: {reason}")


@final
class ConnectionPool:
    """Connections to one database, handed to one thread at a time."""

    __slots__ = (
        "__weakref__",
        "_closed",
        "_connections",
        "_conninfo",
        "_idle",
        "_lock",
        "_max_attempts",
        "_options",
        "_pid",
        "_random",
        "_side",
        "_side_lock",
        "_side_unread",
        "target",
    )

    def __init__(
        self,
        conninfo: str,
        options: Mapping[str, Any],
        target: str,
        max_attempts: int,
    ) -> None:
        self._conninfo = conninfo
        self._options = dict(options)
        self.target = target
        """``host:port/dbname``, for messages (never the password)."""
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        # Invariant: `_idle` holds the open connections no thread is using;
        # `_connections` every connection this process opened and has not
        # closed or discarded.
        self._idle: list[psycopg.Connection[Any]] = []
        self._connections: list[psycopg.Connection[Any]] = []
        # The side connection (see the module documentation), opened on
        # first use; `_side_unread` is True while a result on it is unread.
        self._side_lock = threading.Lock()
        self._side: psycopg.Connection[Any] | None = None
        self._side_unread = False
        self._pid = os.getpid()
        self._closed = False
        self._random = random.Random()
        on_fork(self)

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    def connect(self, **extra: Any) -> psycopg.Connection[Any]:
        """A new connection to the database, outside the pool.

        Raises:
            StoreError: the server cannot be reached or refused the login.
        """
        import psycopg

        try:
            connection = psycopg.connect(
                self._conninfo, autocommit=True, **{**self._options, **extra}
            )
        except psycopg.Error as error:
            raise StoreError(
                f"could not connect to PostgreSQL at {self.target}: "
                f"{describe_error(error)}; check that the server is running and "
                "that the dsn's host, port, database, user and password are right"
            ) from None
        try:
            # The append function relies on a fresh snapshot per statement;
            # stricter levels would only add serialization failures.
            connection.execute("SET default_transaction_isolation = 'read committed'")
        except psycopg.Error as error:
            connection.close()
            raise failure(error, self.target) from None
        return connection

    def forget_after_fork(self) -> None:
        """In a forked child: disown the parent's connections."""
        # No other thread exists in the child, so the lock is not needed (and
        # may have been held by a parent's thread at the fork).
        self._lock = threading.Lock()
        for connection in self._connections:
            disown(connection)
        self._connections = []
        self._idle = []
        if self._side is not None:
            disown(self._side)
        self._side_lock = threading.Lock()
        self._side = None
        self._side_unread = False
        self._pid = os.getpid()

    def _acquire(self) -> psycopg.Connection[Any]:
        with self._lock:
            if self._closed:
                raise JournalClosedError(
                    f"the PostgresStore of {self.target} was closed; open a new "
                    "PostgresStore to go on"
                )
            if os.getpid() != self._pid:  # forked without register_at_fork
                self.forget_after_fork()
            while self._idle:
                connection = self._idle.pop()
                if _usable(connection):
                    return connection
                self._connections.remove(connection)
                _close_quietly(connection)
        connection = self.connect()
        with self._lock:
            self._connections.append(connection)
        return connection

    def _release(self, connection: psycopg.Connection[Any]) -> None:
        with self._lock:
            if connection not in self._connections:
                return  # opened before a fork
            if self._closed or not _usable(connection):
                self._connections.remove(connection)
                _close_quietly(connection)
            else:
                self._idle.append(connection)

    def _discard(self, connection: psycopg.Connection[Any]) -> None:
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
        _close_quietly(connection)

    def send_aside(self, query: bytes, params: list[bytes]) -> None:
        """Send ``query`` on the side connection without waiting for its result.

        The statement is on its way to the server when this returns. The
        result of the previous one is read first (by then it has long
        arrived), and an error in it logged.

        Raises:
            StoreError: the side connection could not be opened.
            psycopg.OperationalError: the statement could not be sent.
        """
        with self._side_lock:
            side = self._side
            if side is not None and self._side_unread:
                self._side_unread = False
                if not _read_unread(side):
                    _close_quietly(side)
                    self._side = side = None
            if side is not None and (side.closed or side.broken):
                _close_quietly(side)
                self._side = side = None
            if side is None:
                side = self.connect()
            pgconn = side.pgconn
            pgconn.send_query_params(query, params)
            # psycopg's connections are non-blocking: push the message out.
            while pgconn.flush() == 1:
                _wait(pgconn.socket, write=True)
            if self._closed:
                # Closed meanwhile: the server runs the statement before it
                # sees the connection end.
                _close_quietly(side)
                self._side = None
                return
            self._side = side
            self._side_unread = True

    def run(
        self,
        work: Callable[[psycopg.Connection[Any]], _T],
        *,
        lost: Callable[[str], str] | None = None,
    ) -> _T:
        """Run ``work`` on a pooled connection; map driver errors to `StoreError`.

        ``work`` must be one statement or one transaction, safe to run again
        after a serialization failure or a deadlock (it is, up to
        ``max_attempts`` times). ``lost`` is None for work that is safe to run
        again after the connection was lost mid-way (a read); otherwise it
        words the error raised then, given the driver's reason.
        """
        import psycopg

        attempt = 1
        reconnected = False
        while True:
            connection = self._acquire()
            try:
                result = work(connection)
            except psycopg.Error as error:
                if is_lost(connection, error):
                    self._discard(connection)
                    reason = describe_error(error)
                    if lost is None and not reconnected:
                        reconnected = True
                        continue
                    message = (
                        f"{self.target}: the connection was lost: {reason}"
                        if lost is None
                        else lost(reason)
                    )
                    raise StoreError(message) from None
                self._release(connection)
                sqlstate = getattr(error, "sqlstate", None)
                if sqlstate in _TRANSIENT and attempt < self._max_attempts:
                    self._back_off(attempt)
                    attempt += 1
                    continue
                raise failure(error, self.target, attempt) from None
            except Exception:
                # Raised by the work itself after its statements finished.
                self._release(connection)
                raise
            except BaseException:
                # Interrupted mid-statement: the connection's state is unknown.
                self._discard(connection)
                raise
            self._release(connection)
            return result

    def _back_off(self, attempt: int) -> None:
        ceiling = min(_BACKOFF_CAP, _BACKOFF_FIRST * 2 ** (attempt - 1))
        time.sleep(self._random.uniform(ceiling / 2, ceiling))

    def close(self) -> None:
        """Close the idle connections now and the busy ones when released."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            for connection in idle:
                self._connections.remove(connection)
        for connection in idle:
            _close_quietly(connection)
        with self._side_lock:
            side, self._side = self._side, None
            if side is not None:
                # A notification still unread was received by the server:
                # closing after it does not cancel it.
                _close_quietly(side)


def _read_unread(connection: psycopg.Connection[Any]) -> bool:
    """Read the result `ConnectionPool.send_aside` left; False if the link died."""
    import psycopg
    from psycopg import pq

    pgconn = connection.pgconn
    try:
        pgconn.consume_input()  # usually the answer is there already
        while pgconn.is_busy():
            if not _wait(pgconn.socket, write=False, timeout=_UNREAD_TIMEOUT):
                return False  # no answer: the connection is not worth keeping
            pgconn.consume_input()
        while (result := pgconn.get_result()) is not None:
            if result.status not in (
                pq.ExecStatus.TUPLES_OK,
                pq.ExecStatus.COMMAND_OK,
            ):
                message = (result.error_message or b"").decode("utf-8", "replace")
                _logger.warning(
                    "a statement sent without waiting failed: %s", message.strip()
                )
    except psycopg.Error:
        return False
    return True


def _wait(fd: int, *, write: bool, timeout: float | None = None) -> bool:
    """Wait until ``fd`` is writable (or readable); False on timeout."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_WRITE if write else selectors.EVENT_READ)
        return bool(selector.select(timeout))


def _usable(connection: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection can be handed out, checked without I/O."""
    from psycopg import pq

    if connection.closed or connection.broken:
        return False
    if connection.info.transaction_status != pq.TransactionStatus.IDLE:
        return False
    # An idle connection has nothing to read. Something to read means the
    # server ended the session (its last words, then end of file).
    return not _readable(connection.pgconn.socket)


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)


def _close_quietly(connection: psycopg.Connection[Any]) -> None:
    try:
        connection.close()
    except Exception as error:  # closing a dead connection: nothing to save
        _logger.debug("closing a PostgreSQL connection failed: %s", error)
