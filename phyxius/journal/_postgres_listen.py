"""The LISTEN side of `PostgresStore`: live news of other processes' appends.

Every append notifies the store's channel with the journal's ``journal_id``
(PostgreSQL delivers a notification when, and only if, its transaction
commits). A `Listener` holds one connection per store and process that
LISTENs on the channel, on a daemon thread that sleeps in ``select`` until
the server sends something, and passes each payload on.

A notification sent while nobody listens is lost, so the listener treats a
dropped connection as "anything may have happened": it reconnects with
back-off (at most `RECONNECT_CAP` seconds apart), LISTENs again and then
reports ``None``, on which the store wakes every follower to read what it
missed. Followers therefore never depend on a notification arriving; a
notification only tells them when to read.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, final

from phyxius.journal._errors import JournalClosedError, StoreError
from phyxius.journal._postgres_pool import describe_error, disown, on_fork

if TYPE_CHECKING:
    import psycopg

__all__ = ["FIRST_CONNECT_TIMEOUT", "RECONNECT_CAP", "Listener"]

_logger: Final = logging.getLogger("phyxius.journal")

RECONNECT_CAP: Final = 1.0
"""The longest wait, in seconds, between attempts to reconnect the listener."""

FIRST_CONNECT_TIMEOUT: Final = 30.0
"""Seconds `Listener.start` waits for the first LISTEN before giving up."""

_RECONNECT_FIRST: Final = 0.02
_CLOSE_JOIN_TIMEOUT: Final = 10.0


@final
class Listener:
    """A LISTEN connection on a daemon thread; see the module documentation.

    ``connect()`` opens a connection (autocommit), ``deliver(payload)`` gets
    each notification's payload, or None after a reconnection.
    """

    __slots__ = (
        "__weakref__",
        "_channel",
        "_closed",
        "_connect",
        "_connection",
        "_deliver",
        "_error",
        "_listening",
        "_lock",
        "_pid",
        "_ready",
        "_thread",
        "_wake_read",
        "_wake_write",
    )

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        channel: str,
        deliver: Callable[[str | None], None],
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._deliver = deliver
        self._lock = threading.Lock()
        # Invariant: `_thread` is the running listener thread of this
        # process, or None; `_ready` is set once its first LISTEN succeeded
        # or failed, and `_error` holds the failure.
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: StoreError | None = None
        self._listening = False
        self._connection: psycopg.Connection[Any] | None = None
        self._closed = False
        self._pid = os.getpid()
        self._wake_read, self._wake_write = socket.socketpair()
        on_fork(self)

    @property
    def listening(self) -> bool:
        """True while the connection is up and LISTENing."""
        return self._listening

    def start(self) -> None:
        """Start listening, if not yet, and wait until the first LISTEN is done.

        Raises:
            StoreError: the first connection or LISTEN failed (a later call
                tries again); after that, drops are handled on the thread.
            JournalClosedError: the store was closed.
        """
        with self._lock:
            if self._closed:
                raise JournalClosedError(
                    "the PostgresStore was closed; open a new one to follow"
                )
            if os.getpid() != self._pid:
                self.forget_after_fork()
            if self._thread is None:
                self._ready.clear()
                self._error = None
                self._thread = threading.Thread(
                    target=self._run,
                    name=f"phyxius-listen-{self._channel}",
                    daemon=True,
                )
                self._thread.start()
            thread = self._thread
        if not self._ready.wait(FIRST_CONNECT_TIMEOUT):
            raise StoreError(
                f"LISTEN on channel {self._channel!r} did not start within "
                f"{FIRST_CONNECT_TIMEOUT:g}s; check that the server is reachable"
            )
        error = self._error
        if error is not None:
            with self._lock:
                if self._thread is thread:
                    self._thread = None
            raise error

    def forget_after_fork(self) -> None:
        """In a forked child: the thread is gone and the connection the parent's."""
        self._lock = threading.Lock()
        if self._connection is not None:
            disown(self._connection)
            self._connection = None
        self._thread = None
        self._listening = False
        self._ready = threading.Event()
        self._wake_read, self._wake_write = socket.socketpair()
        self._pid = os.getpid()

    def close(self) -> None:
        """Stop the thread and close the connection; waits for the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        try:
            self._wake_write.send(b"\0")
        except OSError:
            pass
        if thread is not None and thread is not threading.current_thread():
            # A thread stuck connecting is a daemon: do not wait for it forever.
            thread.join(_CLOSE_JOIN_TIMEOUT)
        self._wake_read.close()
        self._wake_write.close()

    # -- the thread -------------------------------------------------------------

    def _run(self) -> None:
        delay = _RECONNECT_FIRST
        connected_once = False
        while not self._closed:
            try:
                connection = self._listen()
            except StoreError as error:
                if not connected_once:
                    # The caller of `start` reports it; a later call retries.
                    self._error = error
                    self._ready.set()
                    return
                if self._pause(delay):
                    return
                delay = min(delay * 2, RECONNECT_CAP)
                continue

            delay = _RECONNECT_FIRST
            self._listening = True
            if connected_once:
                _logger.info("listening on channel %r again", self._channel)
                # Notifications sent while the connection was down are lost:
                # every follower must look for itself.
                self._deliver(None)
            connected_once = True
            self._ready.set()
            try:
                self._receive(connection)
            except Exception as error:
                if not self._closed:
                    _logger.warning(
                        "lost the LISTEN connection of channel %r (%s); "
                        "reconnecting, followers catch up when it is back",
                        self._channel,
                        describe_error(error),
                    )
            finally:
                self._listening = False
                self._connection = None
                try:
                    connection.close()
                except Exception as error:
                    _logger.debug("closing the LISTEN connection failed: %s", error)

    def _listen(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg import sql

        connection = self._connect()
        try:
            connection.execute(
                sql.SQL("LISTEN {}").format(sql.Identifier(self._channel))
            )
        except psycopg.Error as error:
            connection.close()
            raise StoreError(
                f"LISTEN on channel {self._channel!r} failed: "
                f"{describe_error(error)}; a connection pooler in transaction "
                "mode cannot LISTEN: use session mode, or PostgresStore(..., "
                "listen=False, poll_interval=...)"
            ) from None
        self._connection = connection
        return connection

    def _receive(self, connection: psycopg.Connection[Any]) -> None:
        """Pass on notifications until the store closes or the connection fails."""
        from psycopg import pq

        pgconn = connection.pgconn
        with selectors.DefaultSelector() as selector:
            selector.register(pgconn.socket, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                selector.select()
                if self._closed:
                    return
                # Raises when the server closed the connection.
                pgconn.consume_input()
                if pgconn.status != pq.ConnStatus.OK:
                    raise StoreError("the connection went bad")
                while (notify := pgconn.notifies()) is not None:
                    self._deliver(notify.extra.decode("utf-8", "replace"))

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the store closes first; True if it closed."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_read, selectors.EVENT_READ)
            selector.select(seconds)
        return self._closed
