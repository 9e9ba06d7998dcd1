"""The connections of a `PostgresStore`: pooled, checked, retried, fork-safe.

Each thread that uses a store at a time gets a connection of its own, so
threads contend for PostgreSQL's row locks rather than for a Python lock,
exactly like processes and machines do. Connections are in autocommit mode:
an append is one statement, so it is its own transaction and costs one round
trip.

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

Statements nobody waits for (the notifications that wake followers) are
sent on the connection that did the work, right after it, with
`ConnectionPool.send_after`: the call returns without waiting, the server
runs the statement as soon as the work's transaction has ended, and its
answer is read when the connection is next taken from the pool. This costs
the caller one message and no round trip, and the server no parsing: the
statement is prepared once on each connection. A thread that comes back
before the answer has arrived takes another connection rather than wait for
it, keeping at most one such spare per thread; so a thread appending in a
loop alternates between two. If a connection turns out dead before the
answer came, the statement is sent again on the side connection, since it
may not have run; if the server forgot the prepared statement (a pooler's
``DISCARD ALL``), it is sent again and prepared anew.

Besides the pooled connections there is that *side* connection, for
statements nobody waits for that have no connection to follow. It is in
libpq's pipeline mode: a statement is sent, with a sync that makes it a
transaction of its own, and the call returns at once; the results that have
arrived are read on the next call, without waiting for the others. Running
them on another session keeps them off the appending connections, whose next
append would otherwise queue behind them, and the pipeline lets several
threads send without waiting for each other's answers. Such a statement must
be harmless to run twice: when the side connection is found dead, every
statement it had not answered is sent again on a new one (a notification
then wakes a follower once more, which only makes it read).

Connections never cross a ``fork``: in a child the inherited ones are
disowned (their sockets pointed at ``/dev/null``, so that neither closing nor
collecting them can end the parent's sessions) and the child opens its own.
"""

from __future__ import annotations

import collections
import hashlib
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
    "prepared_name",
]

_T = TypeVar("_T")

_logger: Final = logging.getLogger("phyxius.journal")

_TRANSIENT: Final = frozenset({"40001", "40P01"})
"""Serialization failure and deadlock: rolled back, safe to run again."""

_UNREAD_TIMEOUT: Final = 30.0
"""Seconds to wait for the result of a statement sent without waiting."""

_MAX_UNREAD: Final = 1000
"""Statements sent aside whose results may be outstanding before a sender
waits for some: a server that falls behind slows the senders down instead of
letting the backlog grow without bound."""

_Aside = tuple[bytes, tuple[bytes, ...]]
"""A statement sent aside: the query and its parameters."""

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


_FORK_HOOK: Final = hasattr(os, "register_at_fork")
"""Whether children are told of a fork; otherwise each call compares pids."""

if _FORK_HOOK:
    os.register_at_fork(after_in_child=_after_fork_in_child)


