"""The collaboration service over WebSockets, and a client for it.

One WebSocket connection is one `Session`: the client opens
``ws://host:port/documents/<document>?user=<name>``, receives ``hello``, and
from then on both sides exchange JSON text messages:

===========  =========  ===================================================
message      direction  fields
===========  =========  ===================================================
``hello``    to client  ``document``, ``client``, ``user``, ``revision``,
                        ``text``, ``participants``
``op``       to server  ``edit``, ``revision`` (the base), ``op``
``cursor``   to server  ``index``
``ack``      to client  ``revision``: the client's edit in flight made it
``op``       to client  ``revision``, ``op``, ``client``, ``user``
``presence`` to client  ``participants``: client, user, cursor, status
``error``    to client  ``reason``, ``message``; the server then closes the
                        connection (code 1008)
===========  =========  ===================================================

A request for another path, or with a bad document id or user name, is
closed with code 1008 and the reason; one for a document that cannot be
opened now (the service is closing, its process does not answer) with 1013,
try again later.

The server writes to each connection from a queue of its own, so a slow
client never holds up the document process or the other clients. The
WebSocket library is `websockets <https://websockets.readthedocs.io>`_,
installed with the ``examples`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from typing import Any, Final, final
from urllib.parse import parse_qs, quote, unquote, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from examples.realtime_collaboration._client import ClientDocument, Submission
from examples.realtime_collaboration._operation import Operation
from examples.realtime_collaboration._service import CollaborationService

__all__ = ["CollaborationClient", "CollaborationServer"]

POLICY_VIOLATION: Final = 1008
"""The close code after an ``error`` message or a bad request."""

TRY_AGAIN_LATER: Final = 1013
"""The close code when the document cannot be opened now."""

_PATH: Final = re.compile(r"^/documents/(?P<document>[^/]+)$")


def _reason(text: str) -> str:
    # A close reason must fit in 123 bytes of UTF-8.
    encoded = text.encode()
    return (
        text if len(encoded) <= 123 else encoded[:120].decode(errors="ignore") + "..."
    )


@final
class CollaborationServer:
    """Serves a `CollaborationService` on a WebSocket port.

    ``await server.start()`` listens (on 127.0.0.1 and a port the OS picks, by
    default); `url` builds a client's address; ``await server.close()`` stops
    listening and closes every connection. ``ping_interval`` is the
    keep-alive (None: off).
    """

    def __init__(
        self, service: CollaborationService, *, ping_interval: float | None = 20.0
    ) -> None:
        self.service = service
        self.ping_interval = ping_interval
        self._server: Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host``:``port`` (port 0: any free port)."""
        self._server = await serve(
            self._serve, host, port, ping_interval=self.ping_interval
        )

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("the server is not started; await server.start()")
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    def url(self, document: str, user: str) -> str:
        """The address a client connects to, to edit ``document`` as ``user``."""
        return (
            f"ws://127.0.0.1:{self.port}/documents/{quote(document, safe='')}"
            f"?user={quote(user, safe='')}"
        )

    async def close(self) -> None:
        """Stop listening, close every connection and wait for their handlers."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> CollaborationServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _serve(self, connection: ServerConnection) -> None:
        url = urlsplit(connection.request.path if connection.request else "")
        match = _PATH.match(url.path)
        users = parse_qs(url.query).get("user", [])
        if match is None or len(users) != 1:
            await connection.close(
                POLICY_VIOLATION,
                "connect to /documents/<document>?user=<name>",
            )
            return

        outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        try:
            session = await self.service.connect(
                unquote(match["document"]), users[0], outbox.put_nowait
            )
        except ValueError as refused:
            await connection.close(POLICY_VIOLATION, _reason(str(refused)))
            return
        except Exception as error:
            # The document could not be opened (its process did not answer,
            # the service is closing): the client may try again later.
            await connection.close(
                TRY_AGAIN_LATER, _reason(f"the document is unavailable: {error}")
            )
            return

        writer = asyncio.create_task(_write(connection, outbox))
        try:
            async for raw in connection:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = None  # the session refuses it with a clear error
                await session.receive(message)
                if session.closed:
                    break
        except ConnectionClosed:
            pass
        finally:
            session.close()
            outbox.put_nowait(None)
            await writer
        if session.error is not None:
            await connection.close(POLICY_VIOLATION, _reason(session.error["message"]))


async def _write(
    connection: ServerConnection, outbox: asyncio.Queue[dict[str, Any] | None]
) -> None:
    """Send the session's messages in order until the None that ends them."""
    while (message := await outbox.get()) is not None:
        try:
            await connection.send(json.dumps(message))
        except ConnectionClosed:
            return


