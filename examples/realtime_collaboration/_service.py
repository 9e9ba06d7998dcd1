"""The collaboration service: documents, their processes, and client sessions.

`CollaborationService` is transport-agnostic. A transport (the WebSocket
server in ``_websocket.py``, or a test) calls `CollaborationService.connect`
with a ``send`` callable for messages to the client, and hands every message
from the client to `Session.receive`.

Each document has three parts, made on first use:

* a journal, its edit log (one entry per revision), from ``open_journal``;
* a `Presence` (an atom, plus idle timers on the clock);
* a document process, spawned under the service's own supervisor
  (``documents``, one-for-one), which alone appends to the journal.

Sessions never talk to each other, nor does the process talk to them: every
session subscribes to the document's journal and forwards each committed
entry to its client, as an ``ack`` when the client made the edit and as an
``op`` otherwise; and it watches the presence atom. So a client hears about
each revision exactly once, in order, whether or not the process crashed
right after committing it.

Edits are submitted to the process as effects: an ask with a timeout,
retried with back-off (on the supervisor's clock) while the process is
restarting, with the document, client and user in the effect's context for
every log record on the way.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, final

from examples.realtime_collaboration._document import (
    Applied,
    Crash,
    DocumentContext,
    DocumentSnapshot,
    GetSnapshot,
    Submit,
    document_spec,
)
from examples.realtime_collaboration._operation import Operation, OperationError
from examples.realtime_collaboration._presence import (
    AtomFactory,
    Participants,
    Presence,
)
from examples.realtime_collaboration._server import EditRejected, RejectionReason
from phyxius import Change, Clock, Duration, create_journal, to_nanoseconds
from phyxius.effect import Effect, Err, Ok, RetryPolicy, effect
from phyxius.journal import Entry, Journal, MemoryStore, Store
from phyxius.process import Backoff, ProcessRef, Supervisor

__all__ = [
    "DEFAULT_RETRY",
    "CollaborationService",
    "Document",
    "Session",
    "SupervisorLike",
]

logger = logging.getLogger("examples.realtime_collaboration")

DEFAULT_RETRY: Final = RetryPolicy(
    max_attempts=6,
    base_delay=0.05,
    max_delay=1.0,
    jitter=0.2,
    retry_on=lambda error: not isinstance(error, EditRejected),
)
"""Asks to a document process: up to six attempts, 50 ms to 1 s apart.

Everything but a refusal is retried (a crash, a restart in progress, a full
mailbox, a timeout): the edit number makes a retry safe.
"""

_DOCUMENT_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SupervisorLike(Protocol):
    """What the service needs of its parent: a `Supervisor`, or the fixture."""

    @property
    def clock(self) -> Clock:
        """The tree's clock."""
        ...

    async def spawn_supervisor(
        self,
        *,
        name: str | None = ...,
        max_restarts: int = ...,
        within: Duration = ...,
        backoff: Backoff | None = ...,
    ) -> Supervisor:
        """Start a nested supervisor."""
        ...


@final
class Document:
    """One open document: its journal, presence and process."""

    def __init__(
        self,
        service: CollaborationService,
        document_id: str,
        journal: Journal,
        presence: Presence,
        ref: ProcessRef,
    ) -> None:
        self.service = service
        self.id = document_id
        self.journal = journal
        """The edit log: entry ``n`` made revision ``n + 1``."""
        self.presence = presence
        self.ref = ref
        """The document process (the ref stays valid across restarts)."""

    async def snapshot(self) -> DocumentSnapshot:
        """The process's current text and revision.

        Asked like an edit, with the service's timeout and retries, so a
        process that is restarting answers once it is back.
        """
        snapshot: DocumentSnapshot = await self.service._ask(
            self, GetSnapshot()
        ).run_or_raise(clock=self.service.clock, context={"document": self.id})
        return snapshot

    def crash(
        self, reason: str = "simulated crash", *, after_commit: bool = False
    ) -> None:
        """Fault injection: make the document process crash (see `Crash`)."""
        self.ref.send(Crash(reason, after_commit=after_commit))

    def __repr__(self) -> str:
        return f"<Document {self.id!r} {self.ref.status.value} {self.presence!r}>"