def prepared_name(query: bytes) -> bytes:
    """The name under which `ConnectionPool.send_after` prepares ``query``."""
    return b"phyxius_" + hashlib.sha256(query).hexdigest()[:16].encode()


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
        "_owed",
        "_pid",
        "_prepared",
        "_random",
        "_side",
        "_side_lock",
        "_side_unanswered",
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
        # Invariant: `_owed` maps each connection with a statement sent by
        # `send_after` whose answer has not been read to that statement.
        self._owed: dict[psycopg.Connection[Any], _Aside] = {}
        # The statements `send_after` prepared on each connection: query ->
        # name, or None where preparing failed (then it is sent as text).
        self._prepared: dict[psycopg.Connection[Any], dict[bytes, bytes | None]] = {}
        # The side connection (see the module documentation), opened on
        # first use, in pipeline mode. Invariant: `_side_unanswered` holds,
        # in the order sent, the statements sent aside whose answer (up to
        # their sync) has not been read; with no side connection, those to
        # send again on the next one.
        self._side_lock = threading.Lock()
        self._side: psycopg.Connection[Any] | None = None
        self._side_unanswered: collections.deque[_Aside] = collections.deque()
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
        self._owed = {}
        self._prepared = {}
        if self._side is not None:
            disown(self._side)
        self._side_lock = threading.Lock()
        self._side = None
        self._side_unanswered = collections.deque()
        self._pid = os.getpid()

    def _acquire(self) -> psycopg.Connection[Any]:
        with self._lock:
            if self._closed:
                raise JournalClosedError(
                    f"the PostgresStore of {self.target} was closed; open a new "
                    "PostgresStore to go on"
                )
            if not _FORK_HOOK and os.getpid() != self._pid:
                self.forget_after_fork()
        self._collect_answers()
        # Connections whose notification has not been answered yet: rather
        # than wait for the answer (a round trip), a thread takes another
        # connection, keeping at most one such spare per thread.
        answering: list[tuple[psycopg.Connection[Any], _Aside]] = []
        try:
            while True:
                with self._lock:
                    if not self._idle:
                        break
                    connection = self._idle.pop()
                    owed = self._owed.pop(connection, None)
                if owed is not None:
                    settled = self._settle(connection, owed, wait=False)
                    if settled is None:
                        answering.append((connection, owed))
                        continue
                    if not settled:
                        self._discard(connection)
                        continue
                if _usable(connection):
                    return connection
                self._discard(connection)

            with self._lock:
                # Threads using a connection now, this one included.
                users = len(self._connections) - len(answering) + 1
            while len(answering) > users:
                # Enough spares: wait for the one that has waited longest.
                connection, owed = answering.pop()
                if self._settle(connection, owed, wait=True) and _usable(connection):
                    return connection
                self._discard(connection)
        finally:
            with self._lock:
                for connection, owed in answering:
                    self._owed[connection] = owed
                    self._idle.append(connection)
        connection = self.connect()
        with self._lock:
            self._connections.append(connection)
        return connection

    def _collect_answers(self) -> None:
        """Read the answers that idle connections owe and that have arrived.

        So that one which reports a failure (and so a statement to send
        again) is acted on at the pool's next use, not only when that very
        connection is taken again.
        """
        with self._lock:
            owing = [
                (connection, self._owed.pop(connection))
                for connection in self._idle
                if connection in self._owed
            ]
            for connection, _ in owing:
                self._idle.remove(connection)
        for connection, owed in owing:
            settled = self._settle(connection, owed, wait=False)
            if settled is False:
                self._discard(connection)
                continue
            with self._lock:
                if settled is None:
                    self._owed[connection] = owed
                self._idle.append(connection)

    def _release(self, connection: psycopg.Connection[Any]) -> None:
        with self._lock:
            if connection not in self._connections:
                return  # opened before a fork
            # Whether the server ended it meanwhile is checked when it is
            # taken again: the connection may sit idle for long before that.
            # One that owes an answer is busy with that statement.
            fit = connection in self._owed or _settled(connection)
            if self._closed or not fit:
                # Closing after a statement sent does not cancel it.
                self._connections.remove(connection)
                self._owed.pop(connection, None)
                self._prepared.pop(connection, None)
                _close_quietly(connection)
            else:
                self._idle.append(connection)

    def _discard(self, connection: psycopg.Connection[Any]) -> None:
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
            self._owed.pop(connection, None)
            self._prepared.pop(connection, None)
        _close_quietly(connection)

    def send_after(
        self,
        connection: psycopg.Connection[Any],
        query: bytes,
        params: tuple[bytes, ...],
    ) -> None:
        """Send ``query`` on ``connection`` without waiting for its answer.

        For the work `run` runs, as its last step: the statement runs on the
        server after the work's own (its own transaction, in autocommit) and
        is on its way when this returns. Its answer is read, and an error in
        it logged, when the connection is taken from the pool again.

        The statement is prepared on the connection the first time, which
        spares the server parsing and planning it after every append.

        Raises:
            psycopg.OperationalError: the statement could not be sent.
        """
        from psycopg import pq

        pgconn = connection.pgconn
        prepared = self._prepared.setdefault(connection, {})
        if query not in prepared:
            candidate = prepared_name(query)
            result = pgconn.prepare(candidate, query)
            ok = result.status == pq.ExecStatus.COMMAND_OK
            prepared[query] = candidate if ok else None
        name = prepared[query]
        if name is None:
            pgconn.send_query_params(query, list(params))
        else:
            pgconn.send_query_prepared(name, list(params))
        _push(pgconn)
        with self._lock:
            self._owed[connection] = (query, params)

    def _settle(
        self, connection: psycopg.Connection[Any], owed: _Aside, *, wait: bool
    ) -> bool | None:
        """Read the answer ``connection`` owes; False if the connection died.

        If it died before answering, the statement may not have run: it is
        sent again on the side connection. Without ``wait``, None when the
        answer has not arrived yet (nothing is read then).
        """
        import psycopg
        from psycopg import pq

        pgconn = connection.pgconn
        ran = False
        errors: list[str] = []
        unprepared = False  # the server forgot the prepared statement
        try:
            pgconn.consume_input()
            while pgconn.is_busy():
                if not wait:
                    return None
                if not _wait(pgconn.socket, write=False, timeout=_UNREAD_TIMEOUT):
                    break
                pgconn.consume_input()
            else:
                while (result := pgconn.get_result()) is not None:
                    if result.status in (
                        pq.ExecStatus.TUPLES_OK,
                        pq.ExecStatus.COMMAND_OK,
                    ):
                        ran = True
                    else:
                        text = result.error_message or b""
                        errors.append(text.decode("utf-8", "replace").strip())
                        state = result.error_field(pq.DiagnosticField.SQLSTATE)
                        # 26000: a pooler or DISCARD ALL dropped the statement.
                        unprepared = unprepared or state == b"26000"
        except psycopg.Error:
            pass  # the connection died: judged by its status below
        alive = pgconn.status == pq.ConnStatus.OK and not pgconn.is_busy()
        if unprepared and alive:
            # It did not run: prepare it again next time, and send it now.
            self._prepared.get(connection, {}).pop(owed[0], None)
            self._send_again(owed)
            return True
        if ran or (errors and alive):
            for message in errors:
                _logger.warning("a statement sent without waiting failed: %s", message)
            return alive
        self._send_again(owed)
        return False

    def _send_again(self, statement: _Aside) -> None:
        """Send aside a statement that may not have run where it was sent."""
        import psycopg

        try:
            self.send_aside(*statement)
        except (psycopg.Error, StoreError) as error:
            _logger.warning(
                "a statement sent without waiting may not have run, and sending "
                "it again failed: %s",
                describe_error(error),
            )

    def send_aside(self, query: bytes, params: tuple[bytes, ...]) -> None:
        """Send ``query`` on the side connection without waiting for its result.

        The statement is on its way to the server when this returns, as a
        transaction of its own. The answers to earlier ones that have arrived
        are read first, and an error in them logged. If the side connection
        turns out dead, the statements it left unanswered and this one are
        sent again on a new one.

        Raises:
            StoreError: no side connection could be opened (the statement is
                sent with the next one), or the server left `_MAX_UNREAD`
                statements unanswered for `_UNREAD_TIMEOUT` seconds.
            psycopg.OperationalError: the statement could not be sent, twice.
        """
        import psycopg

        with self._side_lock:
            try:
                self._send_side((query, params))
            except psycopg.Error:
                # It broke while sending: once more, on a new connection.
                self._drop_side()
                self._send_side(None)

    def _send_side(self, statement: _Aside | None) -> None:
        """Send ``statement`` aside, with every unanswered one if reconnecting.

        ``statement`` is None to send only what is unanswered. Call with
        ``_side_lock`` held.
        """
        import psycopg

        side = self._side
        if side is not None and not self._read_side(side, wait=False):
            self._drop_side()
            side = None
        if (
            side is not None
            and len(self._side_unanswered) >= _MAX_UNREAD
            and not self._read_side(side, wait=True)
        ):
            self._drop_side()
            self._side_unanswered.clear()
            raise StoreError(
                f"{self.target}: the server answered none of {_MAX_UNREAD} "
                f"statements sent without waiting within {_UNREAD_TIMEOUT:g}s"
            )
        if statement is not None:
            if len(self._side_unanswered) >= _MAX_UNREAD:
                # No connection for a while: forget the oldest, whose
                # followers catch up when their own connection returns.
                self._side_unanswered.popleft()
            self._side_unanswered.append(statement)

        if side is None:
            side = self.connect()
            try:
                side.pgconn.enter_pipeline_mode()
            except psycopg.Error:
                _close_quietly(side)
                raise
            self._side = side
            # Nothing of what the last connection left unanswered is known
            # to have run. Each distinct statement once is enough: sent now,
            # it runs after everything that made it necessary.
            pending = list(dict.fromkeys(self._side_unanswered))
            self._side_unanswered = collections.deque(pending)
        else:
            pending = [] if statement is None else [statement]

        pgconn = side.pgconn
        for query, params in pending:
            pgconn.send_query_params(query, list(params))
            pgconn.pipeline_sync()
        _push(pgconn)
        if self._closed:
            # Closed meanwhile: the server runs what it received before it
            # sees the connection end.
            self._drop_side()
            self._side_unanswered.clear()

    def _read_side(self, side: psycopg.Connection[Any], *, wait: bool) -> bool:
        """Read the answers that arrived on the side connection; False if it died.

        With ``wait``, wait (up to `_UNREAD_TIMEOUT` seconds) until at least
        one unanswered statement is answered. Call with ``_side_lock`` held.
        """
        import psycopg
        from psycopg import pq

        pgconn = side.pgconn
        unanswered = self._side_unanswered
        before = len(unanswered)
        ended = False  # the last result was the end of a statement's results
        try:
            pgconn.consume_input()
            while unanswered:
                if pgconn.is_busy():
                    # The next answer has not arrived yet.
                    if not wait or len(unanswered) < before:
                        break
                    if not _wait(pgconn.socket, write=False, timeout=_UNREAD_TIMEOUT):
                        return False
                    pgconn.consume_input()
                    continue
                result = pgconn.get_result()
                if result is None:
                    if ended:
                        # Nothing is queued although a sync is outstanding:
                        # the connection is not in the state we kept.
                        return False
                    ended = True
                    continue
                ended = False
                if result.status == pq.ExecStatus.PIPELINE_SYNC:
                    unanswered.popleft()
                elif result.status not in (
                    pq.ExecStatus.TUPLES_OK,
                    pq.ExecStatus.COMMAND_OK,
                ):
                    message = (result.error_message or b"").decode("utf-8", "replace")
                    _logger.warning(
                        "a statement sent without waiting failed: %s", message.strip()
                    )
        except psycopg.Error:
            return False
        if pgconn.status != pq.ConnStatus.OK or side.closed:
            return False
        # With every answer read there is nothing left to read, unless the
        # server ended the session (its last words, then end of file): libpq
        # does not always tell that from the answers alone.
        return bool(unanswered) or not _readable(pgconn.socket)

    def _drop_side(self) -> None:
        """Close the side connection; the next statement opens a new one.

        What it left unanswered stays in ``_side_unanswered``, to be sent
        again. Call with ``_side_lock`` held.
        """
        if self._side is not None:
            _close_quietly(self._side)
        self._side = None

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
                self._owed.pop(connection, None)
        for connection in idle:
            _close_quietly(connection)
        with self._side_lock:
            # What was sent aside reached the server, which runs it before it
            # sees the connection end: closing does not cancel it.
            self._drop_side()
            self._side_unanswered.clear()