@final
class CollaborationClient:
    """An editor's connection: a `ClientDocument` kept in step over a WebSocket.

    ``client = await CollaborationClient.connect(url)``; then `insert`,
    `delete` and `move_cursor` edit at once, locally, and the protocol does
    the rest in the background. `text` is what the editor would show;
    `wait_until` waits for a condition on the client's state.
    """

    def __init__(self, connection: ClientConnection, hello: dict[str, Any]) -> None:
        self.connection = connection
        self.client_id: str = hello["client"]
        self.user: str = hello["user"]
        self.document = ClientDocument(hello["text"], hello["revision"])
        self.participants: list[dict[str, Any]] = hello["participants"]
        """The last ``presence`` list received."""
        self.error: dict[str, Any] | None = None
        """The server's ``error`` message, if it sent one."""
        self.received: list[dict[str, Any]] = []
        """Every message after ``hello``, in order (for tests and demos)."""
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls, url: str, *, ping_interval: float | None = 20.0
    ) -> CollaborationClient:
        """Connect and wait for the server's ``hello``.

        Raises:
            websockets.exceptions.ConnectionClosed: the server refused the
                connection (its reason says why).
        """
        connection = await connect(url, ping_interval=ping_interval, proxy=None)
        try:
            hello = json.loads(await connection.recv())
        except BaseException:
            await connection.close()
            raise
        return cls(connection, hello)

    @property
    def text(self) -> str:
        """The client's text: the server's plus its own unacknowledged edits."""
        return self.document.text

    @property
    def closed(self) -> bool:
        """True once the connection has ended."""
        return self._reader.done()

    # -- editing ---------------------------------------------------------------

    async def insert(self, index: int, text: str) -> None:
        """Insert ``text`` at ``index``: at once here, soon everywhere."""
        await self._submit(self.document.insert(index, text))

    async def delete(self, index: int, count: int) -> None:
        """Delete ``count`` characters at ``index``."""
        await self._submit(self.document.delete(index, count))

    async def edit(self, operation: Operation) -> None:
        """Apply any operation on the current text."""
        await self._submit(self.document.edit(operation))

    async def move_cursor(self, index: int) -> None:
        """Move the caret, and tell the others."""
        self.document.move_cursor(index)
        await self.connection.send(json.dumps({"type": "cursor", "index": index}))

    async def _submit(self, submission: Submission | None) -> None:
        if submission is not None:
            await self.connection.send(json.dumps(submission.to_json()))

    # -- waiting ---------------------------------------------------------------

    async def wait_until(
        self,
        predicate: Callable[[CollaborationClient], bool],
        *,
        timeout: float | None = None,
    ) -> None:
        """Return once ``predicate(self)`` holds (checked after every message).

        ``timeout`` is in seconds of the event loop's clock (None: no limit).

        Raises:
            ConnectionError: the connection ended first.
            TimeoutError: ``timeout`` passed first.
        """
        async with asyncio.timeout(timeout), self._changed:
            while not predicate(self):
                if self.closed:
                    raise ConnectionError(
                        f"the connection of {self.user!r} ended "
                        f"({self.error or 'closed'}) before the condition held"
                    )
                await self._changed.wait()

    async def synced(self, revision: int, *, timeout: float | None = None) -> None:
        """Wait until every local edit is acknowledged and ``revision`` is reached."""
        await self.wait_until(
            lambda client: (
                client.document.synchronized and client.document.revision >= revision
            ),
            timeout=timeout,
        )

    async def close(self) -> None:
        """Close the connection and wait for the reader to finish."""
        await self.connection.close()
        with contextlib.suppress(ConnectionClosed):
            await self._reader

    # -- the reader ------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for raw in self.connection:
                message = json.loads(raw)
                self.received.append(message)
                await self._dispatch(message)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        document = self.document
        kind = message["type"]
        if kind == "ack":
            await self._submit(document.acknowledge(message["revision"]))
        elif kind == "op":
            document.receive(Operation.from_json(message["op"]), message["revision"])
        elif kind == "presence":
            self.participants = message["participants"]
        elif kind == "error":
            self.error = message

    def __repr__(self) -> str:
        return f"<CollaborationClient {self.user!r} {self.document!r}>"
