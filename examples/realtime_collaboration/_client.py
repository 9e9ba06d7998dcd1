"""A client's copy of the document and the client side of the OT protocol.

`ClientDocument` does no I/O: it is told about local edits, acknowledgements
and the server's operations, and says what to send. The WebSocket client and
the tests drive the same state machine.

The protocol is the classic client/server one. The server orders every edit
into revisions 1, 2, 3, ...; a client sends one operation at a time, based on
the last revision it has seen, and waits for its acknowledgement. Meanwhile
it keeps editing: those edits are composed into a single *buffer* operation,
sent when the acknowledgement comes. So a client is always in one of three
states:

=====================  ==================  ===================================
state                  ``pending``         ``buffer``
=====================  ==================  ===================================
synchronized           None                None
awaiting an ack        sent, not acked     None
awaiting, buffering    sent, not acked     local edits not yet sent
=====================  ==================  ===================================

An operation from the server was made without the client's pending and
buffered edits, so it is transformed against them before it is applied
locally; and they are transformed against it, since the server will apply
them after it. The client's text is therefore always the server's text at
``revision`` with the pending and buffered edits applied on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from examples.realtime_collaboration._operation import (
    Operation,
    OperationError,
    transform,
    transform_index,
)

__all__ = ["ClientDocument", "ProtocolError", "Submission"]


class ProtocolError(RuntimeError):
    """The server said something the client's state cannot follow."""


@final
@dataclass(frozen=True, slots=True)
class Submission:
    """An operation to send to the server: ``{"type": "op", ...}`` on the wire."""

    edit: int
    """The client's own number for this edit, 1, 2, 3, ...; a retry reuses it,
    so the server can recognise an edit it has already applied."""

    revision: int
    """The server revision the operation is based on."""

    operation: Operation

    def to_json(self) -> dict[str, object]:
        """The message for the server."""
        return {
            "type": "op",
            "edit": self.edit,
            "revision": self.revision,
            "op": self.operation.to_json(),
        }


@final
class ClientDocument:
    """One client's view of a shared text, and its side of the OT protocol.

    Start it from the server's ``text`` at ``revision``. Then:

    * `edit` (or `insert`/`delete`) for a local change: it applies at once and
      returns a `Submission` to send, or None when one is already in flight;
    * `acknowledge` when the server acknowledges the submission in flight: it
      returns the next one to send, if edits were buffered meanwhile;
    * `receive` for another client's operation from the server: it returns
      the operation as applied to this text (for an editor to show).

    ``cursor`` is this client's caret, moved by its own and others' edits;
    `move_cursor` puts it elsewhere.
    """

    def __init__(self, text: str = "", revision: int = 0) -> None:
        self.text = text
        """What this client shows: the server's text plus its unacknowledged edits."""

        self.revision = revision
        """The last server revision this client has seen."""

        self.pending: Submission | None = None
        """The submission sent and not yet acknowledged."""

        self.buffer: Operation | None = None
        """Local edits made since `pending` was sent, composed into one."""

        self.cursor = 0
        """This client's caret position in `text`."""

        self._edits = 0

    @property
    def synchronized(self) -> bool:
        """True when every local edit has been acknowledged."""
        return self.pending is None

    # -- local edits -----------------------------------------------------------

    def edit(self, operation: Operation) -> Submission | None:
        """Apply a local edit; return what to send now, if anything."""
        self.text = operation.apply(self.text)
        self.cursor = transform_index(self.cursor, operation, own=True)
        if self.pending is None:
            self.pending = self._submission(operation)
            return self.pending
        self.buffer = (
            operation if self.buffer is None else self.buffer.compose(operation)
        )
        return None

    def insert(self, index: int, text: str) -> Submission | None:
        """Insert ``text`` at ``index`` of `text`; see `edit`."""
        return self.edit(Operation.insert(index, text, length=len(self.text)))

    def delete(self, index: int, count: int) -> Submission | None:
        """Delete ``count`` characters at ``index`` of `text`; see `edit`."""
        return self.edit(Operation.delete(index, count, length=len(self.text)))

    def move_cursor(self, index: int) -> None:
        """Put the caret before character ``index`` of `text`.

        Raises:
            OperationError: ``index`` is not a position in `text`.
        """
        if type(index) is not int or not 0 <= index <= len(self.text):
            raise OperationError(
                f"index={index!r} is not a position in a text of {len(self.text)} "
                f"characters; pass an int from 0 to {len(self.text)}"
            )
        self.cursor = index

    # -- what the server says --------------------------------------------------

    def acknowledge(self, revision: int) -> Submission | None:
        """The server applied the pending submission as ``revision``.

        Returns the buffered edits as the next submission, or None.

        Raises:
            ProtocolError: nothing was pending, or ``revision`` skips one.
        """
        if self.pending is None:
            raise ProtocolError(
                f"acknowledgement of revision {revision} with no edit in flight"
            )
        self._check_next(revision)
        self.revision = revision
        self.pending = None
        if self.buffer is not None:
            self.pending = self._submission(self.buffer)
            self.buffer = None
        return self.pending

    def receive(self, operation: Operation, revision: int) -> Operation:
        """Apply another client's operation, the server's ``revision``.

        Returns the operation as it was applied to this client's text.

        Raises:
            ProtocolError: ``revision`` is not the next one.
        """
        self._check_next(revision)
        incoming = operation
        if self.pending is not None:
            pending, incoming = transform(self.pending.operation, incoming)
            # Kept rebased on the latest revision, so that the text is always
            # the server's at `revision` with `pending`, then `buffer`, on top.
            # The copy in flight is the one sent; the server rebases it too.
            self.pending = Submission(self.pending.edit, revision, pending)
        if self.buffer is not None:
            self.buffer, incoming = transform(self.buffer, incoming)
        self.text = incoming.apply(self.text)
        self.cursor = transform_index(self.cursor, incoming)
        self.revision = revision
        return incoming

    # -- helpers ---------------------------------------------------------------

    def _submission(self, operation: Operation) -> Submission:
        self._edits += 1
        return Submission(self._edits, self.revision, operation)

    def _check_next(self, revision: int) -> None:
        if revision != self.revision + 1:
            raise ProtocolError(
                f"revision {revision} arrived after {self.revision}; the server "
                "sends every revision in order, so the connection lost some"
            )

    def __repr__(self) -> str:
        state = (
            "synchronized"
            if self.pending is None
            else ("awaiting" if self.buffer is None else "buffering")
        )
        return f"<ClientDocument revision={self.revision} {state} {self.text!r}>"
