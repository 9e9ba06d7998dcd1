"""One supervised process per document: the single writer of its edit log.

The process owns the authoritative `ServerDocument`. Edits reach it as
`Submit` messages, one at a time in mailbox order, which is what orders
concurrent edits into revisions. For each edit it:

1. transforms the edit against the revisions its client had not seen
   (`ServerDocument.prepare`); a bad edit is refused (the asker gets
   `EditRejected`) and nothing changes;
2. appends the `EditRecord` to the document's journal, with
   ``expected_sequence`` equal to the current revision, so a second writer
   could never interleave (revision ``n`` is journal sequence ``n - 1``);
3. applies it, moves the carets in the presence atom, and replies.

The journal append is the commit: once it returns, the edit is durable (on a
`SqliteStore`), and the journal's subscribers (the sessions) have already
queued the acknowledgement and the broadcast. So when the process crashes,
its supervisor restarts it, and ``init`` replays the journal into a fresh
`ServerDocument`: every acknowledged edit is there, and nothing else is. An
ask that was in flight at the crash fails; the session retries it with the
same edit number, which the rebuilt document recognises (`ServerDocument.
duplicate_of`) instead of applying twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from examples.realtime_collaboration._operation import Operation
from examples.realtime_collaboration._presence import Presence
from examples.realtime_collaboration._server import (
    EditRecord,
    EditRejected,
    ServerDocument,
)
from phyxius.journal import Journal
from phyxius.process import ProcessSpec, Tools

__all__ = [
    "Applied",
    "Crash",
    "DocumentContext",
    "DocumentSnapshot",
    "GetSnapshot",
    "SimulatedCrash",
    "Submit",
    "document_spec",
]


class SimulatedCrash(RuntimeError):
    """Fault injection: raised by a document process told to `Crash`."""


# -- messages ------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class Submit:
    """Apply a client's edit; the answer is `Applied`, or `EditRejected` raised."""

    client: str
    user: str
    edit: int
    base: int
    operation: Operation


@final
@dataclass(frozen=True, slots=True)
class GetSnapshot:
    """Ask for the current text; the answer is a `DocumentSnapshot`."""


@final
@dataclass(frozen=True, slots=True)
class Crash:
    """Fault injection: crash now, or right after the next edit is journaled.

    ``after_commit=True`` crashes between the journal append and the reply:
    the edit is durable and broadcast, but its asker hears of a crash instead
    of an answer, which is the case a retry must not turn into a second edit.
    """

    reason: str = "simulated crash"
    after_commit: bool = False


@final
@dataclass(frozen=True, slots=True)
class Applied:
    """An edit is in the log as ``revision`` (``duplicate``: it was already)."""

    revision: int
    duplicate: bool = False


@final
@dataclass(frozen=True, slots=True)
class DocumentSnapshot:
    """The text at a revision."""

    text: str
    revision: int


@final
@dataclass(frozen=True, slots=True)
class DocumentContext:
    """What a document process is spawned with; the same for every restart."""

    document: str
    journal: Journal
    """The document's edit log: one entry per revision."""
    presence: Presence


# -- the process ---------------------------------------------------------------


@dataclass(slots=True)
class _State:
    document: ServerDocument
    crash_after_commit: str | None = None


def _init(ctx: DocumentContext) -> _State:
    # Event sourcing in small: the document is whatever its log says.
    document = ServerDocument()
    for entry in ctx.journal:
        document.apply(EditRecord.from_json(entry.data))
    return _State(document)


def _handle(state: _State, message: object, tools: Tools) -> _State:
    ctx: DocumentContext = tools.ctx
    document = state.document
    match message:
        case Submit(client=client, user=user, edit=edit, base=base, operation=op):
            duplicate = document.duplicate_of(client, edit)
            if duplicate is not None:
                tools.reply(Applied(duplicate, duplicate=True))
                return state
            try:
                record = document.prepare(
                    client=client, user=user, edit=edit, base=base, operation=op
                )
            except EditRejected as rejected:
                # A bad edit is the client's problem, not a reason to crash.
                tools.defer_reply().fail(rejected)
                return state

            ctx.journal.append(record.to_json(), expected_sequence=document.revision)
            document.apply(record)
            ctx.presence.edited(client, record.operation)

            if state.crash_after_commit is not None:
                raise SimulatedCrash(state.crash_after_commit)
            tools.reply(Applied(record.revision))
        case GetSnapshot():
            tools.reply(DocumentSnapshot(document.text, document.revision))
        case Crash(reason=reason, after_commit=True):
            state.crash_after_commit = reason
        case Crash(reason=reason):
            raise SimulatedCrash(reason)
        case _:
            # Let it crash: a message nobody sends is a bug to hear about.
            raise TypeError(f"a document process got {message!r}")
    return state


document_spec = ProcessSpec(init=_init, handle=_handle, max_inbox=10_000)
"""The spec every document process is spawned from, with a `DocumentContext`."""
