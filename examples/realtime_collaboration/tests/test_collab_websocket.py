"""Editors over real WebSocket connections on loopback.

The server and its clients run on the test's virtual-time loop, talking over
real sockets. While a connection is open the loop gives socket I/O
``io_grace`` of real time (0.05 s by default) before it jumps to the next
timer; a peer in this process answers within microseconds, so a jump only
happens when every socket is quiet. Nothing here waits for time to pass
except on purpose (a participant going idle), and every wait for a message
has a timeout on the clock, so a lost message fails the test rather than
hanging it.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as raw_connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from examples.realtime_collaboration import (
    CollaborationClient,
    CollaborationServer,
    CollaborationService,
    EditRecord,
    ServerDocument,
)
from examples.realtime_collaboration.tests.conftest import Connect
from phyxius.clock import ControlledClock
from pytest_phyxius import AtomFactory, SupervisorFixture

if TYPE_CHECKING:
    from pytest_phyxius import JournalFactory

WAIT = 10.0
"""Seconds of the clock any wait for a message may take before the test fails."""


async def converged(*clients: CollaborationClient) -> str:
    """Wait until every client is synchronized with the server; return the text."""
    for client in clients:
        await client.wait_until(lambda c: c.document.synchronized, timeout=WAIT)
    document = clients[0].document
    service_revision = max(client.document.revision for client in clients)
    for client in clients:
        await client.synced(service_revision, timeout=WAIT)
    texts = {client.text for client in clients}
    assert len(texts) == 1, f"the clients differ: {texts}"
    return document.text


async def read_until_closed(raw: ClientConnection) -> list[dict[str, Any]]:
    """Every message until the server closes the connection."""
    messages = []
    try:
        while True:
            messages.append(json.loads(await raw.recv()))
    except ConnectionClosed:
        return messages


# -- editing together ---------------------------------------------------------------


async def test_editors_typing_at_once_converge_on_the_servers_text(
    connect: Connect, service: CollaborationService
) -> None:
    ada = await connect("ada")
    bob = await connect("bob")

    await ada.insert(0, "Hello")
    await bob.insert(0, "world")
    await ada.insert(5, ", ")
    await bob.delete(0, 1)

    text = await converged(ada, bob)
    snapshot = await service.documents["notes"].snapshot()
    assert text == snapshot.text
    assert sorted(text) == sorted("Hello, orld")
    assert snapshot.revision == 4


async def test_a_client_is_greeted_with_the_text_and_who_is_there(
    connect: Connect,
) -> None:
    ada = await connect("ada")
    await ada.insert(0, "draft")
    await ada.synced(1, timeout=WAIT)

    bob = await connect("bob")

    assert (bob.text, bob.document.revision, bob.user) == ("draft", 1, "bob")
    assert bob.client_id == "client-2"
    assert [p["user"] for p in bob.participants] == ["ada"]
    await bob.wait_until(lambda c: len(c.participants) == 2, timeout=WAIT)


async def test_carets_and_idleness_reach_every_editor(
    connect: Connect, controlled_clock: ControlledClock
) -> None:
    ada = await connect("ada")
    bob = await connect("bob")
    await ada.insert(0, "abcdef")
    await converged(ada, bob)

    await bob.move_cursor(4)
    await ada.wait_until(
        lambda c: [p["cursor"] for p in c.participants] == [6, 4], timeout=WAIT
    )
    await ada.insert(0, "++")  # moves bob's caret along
    await ada.wait_until(
        lambda c: [p["cursor"] for p in c.participants] == [8, 6], timeout=WAIT
    )

    # Nobody does anything for a minute: both go idle, exactly then.
    started = controlled_clock.now().mono_ns
    await ada.wait_until(
        lambda c: [p["status"] for p in c.participants] == ["idle", "idle"],
        timeout=120,
    )
    assert controlled_clock.now().mono_ns - started == 60_000_000_000


# -- a crash ------------------------------------------------------------------------


async def test_a_crashed_document_rebuilds_from_its_journal_keeping_acked_edits(
    connect: Connect, service: CollaborationService, supervisor: SupervisorFixture
) -> None:
    ada = await connect("ada")
    bob = await connect("bob")
    for word in ("one ", "two "):
        await ada.insert(len(ada.text), word)
        await bob.insert(0, word.upper())
    acknowledged = await converged(ada, bob)
    document = service.documents["notes"]

    document.crash()
    await supervisor.wait_for("restarted", "document:notes", timeout=WAIT)
    supervisor.assert_restarted("document:notes", times=1)

    # The restarted process rebuilt the text from the journal ...
    assert (await document.snapshot()).text == acknowledged
    # ... and the editors carry on, on the same connections.
    await ada.insert(0, "[")
    await bob.insert(len(bob.text), "]")
    text = await converged(ada, bob)
    assert text == f"[{acknowledged}]"
    rebuilt = ServerDocument()
    for entry in document.journal:
        rebuilt.apply(EditRecord.from_json(entry.data))
    assert rebuilt.text == text


async def test_a_crash_right_after_a_commit_neither_loses_nor_repeats_the_edit(
    connect: Connect, service: CollaborationService, supervisor: SupervisorFixture
) -> None:
    ada = await connect("ada")
    bob = await connect("bob")
    await ada.insert(0, "base")
    await converged(ada, bob)

    service.documents["notes"].crash(after_commit=True)
    await bob.insert(4, "!")
    await ada.insert(0, ">")

    assert await converged(ada, bob) == ">base!"
    supervisor.assert_restarted("document:notes", times=1)
    assert len(service.documents["notes"].journal) == 3


async def test_two_editors_converge_across_a_crash(
    supervisor: SupervisorFixture, journal_factory: JournalFactory, atom: AtomFactory
) -> None:
    # The README's example, as written there (with the default keep-alive).
    service = await CollaborationService.start(
        supervisor, open_journal=journal_factory, atoms=atom
    )
    async with service, CollaborationServer(service, ping_interval=None) as server:
        ada = await CollaborationClient.connect(server.url("notes", "ada"))
        bob = await CollaborationClient.connect(server.url("notes", "bob"))

        await ada.insert(0, "world")
        await bob.insert(0, "Hello, ")
        service.documents["notes"].crash(after_commit=True)
        await ada.insert(len(ada.text), "!")
        for client in (ada, bob):
            await client.synced(3, timeout=10)

        document = await service.documents["notes"].snapshot()
        assert ada.text == bob.text == document.text
        supervisor.assert_restarted("document:notes", times=1)
        await ada.close()
        await bob.close()


# -- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/elsewhere?user=ada", r"^connect to /documents/<document>\?user=<name>$"),
        ("/documents/notes", r"^connect to /documents/<document>\?user=<name>$"),
        ("/documents/no%20tes?user=ada", r"^document_id='no tes' is not a document"),
        ("/documents/notes?user=%20", r"^user=' ' is not a user name; pass 1 to 64 "),
    ],
)
async def test_a_bad_address_is_refused_with_a_reason(
    server: CollaborationServer, path: str, reason: str
) -> None:
    with pytest.raises(ConnectionClosedError) as closed:
        await CollaborationClient.connect(
            f"ws://127.0.0.1:{server.port}{path}", ping_interval=None
        )

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert re.match(reason, closed.value.rcvd.reason)


async def test_a_closed_service_turns_connections_away_until_later(
    server: CollaborationServer, service: CollaborationService
) -> None:
    await service.close()

    with pytest.raises(ConnectionClosedError) as closed:
        await CollaborationClient.connect(server.url("notes", "ada"))

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013
    assert closed.value.rcvd.reason == (
        "the document is unavailable: the collaboration service was closed"
    )


async def test_a_malformed_message_gets_an_error_and_the_connection_ends(
    server: CollaborationServer,
) -> None:
    async with raw_connect(server.url("notes", "mallory"), proxy=None) as raw:
        hello = json.loads(await raw.recv())
        assert hello["type"] == "hello"
        await raw.send("{not json")

        messages = await read_until_closed(raw)

    assert messages[-1] == {
        "type": "error",
        "reason": "malformed",
        "message": "a message must be a JSON object",
    }
    assert raw.close_code == 1008
    assert raw.close_reason == "a message must be a JSON object"


async def test_a_client_learns_why_the_server_ended_its_session(
    connect: Connect,
) -> None:
    ada = await connect("ada")
    # An edit that claims a revision the server never had.
    await ada.connection.send(
        json.dumps({"type": "op", "edit": 1, "revision": 7, "op": ["x"]})
    )

    with pytest.raises(
        ConnectionError,
        match=r"^the connection of 'ada' ended \(\{'type': 'error', 'reason': "
        r"'revision', 'message': \"edit 1 of client 'client-1' is based on "
        r"revision 7",
    ):
        await ada.wait_until(lambda c: False, timeout=WAIT)
    assert ada.closed


# -- a property over real connections -----------------------------------------------

scripts = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(["insert", "insert", "delete", "pause"]),
            st.integers(0, 1_000),
            st.text("abcxyz", min_size=1, max_size=3),
        ),
        max_size=10,
    ),
    min_size=2,
    max_size=3,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scripts=scripts)
async def test_any_concurrent_editing_over_websockets_converges(
    supervisor: SupervisorFixture, scripts: list[list[tuple[str, int, str]]]
) -> None:
    # Hypothesis runs every example in this one test, so each builds a
    # service and a server of its own.
    service = await CollaborationService.start(supervisor)
    async with service, CollaborationServer(service, ping_interval=None) as server:
        clients = [
            await CollaborationClient.connect(
                server.url("notes", f"user{index}"), ping_interval=None
            )
            for index in range(len(scripts))
        ]

        async def play(
            client: CollaborationClient, script: list[tuple[str, int, str]]
        ) -> None:
            for action, where, what in script:
                length = len(client.text)
                position = where % (length + 1)
                if action == "pause":
                    # Let messages arrive: the next edits see more of the others.
                    for _ in range(where % 4):
                        await asyncio.sleep(0)
                elif action == "delete" and position < length:
                    await client.delete(position, min(len(what), length - position))
                else:
                    await client.insert(position, what)

        await asyncio.gather(
            *(play(c, s) for c, s in zip(clients, scripts, strict=True))
        )
        text = await converged(*clients)

        assert text == (await service.documents["notes"].snapshot()).text
        for client in clients:
            await client.close()
