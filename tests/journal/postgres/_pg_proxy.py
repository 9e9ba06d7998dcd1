"""A TCP proxy in front of the PostgreSQL server, for injecting network faults.

Stores under test connect to the proxy's port; the proxy forwards bytes both
ways and can, on request:

* ``refuse = True``: close every new connection at once, as if the server
  were unreachable (a store cannot reconnect while it is set);
* ``cut()``: drop every open connection, as a network failure would;
* ``swallow_next_response(containing=marker)``: let the next request whose
  bytes contain ``marker`` through, discard the server's answer to it and
  drop that connection - the statement ran (and may have committed) but the
  client never hears back;
* ``drop_request(containing=marker, starting=kind, after=n)``: let ``n``
  requests whose bytes contain ``marker`` (and start with ``kind``, such as
  ``b"B"`` for running a prepared statement) through, then drop the next
  one, unsent, and its connection - the statement never reaches the server.

Requests are picked by content, not by connection, because a store chooses
among its connections itself. A marker is something only that request
carries: an entry's id (sent as text), or the name of a statement's table
or function while the statement is sent with its text (psycopg prepares a
statement on a connection after its fifth run, and then sends its name).
"""

from __future__ import annotations

import selectors
import socket
import threading
from typing import Final, final

_CHUNK: Final = 65536


@final
class Proxy:
    """Forwards 127.0.0.1:<port> to ``target``; see the module documentation."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.refuse = False
        self.swallowed = threading.Event()
        self.dropped = threading.Event()
        self._lock = threading.Lock()
        # Invariant: at most one fault is armed at a time; `_swallowing` holds
        # the client sockets whose next answer is to be discarded.
        self._swallow_marker: bytes | None = None
        self._drop_marker: bytes | None = None
        self._drop_start = b""
        self._drop_after = 0
        self._swallowing: set[socket.socket] = set()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()
        self._threads: list[threading.Thread] = []

    def dsn(self, dsn: str) -> str:
        """``dsn`` pointed at the proxy instead of the server."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(dsn, host="127.0.0.1", port=str(self.port))

    def swallow_next_response(self, containing: bytes) -> None:
        """Discard the answer to the next request containing ``containing``."""
        with self._lock:
            self.swallowed.clear()
            self._swallow_marker = containing

    def drop_request(
        self, containing: bytes, starting: bytes = b"", after: int = 0
    ) -> None:
        """Drop a request containing ``containing``: the one after ``after``."""
        with self._lock:
            self.dropped.clear()
            self._drop_marker = containing
            self._drop_start = starting
            self._drop_after = after

    def cut(self) -> None:
        """Drop every open connection."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            _close(client)
            _close(server)

    def close(self) -> None:
        """Stop accepting and drop everything."""
        self._closed = True
        _close(self._listener)
        self.cut()
        self._acceptor.join(5)
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
            thread = threading.Thread(
                target=self._pump, args=(client, server), daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(client, selectors.EVENT_READ, server)
                selector.register(server, selectors.EVENT_READ, client)
                while True:
                    # Closing a socket does not wake a select on it in another
                    # thread: look at whether this pair was cut, now and then.
                    if self._closed or (client, server) not in self._pairs:
                        return
                    for key, _ in selector.select(0.05):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(_CHUNK)
                        if not data:
                            return
                        if not self._forward(source is client, client, data):
                            return
                        key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            _close(client)
            _close(server)
            with self._lock:
                if (client, server) in self._pairs:
                    self._pairs.remove((client, server))

    def _forward(self, from_client: bool, client: socket.socket, data: bytes) -> bool:
        """Whether to pass ``data`` on; False ends the connection instead."""
        with self._lock:
            if from_client:
                drop = self._drop_marker
                if (
                    drop is not None
                    and drop in data
                    and data.startswith(self._drop_start)
                ):
                    if self._drop_after:
                        self._drop_after -= 1
                        return True
                    self._drop_marker = None
                    self.dropped.set()
                    return False
                swallow = self._swallow_marker
                if swallow is not None and swallow in data:
                    self._swallow_marker = None
                    self._swallowing.add(client)
                return True
            if client in self._swallowing:
                self.swallowed.set()
                return False
            return True


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