@final
class CollaborationService:
    """Documents edited together: one supervised process and journal each.

    Build it with `start`. ``open_journal(name)`` opens a document's journal
    (default: in an in-memory store, or in ``store``); journals it opened
    itself the service closes in `close`.
    """

    def __init__(
        self,
        documents: Supervisor,
        *,
        open_journal: Callable[[str], Journal],
        atoms: AtomFactory | None,
        idle_after: Duration,
        retry: RetryPolicy,
        ask_timeout: Duration,
        client_ids: Callable[[], str],
        owned_journals: list[Journal],
    ) -> None:
        self.supervisor = documents
        """The ``documents`` supervisor: one child process per open document."""
        self.clock: Clock = documents.clock
        self.idle_after = idle_after
        self.retry = retry
        self.ask_timeout = ask_timeout
        self._open_journal = open_journal
        self._atoms = atoms
        self._client_ids = client_ids
        self._documents: dict[str, Document] = {}
        self._opening: dict[str, asyncio.Future[Document]] = {}
        self._sessions: set[Session] = set()
        self._owned_journals = owned_journals
        self._closed = False

    @classmethod
    async def start(
        cls,
        supervisor: SupervisorLike,
        *,
        store: Store | None = None,
        open_journal: Callable[[str], Journal] | None = None,
        atoms: AtomFactory | None = None,
        idle_after: Duration = 60.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        ask_timeout: Duration = 2.0,
        client_ids: Callable[[], str] | None = None,
        max_restarts: int = 10,
        within: Duration = 60.0,
    ) -> CollaborationService:
        """Start the service under ``supervisor``.

        Document processes run under a nested one-for-one supervisor named
        ``documents`` (``max_restarts`` within ``within`` seconds). Journals
        come from ``open_journal(name)``, or live in ``store`` (default: a new
        `MemoryStore`) on the supervisor's clock. ``atoms`` makes the presence
        atoms. Participants go idle after ``idle_after`` seconds without
        activity. Asks to a document wait ``ask_timeout`` and are retried by
        ``retry``. ``client_ids()`` names each new connection (default: random
        hex).

        Raises:
            phyxius.InvalidDurationError: ``idle_after`` or ``ask_timeout`` is
                not a duration (also a ``ValueError``); nothing was started.
            ValueError: ``retry`` is not a `RetryPolicy`, or ``store`` and
                ``open_journal`` were both given; nothing was started.
        """
        # Everything is checked before the supervisor exists, so a bad
        # argument leaves nothing behind to stop.
        to_nanoseconds(idle_after, name="idle_after")
        to_nanoseconds(ask_timeout, name="ask_timeout")
        if not isinstance(retry, RetryPolicy):
            raise ValueError(
                f"retry={retry!r} (type={type(retry).__name__}) is not a "
                "RetryPolicy; pass one, or leave the default DEFAULT_RETRY"
            )
        if store is not None and open_journal is not None:
            raise ValueError(
                f"store={store!r} and open_journal={open_journal!r} were both "
                "given; pass open_journal alone to choose every journal, or store "
                "alone to keep them all in it"
            )

        documents = await supervisor.spawn_supervisor(
            name="documents", max_restarts=max_restarts, within=within
        )
        owned: list[Journal] = []
        if open_journal is None:
            chosen_store = MemoryStore() if store is None else store

            def open_journal(name: str) -> Journal:
                journal = create_journal(chosen_store, name=name, clock=documents.clock)
                owned.append(journal)
                return journal

        service = cls(
            documents,
            open_journal=open_journal,
            atoms=atoms,
            idle_after=idle_after,
            retry=retry,
            ask_timeout=ask_timeout,
            client_ids=client_ids or (lambda: secrets.token_hex(6)),
            owned_journals=owned,
        )
        return service

    # -- documents -------------------------------------------------------------

    @property
    def documents(self) -> dict[str, Document]:
        """The open documents, by id."""
        return dict(self._documents)

    async def document(self, document_id: str) -> Document:
        """The document ``document_id``, opened (and its process spawned) if need be.

        Raises:
            ValueError: ``document_id`` is not 1 to 64 letters, digits, ``_``,
                ``-`` or ``.``, starting with a letter or digit.
        """
        if not isinstance(document_id, str) or not _DOCUMENT_ID.match(document_id):
            raise ValueError(
                f"document_id={document_id!r} is not a document id; use 1 to 64 "
                "letters, digits, '_', '-' or '.', starting with a letter or digit"
            )
        self._check_open()
        found = self._documents.get(document_id)
        if found is not None:
            return found

        # Two sessions opening one new document at once share one opening.
        opening = self._opening.get(document_id)
        if opening is not None:
            return await asyncio.shield(opening)
        opening = self._opening[document_id] = (
            asyncio.get_running_loop().create_future()
        )
        try:
            document = await self._open(document_id)
        except BaseException as error:
            opening.set_exception(error)
            opening.exception()  # retrieved: the caller below raises it
            raise
        else:
            opening.set_result(document)
            return document
        finally:
            del self._opening[document_id]

    async def _open(self, document_id: str) -> Document:
        journal = self._open_journal(f"document:{document_id}")
        presence = Presence(
            self.clock,
            idle_after=self.idle_after,
            atoms=self._atoms,
            name=f"presence:{document_id}",
        )
        ref = await self.supervisor.spawn(
            document_spec,
            name=f"document:{document_id}",
            ctx=DocumentContext(document_id, journal, presence),
        )
        document = self._documents[document_id] = Document(
            self, document_id, journal, presence, ref
        )
        return document

    # -- sessions --------------------------------------------------------------

    async def connect(
        self, document_id: str, user: str, send: Callable[[dict[str, Any]], object]
    ) -> Session:
        """Connect ``user`` to a document; ``send(message)`` reaches their client.

        The first message sent is ``hello``, with the text, the revision, the
        client id and the participants; then come ``ack``, ``op``,
        ``presence`` and, last of all, ``error`` messages.

        Raises:
            ValueError: a bad document id or user name.
        """
        if not isinstance(user, str) or not 0 < len(user.strip()) <= 64:
            raise ValueError(
                f"user={user!r} is not a user name; pass 1 to 64 characters"
            )
        document = await self.document(document_id)
        session = Session(self, document, self._client_ids(), user.strip(), send)
        self._sessions.add(session)
        try:
            await session._open()
        except BaseException:
            session.close()
            raise
        return session

    def _forget(self, session: Session) -> None:
        self._sessions.discard(session)

    def _ask(self, document: Document, message: object) -> Effect[Any]:
        """Ask the document process, with the service's timeout and retries."""
        return effect(
            lambda env: document.ref.ask(message, timeout=self.ask_timeout)
        ).retry(self.retry)

    # -- the end ---------------------------------------------------------------

    async def close(self) -> None:
        """Disconnect every session, stop every document process, close journals."""
        if self._closed:
            return
        self._closed = True
        for session in list(self._sessions):
            session.close()
        for document in self._documents.values():
            document.presence.close()
        await self.supervisor.shutdown()
        for journal in self._owned_journals:
            journal.close()

    async def __aenter__(self) -> CollaborationService:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the collaboration service was closed")


