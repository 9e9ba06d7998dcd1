"""The collaboration service, driven through sessions in memory.

`LocalPeer` (``_peers.py``) stands in for the WebSocket client, so these
tests decide exactly when each message moves and can make edits concurrent
on purpose: the journal they write is the same on every run, and one of them
is pinned by a journal snapshot. The document processes run under the
``supervisor`` fixture, their journals come from ``journal_factory``, the
presence atoms from ``atom``, and every edit is an effect whose context names
the document, the client and the user.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples.realtime_collaboration import (
    DEFAULT_RETRY,
    CollaborationService,
    EditRecord,
    ServerDocument,
)
from examples.realtime_collaboration.tests._peers import LocalPeer, settle
from examples.realtime_collaboration.tests.conftest import numbered_clients
from phyxius import InvalidDurationError, RetryPolicy
from phyxius.clock import ControlledClock
from phyxius.effect import ContextLogFilter
from phyxius.journal import Journal
from pytest_phyxius import AtomFactory, SupervisorFixture
from pytest_phyxius.snapshot import JournalSnapshotFixture

if TYPE_CHECKING:
    from pytest_phyxius import JournalFactory


NANOSECOND = 1e-9


def replayed(journal: Journal) -> ServerDocument:
    """The document its journal describes."""
    document = ServerDocument()
    for entry in journal:
        document.apply(EditRecord.from_json(entry.data))
    return document


# -- editing together ---------------------------------------------------------------


async def test_concurrent_edits_converge_and_the_history_is_pinned_by_a_snapshot(
    service: CollaborationService,
    supervisor: SupervisorFixture,
    journal_snapshot: JournalSnapshotFixture,
) -> None:
    ada = await LocalPeer.connect(service, "notes", "ada")
    bob = await LocalPeer.connect(service, "notes", "bob")
    document = service.documents["notes"]

    # Both type at the start of the empty document, neither having seen the
    # other's edit: the server puts the later one first.
    ada.insert(0, "world")
    bob.insert(0, "hello")
    await ada.send_next()
    await bob.send_next()
    await settle(ada, bob)
    assert ada.text == bob.text == "helloworld"

    # A delete and an insert in the same place, concurrently.
    ada.delete(0, 5)
    bob.insert(5, ", ")
    ada.insert(0, "HELLO")  # buffered behind ada's delete
    await settle(bob, ada)
    assert ada.text == bob.text == "HELLO, world"

    # The process crashes right after journaling bob's next edit: his ask
    # fails, the session retries it with the same edit number, and the
    # restarted process recognises it instead of applying it twice.
    document.crash(after_commit=True)
    bob.insert(12, "!")
    await settle(ada, bob)
    assert ada.text == bob.text == "HELLO, world!"

    supervisor.assert_restarted("document:notes", times=1)
    assert (await document.snapshot()).text == "HELLO, world!"
    assert document.journal == journal_snapshot


async def test_a_crash_loses_no_acknowledged_edit(
    service: CollaborationService, supervisor: SupervisorFixture
) -> None:
    ada = await LocalPeer.connect(service, "notes", "ada")
    for word in ("one ", "two ", "three "):
        ada.insert(len(ada.text), word)
        await settle(ada)
    assert ada.document.synchronized
    document = service.documents["notes"]

    document.crash()
    await supervisor.wait_for("restarted", "document:notes")

    supervisor.assert_restarted("document:notes", times=1)
    snapshot = await document.snapshot()
    assert (snapshot.text, snapshot.revision) == ("one two three ", 3)
    ada.insert(0, "zero ")
    await settle(ada)
    assert ada.text == (await document.snapshot()).text == "zero one two three "


async def test_an_edit_in_flight_when_the_process_crashes_is_applied_once(
    service: CollaborationService, supervisor: SupervisorFixture
) -> None:
    ada = await LocalPeer.connect(service, "notes", "ada")
    bob = await LocalPeer.connect(service, "notes", "bob")
    document = service.documents["notes"]

    document.crash()  # queued before both edits: both asks fail and retry
    ada.insert(0, "a")
    bob.insert(0, "b")
    await asyncio.gather(ada.send_next(), bob.send_next())
    await settle(ada, bob)

    supervisor.assert_restarted("document:notes", times=1)
    assert sorted(ada.text) == ["a", "b"]
    assert ada.text == bob.text == (await document.snapshot()).text
    assert len(document.journal) == 2


async def test_a_document_in_a_sqlite_journal_outlives_the_service(
    supervisor: SupervisorFixture, journal_factory: JournalFactory, atom: AtomFactory
) -> None:
    def open_journal(name: str) -> Journal:
        return journal_factory(name, store="sqlite")

    first = await CollaborationService.start(
        supervisor, open_journal=open_journal, atoms=atom
    )
    ada = await LocalPeer.connect(first, "notes", "ada")
    ada.insert(0, "kept on disk")
    await settle(ada)
    await first.close()

    second = await CollaborationService.start(
        supervisor, open_journal=open_journal, atoms=atom
    )
    bob = await LocalPeer.connect(second, "notes", "bob")
    await second.close()

    assert (bob.hello["text"], bob.hello["revision"]) == ("kept on disk", 1)
    assert replayed(journal_factory("document:notes", store="sqlite")).text == (
        "kept on disk"
    )


async def test_two_sessions_opening_a_new_document_share_its_process(
    service: CollaborationService, supervisor: SupervisorFixture
) -> None:
    ada, bob = await asyncio.gather(
        LocalPeer.connect(service, "notes", "ada"),
        LocalPeer.connect(service, "notes", "bob"),
    )

    assert list(service.documents) == ["notes"]
    assert ada.session.document is bob.session.document
    spawned = [e for e in supervisor.events if e.type == "process.spawned"]
    assert [e.data["name"] for e in spawned] == ["documents", "document:notes"]


# -- presence -----------------------------------------------------------------------


async def test_sessions_see_who_is_there_and_where_their_carets_are(
    service: CollaborationService, controlled_clock: ControlledClock
) -> None:
    ada = await LocalPeer.connect(service, "notes", "ada")
    bob = await LocalPeer.connect(service, "notes", "bob")
    ada.insert(0, "abc")
    await settle(ada, bob)

    await bob.session.receive({"type": "cursor", "index": 1})
    ada.read_all()
    assert [(p["user"], p["cursor"]) for p in ada.participants] == [
        ("ada", 3),
        ("bob", 1),
    ]

    bob.session.close()
    ada.read_all()
    assert [p["user"] for p in ada.participants] == ["ada"]
    assert ada.hello["participants"] == []
    assert [p["user"] for p in bob.hello["participants"]] == ["ada"]


async def test_a_quiet_participant_goes_idle_on_the_clock(
    service: CollaborationService, controlled_clock: ControlledClock
) -> None:
    ada = await LocalPeer.connect(service, "notes", "ada")
    bob = await LocalPeer.connect(service, "notes", "bob")
    await asyncio.sleep(30)
    ada.insert(0, "typing")
    await settle(ada, bob)

    def statuses() -> list[tuple[str, str]]:
        bob.read_all()
        return [(p["user"], p["status"]) for p in bob.participants]

    await asyncio.sleep(30 - NANOSECOND)
    assert statuses() == [("ada", "active"), ("bob", "active")]
    await asyncio.sleep(NANOSECOND)  # a minute since bob joined
    assert statuses() == [("ada", "active"), ("bob", "idle")]
    await asyncio.sleep(30)  # a minute since ada typed
    assert statuses() == [("ada", "idle"), ("bob", "idle")]
    assert controlled_clock.now().mono == 90


# -- effects: retries and context ---------------------------------------------------


async def test_every_log_record_of_an_edit_names_the_document_client_and_user(
    service: CollaborationService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(ContextLogFilter("document", "client", "user"))
    caplog.set_level(logging.DEBUG, logger="examples.realtime_collaboration")
    ada = await LocalPeer.connect(service, "notes", "ada")

    ada.insert(0, "x")
    await settle(ada)
    await ada.session.receive({"type": "nonsense"})

    stamped = [
        (r.getMessage(), r.document, r.client, r.user)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "examples.realtime_collaboration"
    ]
    assert stamped == [
        ("edit 1 based on revision 0", "notes", "client-1", "ada"),
        (
            "closing the session: type='nonsense' is not a message type; send 'op' "
            "or 'cursor' (malformed)",
            "notes",
            "client-1",
            "ada",
        ),
    ]


async def test_a_document_that_stays_down_closes_the_session_after_the_retries(
    supervisor: SupervisorFixture,
    journal_factory: JournalFactory,
    controlled_clock: ControlledClock,
) -> None:
    service = await CollaborationService.start(
        supervisor,
        open_journal=journal_factory,
        retry=RetryPolicy(max_attempts=3, base_delay=0.5),
    )
    ada = await LocalPeer.connect(service, "notes", "ada")
    await service.documents["notes"].ref.stop("maintenance")

    ada.insert(0, "lost")
    await ada.send_next()
    ada.read_all()

    assert ada.error is not None
    assert ada.error["reason"] == "unavailable"
    assert ada.error["message"].startswith("the document did not apply edit 1: ")
    assert ada.session.closed
    assert controlled_clock.now().mono == 1.5  # waited 0.5 s, then 1 s
    await service.close()


# -- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reason", "text"),
    [
        ("op", "malformed", r"^a message must be a JSON object$"),
        ({"type": "paste"}, "malformed", r"^type='paste' is not a message type; "),
        (
            {"type": "op", "edit": 0, "revision": 0, "op": ["x"]},
            "malformed",
            r"^edit=0 is not an edit number; send an int, 1 or more$",
        ),
        (
            {"type": "op", "edit": 1, "revision": "0", "op": ["x"]},
            "malformed",
            r"^revision='0' is not a revision; send an int, 0 or more$",
        ),
        (
            {"type": "op", "edit": 1, "revision": 0, "op": [0]},
            "malformed",
            r"^op\[0\]=0 \(type=int\) is not a component; ",
        ),
        (
            {"type": "cursor", "index": -1},
            "malformed",
            r"^index=-1 is not a cursor position; send an int, 0 or more$",
        ),
        (
            {"type": "op", "edit": 1, "revision": 9, "op": ["x"]},
            "revision",
            r"^edit 1 of client 'client-1' is based on revision 9, but the document "
            r"is at revision 0$",
        ),
        (
            {"type": "op", "edit": 1, "revision": 0, "op": [3]},
            "length",
            r"^edit 1 of client 'client-1' applies to a text of 3 characters, but "
            r"revision 0 had 0$",
        ),
        (
            {"type": "op", "edit": 2, "revision": 0, "op": ["x"]},
            "sequence",
            r"^edit 2 of client 'client-1' is out of sequence: the next is 1",
        ),
    ],
)
async def test_a_bad_message_gets_an_error_and_ends_the_session(
    service: CollaborationService, message: Any, reason: str, text: str
) -> None:
    ada = await LocalPeer.connect(service, "notes", "ada")

    await ada.session.receive(message)
    ada.read_all()

    assert ada.error is not None
    assert ada.error["reason"] == reason
    assert ada.error == ada.session.error
    assert re.match(text, ada.error["message"])
    assert ada.session.closed
    assert len(service.documents["notes"].journal) == 0
    await ada.session.receive({"type": "cursor", "index": 0})  # ignored now
    assert not ada.inbox


@pytest.mark.parametrize(
    ("document", "user", "message"),
    [
        (
            "../etc",
            "ada",
            r"^document_id='\.\./etc' is not a document id; use 1 to 64 letters, "
            r"digits, '_', '-' or '\.', starting with a letter or digit$",
        ),
        ("", "ada", r"^document_id='' is not a document id; "),
        ("notes", "  ", r"^user='  ' is not a user name; pass 1 to 64 characters$"),
        ("notes", "x" * 65, r"^user='x{65}' is not a user name; "),
    ],
)
async def test_a_bad_document_or_user_is_refused_before_anything_opens(
    service: CollaborationService, document: str, user: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await service.connect(document, user, lambda message: None)
    assert service.documents == {}


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"idle_after": -1},
            InvalidDurationError,
            r"^idle_after=-1 is negative; durations must be zero or more seconds$",
        ),
        (
            {"ask_timeout": "soon"},
            InvalidDurationError,
            r"^ask_timeout='soon' \(type=str\) is not a duration; ",
        ),
        (
            {"retry": 3},
            ValueError,
            r"^retry=3 \(type=int\) is not a RetryPolicy; pass one, or leave the "
            r"default DEFAULT_RETRY$",
        ),
        (
            {"store": object(), "open_journal": print},
            ValueError,
            r"^store=<object object at .*> and open_journal=<built-in function "
            r"print> were both given; pass open_journal alone",
        ),
    ],
)
async def test_bad_options_are_refused_before_the_service_starts(
    supervisor: SupervisorFixture,
    options: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        await CollaborationService.start(supervisor, **options)
    assert supervisor.children == []


async def test_a_closed_service_opens_no_document(
    supervisor: SupervisorFixture,
) -> None:
    service = await CollaborationService.start(
        supervisor, client_ids=numbered_clients()
    )
    async with service:
        await service.document("notes")
    await service.close()  # closing twice is harmless

    with pytest.raises(RuntimeError, match=r"^the collaboration service was closed$"):
        await service.document("notes")


# -- convergence, with crashes ------------------------------------------------------

# A step is (action, client, kind, where, what): an edit by a client, the
# delivery of the next message up from a client or down to it, or a crash of
# the document process (now, or right after its next commit).
Step = tuple[str, int, str, int, str]
edit_steps = st.tuples(
    st.just("edit"),
    st.integers(0, 2),
    st.sampled_from(["insert", "insert", "delete"]),
    st.integers(0, 1_000),
    st.text("abcxyz", min_size=1, max_size=3),
)
delivery_steps = st.tuples(
    st.sampled_from(["up", "down"]),
    st.integers(0, 2),
    st.just(""),
    st.just(0),
    st.just(""),
)
crash_steps = st.tuples(
    st.just("crash"),
    st.just(0),
    st.sampled_from(["now", "after_commit"]),
    st.just(0),
    st.just(""),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    clients=st.integers(2, 3),
    steps=st.lists(
        st.one_of(edit_steps, delivery_steps, delivery_steps, crash_steps),
        max_size=40,
    ),
)
async def test_any_interleaving_with_crashes_converges_and_keeps_every_edit_once(
    supervisor: SupervisorFixture, clients: int, steps: list[Step]
) -> None:
    # Hypothesis runs every example in this one test, so each starts a
    # service of its own; crashes are many, so the intensity limit is high.
    async with await CollaborationService.start(
        supervisor, max_restarts=1_000, retry=replace(DEFAULT_RETRY, seed=0)
    ) as service:
        peers = [
            await LocalPeer.connect(service, "notes", f"user{index}")
            for index in range(clients)
        ]
        document = service.documents["notes"]

        for action, client, kind, where, what in steps:
            peer = peers[client % clients]
            if action == "edit":
                length = len(peer.text)
                position = where % (length + 1)
                if kind == "delete" and position < length:
                    peer.delete(position, min(len(what), length - position))
                else:
                    peer.insert(position, what)
            elif action == "up":
                await peer.send_next()
            elif action == "down":
                peer.read_next()
            else:
                document.crash(after_commit=kind == "after_commit")
        await settle(*peers)

        snapshot = await document.snapshot()
        assert [peer.text for peer in peers] == [snapshot.text] * clients
        assert replayed(document.journal).text == snapshot.text
        # Every edit a client sent is in the log exactly once.
        sent = sum(peer.document._edits for peer in peers)
        assert snapshot.revision == len(document.journal) == sent
        assert all(peer.error is None for peer in peers)
