"""A client of the collaboration service without a network, for the service's tests.

`LocalPeer` is what `CollaborationClient` is over a WebSocket, with the
network replaced by two queues the test drives: ``up`` holds the edits the
client has sent and the session has not yet received, ``inbox`` the messages
the session sent and the client has not yet read. A test decides when each
one moves, so it can make edits concurrent on purpose and deterministically.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from examples.realtime_collaboration import (
    ClientDocument,
    CollaborationService,
    Operation,
    Session,
    Submission,
)


class LocalPeer:
    """One user's client, connected to a `CollaborationService` in memory."""

    def __init__(self, session: Session, inbox: deque[dict[str, Any]]) -> None:
        hello = inbox.popleft()
        assert hello["type"] == "hello"
        self.session = session
        self.inbox = inbox
        self.hello = hello
        self.document = ClientDocument(hello["text"], hello["revision"])
        self.up: deque[Submission] = deque()
        self.participants: list[dict[str, Any]] = hello["participants"]
        self.error: dict[str, Any] | None = None

    @classmethod
    async def connect(
        cls, service: CollaborationService, document: str, user: str
    ) -> LocalPeer:
        inbox: deque[dict[str, Any]] = deque()
        session = await service.connect(document, user, inbox.append)
        return cls(session, inbox)

    @property
    def text(self) -> str:
        return self.document.text

    # -- the client's side ------------------------------------------------------------

    def insert(self, index: int, text: str) -> None:
        self._queue(self.document.insert(index, text))

    def delete(self, index: int, count: int) -> None:
        self._queue(self.document.delete(index, count))

    def edit(self, operation: Operation) -> None:
        self._queue(self.document.edit(operation))

    def _queue(self, submission: Submission | None) -> None:
        if submission is not None:
            self.up.append(submission)

    # -- the network ------------------------------------------------------------------

    async def send_next(self) -> bool:
        """Deliver the oldest sent edit to the session; False when none is waiting."""
        if not self.up:
            return False
        await self.session.receive(self.up.popleft().to_json())
        return True

    def read_next(self) -> bool:
        """Read the oldest message from the session; False when none is waiting."""
        if not self.inbox:
            return False
        message = self.inbox.popleft()
        kind = message["type"]
        if kind == "ack":
            self._queue(self.document.acknowledge(message["revision"]))
        elif kind == "op":
            operation = Operation.from_json(message["op"])
            self.document.receive(operation, message["revision"])
        elif kind == "presence":
            self.participants = message["participants"]
        elif kind == "error":
            self.error = message
        else:
            raise AssertionError(f"unexpected message {message!r}")
        return True

    def read_all(self) -> None:
        while self.read_next():
            pass


async def settle(*peers: LocalPeer) -> None:
    """Move every message in either direction until nothing is in flight."""
    moved = True
    while moved:
        moved = False
        for peer in peers:
            moved = await peer.send_next() or moved
            moved = peer.read_next() or moved
