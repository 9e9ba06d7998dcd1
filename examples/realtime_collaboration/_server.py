"""The server's copy of a document: revisions, history, and the edit log's records.

`ServerDocument` does no I/O either. The document process (``_document.py``)
asks it to `ServerDocument.prepare` an incoming edit, journals the resulting
`EditRecord`, and only then `ServerDocument.apply`-s it; a restarted process
rebuilds the same document by applying the journaled records again.

An edit arrives based on some revision ``base`` the client had seen. The
server transforms it against every operation applied since (revisions
``base + 1`` to the current one), in order; the result applies to the
current text and becomes the next revision. Each client numbers its edits
1, 2, 3, ...; an edit that arrives again with the number of the last one
applied (a retry after a lost reply) is recognised and not applied twice.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, final

from examples.realtime_collaboration._operation import (
    Operation,
    OperationError,
    transform,
)

__all__ = ["EditRecord", "EditRejected", "RejectionReason", "ServerDocument"]


class RejectionReason(enum.Enum):
    """Why the server refused an edit."""

    MALFORMED = "malformed"
    """The message or its operation is not well formed."""

    REVISION = "revision"
    """It is based on a revision the server does not have."""

    LENGTH = "length"
    """After transformation it does not fit the text (the client is out of step)."""

    SEQUENCE = "sequence"
    """Its edit number is neither the client's next nor a retry of its last."""

    UNAVAILABLE = "unavailable"
    """The document process did not answer, even after retries (a session's
    verdict; `ServerDocument` never gives it)."""


class EditRejected(Exception):
    """The server refused an edit; nothing was applied or journaled.

    ``reason`` says why. The client's copy no longer matches the server's, so
    the client should reconnect and start again from the server's text.
    """

    def __init__(self, message: str, *, reason: RejectionReason) -> None:
        super().__init__(message)
        self.reason = reason


@final
@dataclass(frozen=True, slots=True)
class EditRecord:
    """One applied edit, as the document's journal stores it."""

    revision: int
    """The revision this edit made (the first edit makes revision 1)."""

    client: str
    """The connection that sent it."""

    user: str
    """Who was typing."""

    edit: int
    """The client's number for the edit."""

    base: int
    """The revision the client based it on."""

    operation: Operation
    """The operation as applied: transformed against revisions ``base + 1`` on."""

    def to_json(self) -> dict[str, Any]:
        """The journal entry's data."""
        return {
            "type": "edit",
            "revision": self.revision,
            "client": self.client,
            "user": self.user,
            "edit": self.edit,
            "base": self.base,
            "op": self.operation.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EditRecord:
        """Read a journal entry's data back."""
        return cls(
            revision=data["revision"],
            client=data["client"],
            user=data["user"],
            edit=data["edit"],
            base=data["base"],
            operation=Operation.from_json(data["op"]),
        )


@final
class ServerDocument:
    """The authoritative text and every operation that made it."""

    def __init__(self) -> None:
        self.text = ""
        """The text at `revision`."""

        self.history: list[Operation] = []
        """Operation ``n`` made revision ``n + 1``."""

        # Invariant: for every client that ever had an edit applied, the
        # number of its last applied edit and the revision that edit made.
        self._last_edit: dict[str, tuple[int, int]] = {}

    @property
    def revision(self) -> int:
        """How many edits have been applied."""
        return len(self.history)

    def duplicate_of(self, client: str, edit: int) -> int | None:
        """The revision ``client``'s edit ``edit`` made, if it was the last applied."""
        last = self._last_edit.get(client)
        if last is not None and last[0] == edit:
            return last[1]
        return None

    def prepare(
        self, *, client: str, user: str, edit: int, base: int, operation: Operation
    ) -> EditRecord:
        """The record of applying ``operation`` as the next revision.

        Nothing changes until the record is passed to `apply`, so the caller
        can journal it first.

        Raises:
            EditRejected: the edit cannot be applied; nothing changed.
        """
        expected = self._last_edit.get(client, (0, 0))[0] + 1
        if edit != expected:
            raise EditRejected(
                f"edit {edit} of client {client!r} is out of sequence: the next is "
                f"{expected}, and only the last one ({expected - 1}) may be resent",
                reason=RejectionReason.SEQUENCE,
            )
        if not 0 <= base <= self.revision:
            raise EditRejected(
                f"edit {edit} of client {client!r} is based on revision {base}, but "
                f"the document is at revision {self.revision}",
                reason=RejectionReason.REVISION,
            )

        length = self._length_at(base)
        if operation.base_length != length:
            raise EditRejected(
                f"edit {edit} of client {client!r} applies to a text of "
                f"{operation.base_length} characters, but revision {base} had "
                f"{length}",
                reason=RejectionReason.LENGTH,
            )

        transformed = operation
        for concurrent in self.history[base:]:
            transformed, _ = transform(transformed, concurrent)
        return EditRecord(
            revision=self.revision + 1,
            client=client,
            user=user,
            edit=edit,
            base=base,
            operation=transformed,
        )

    def apply(self, record: EditRecord) -> None:
        """Make ``record`` the next revision (a prepared one, or a replayed one).

        Raises:
            OperationError: the record is not the next revision, or does not
                fit the text: the journal does not belong to this document.
        """
        if record.revision != self.revision + 1:
            raise OperationError(
                f"record of revision {record.revision} cannot follow revision "
                f"{self.revision}"
            )
        self.text = record.operation.apply(self.text)
        self.history.append(record.operation)
        self._last_edit[record.client] = (record.edit, record.revision)

    def _length_at(self, revision: int) -> int:
        # Operation n applied to revision n, so it knows that revision's length.
        if revision == self.revision:
            return len(self.text)
        return self.history[revision].base_length

    def __repr__(self) -> str:
        return f"<ServerDocument revision={self.revision} {self.text!r}>"