def _push(pgconn: psycopg.pq.abc.PGconn) -> None:
    """Send what libpq holds for ``pgconn``, reading meanwhile if it must.

    A server busy writing results we have not read may stop reading what we
    send; taking in its input lets both sides go on.
    """
    while pgconn.flush() == 1:
        with selectors.DefaultSelector() as selector:
            selector.register(
                pgconn.socket, selectors.EVENT_READ | selectors.EVENT_WRITE
            )
            for _, events in selector.select():
                if events & selectors.EVENT_READ:
                    pgconn.consume_input()


def _wait(fd: int, *, write: bool, timeout: float | None = None) -> bool:
    """Wait until ``fd`` is writable (or readable); False on timeout."""
    if hasattr(select, "poll"):  # cheaper than a selector, made for one wait
        poller = select.poll()
        poller.register(fd, select.POLLOUT if write else select.POLLIN)
        return bool(poller.poll(None if timeout is None else timeout * 1000))
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_WRITE if write else selectors.EVENT_READ)
        return bool(selector.select(timeout))


def _settled(connection: psycopg.Connection[Any]) -> bool:
    """Open, not broken and outside any transaction: fit to go back to the pool."""
    from psycopg import pq

    if connection.closed or connection.broken:
        return False
    return connection.pgconn.transaction_status == pq.TransactionStatus.IDLE


def _usable(connection: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection can be handed out, checked without I/O."""
    # An idle connection has nothing to read. Something to read means the
    # server ended the session (its last words, then end of file).
    return _settled(connection) and not _readable(connection.pgconn.socket)


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