@final
class Session:
    """One client's connection to one document.

    Feed it every message from the client with `receive`. After an error (a
    malformed message, a refused edit, a document that stays unavailable) it
    sends an ``error`` message and closes: `closed` is True and `error` says
    why, and the transport should drop the connection.

    Each message is handled inside an effect whose context holds
    ``document``, ``client`` and ``user``, so a `phyxius.effect.
    ContextLogFilter` stamps them on every log record the handling writes.
    """

    def __init__(
        self,
        service: CollaborationService,
        document: Document,
        client: str,
        user: str,
        send: Callable[[dict[str, Any]], object],
    ) -> None:
        self.service = service
        self.document = document
        self.client = client
        self.user = user
        self.closed = False
        self.error: dict[str, Any] | None = None
        """The ``error`` message the session closed with, if any."""
        self._send = send

        # Invariant: the last revision the client was sent (in the hello, an
        # ack or an op); entries up to it are never forwarded again.
        self._revision = 0
        # Entries committed while the session is opening, held until the
        # client has its hello; None once open.
        self._early: list[Entry] | None = []
        self._unsubscribe: Callable[[], object] | None = None
        self._unwatch: Callable[[], object] | None = None

    async def _open(self) -> None:
        # Subscribe before asking for the text, so nothing committed in
        # between is missed: entries arriving meanwhile wait in `_early`.
        document = self.document
        self._unsubscribe = document.journal.subscribe(self._on_entry)
        snapshot: DocumentSnapshot = await self.service._ask(
            document, GetSnapshot()
        ).run_or_raise(clock=self.service.clock, context=self._context())

        self._send(
            {
                "type": "hello",
                "document": document.id,
                "client": self.client,
                "user": self.user,
                "revision": snapshot.revision,
                "text": snapshot.text,
                "participants": [p.to_json() for p in document.presence.participants],
            }
        )
        self._revision = snapshot.revision
        early, self._early = self._early or [], None
        for entry in early:
            self._on_entry(entry)

        self._unwatch = document.presence.watch(self._on_presence)
        document.presence.join(self.client, self.user)

    # -- from the client -------------------------------------------------------

    async def receive(self, message: object) -> None:
        """Handle one message from the client (a ``dict`` decoded from JSON).

        ``{"type": "op", "edit": n, "revision": r, "op": [...]}`` submits an
        edit; ``{"type": "cursor", "index": i}`` moves the caret. Anything
        else closes the session with an ``error``. Returns once the message
        is handled: for an edit, once it is in the journal (its ``ack`` has
        been sent) or refused.
        """
        if self.closed:
            return
        await effect(lambda env: self._handle(message)).run_or_raise(
            clock=self.service.clock, context=self._context()
        )

    async def _handle(self, message: object) -> None:
        if not isinstance(message, Mapping):
            self._fail(RejectionReason.MALFORMED, "a message must be a JSON object")
            return
        kind = message.get("type")
        if kind == "op":
            await self._submit(message)
        elif kind == "cursor":
            index = message.get("index")
            if type(index) is not int or index < 0:
                self._fail(
                    RejectionReason.MALFORMED,
                    f"index={index!r} is not a cursor position; send an int, 0 or more",
                )
                return
            self.document.presence.touch(self.client, cursor=index)
        else:
            self._fail(
                RejectionReason.MALFORMED,
                f"type={kind!r} is not a message type; send 'op' or 'cursor'",
            )

    async def _submit(self, message: Mapping[str, Any]) -> None:
        edit, base = message.get("edit"), message.get("revision")
        if type(edit) is not int or edit < 1:
            self._fail(
                RejectionReason.MALFORMED,
                f"edit={edit!r} is not an edit number; send an int, 1 or more",
            )
            return
        if type(base) is not int or base < 0:
            self._fail(
                RejectionReason.MALFORMED,
                f"revision={base!r} is not a revision; send an int, 0 or more",
            )
            return
        try:
            operation = Operation.from_json(message.get("op"))
        except OperationError as error:
            self._fail(RejectionReason.MALFORMED, str(error))
            return

        logger.debug("edit %d based on revision %d", edit, base)
        submit = Submit(self.client, self.user, edit, base, operation)
        match await self.service._ask(self.document, submit).run(
            clock=self.service.clock
        ):
            case Ok(Applied()):
                pass  # the acknowledgement went out when the journal committed
            case Err(EditRejected() as rejected):
                self._fail(rejected.reason, str(rejected))
            case Err(failure):
                self._fail(
                    RejectionReason.UNAVAILABLE,
                    f"the document did not apply edit {edit}: {failure}",
                )

    # -- to the client ---------------------------------------------------------

    def _on_entry(self, entry: Entry) -> None:
        if self._early is not None:
            self._early.append(entry)
            return
        data = entry.data
        revision = data["revision"]
        if revision <= self._revision or self.closed:
            return  # already in the text the client was sent
        self._revision = revision
        if data["client"] == self.client:
            self._send({"type": "ack", "revision": revision})
        else:
            self._send(
                {
                    "type": "op",
                    "revision": revision,
                    "op": data["op"],
                    "client": data["client"],
                    "user": data["user"],
                }
            )

    def _on_presence(self, change: Change[Participants]) -> None:
        if not self.closed:
            self._send(
                {
                    "type": "presence",
                    "participants": [p.to_json() for p in change.new],
                }
            )

    # -- the end ---------------------------------------------------------------

    def close(self) -> None:
        """Leave the document: stop forwarding, and leave its presence."""
        if self.closed:
            return
        self.closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._unwatch is not None:
            self._unwatch()
        self.document.presence.leave(self.client)
        self.service._forget(self)

    def _fail(self, reason: RejectionReason, text: str) -> None:
        logger.warning("closing the session: %s (%s)", text, reason.value)
        self.error = {"type": "error", "reason": reason.value, "message": text}
        self._send(self.error)
        self.close()

    def _context(self) -> dict[str, str]:
        return {"document": self.document.id, "client": self.client, "user": self.user}

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"revision {self._revision}"
        return f"<Session {self.client} {self.user!r} on {self.document.id!r} {state}>"
