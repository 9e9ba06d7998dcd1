"""The OT protocol without I/O: `ClientDocument`, `ServerDocument`, and convergence.

The convergence property plays the whole protocol over a simulated network
whose every delivery hypothesis chooses: several clients edit at any moment,
each client's messages to the server and the server's messages to each
client travel in order (as over one TCP connection each), but when each one
arrives, relative to every other edit and delivery, is arbitrary. Whatever
the interleaving, once everything is delivered every client shows the
server's text; and at every step each client's text is the server's text at
the client's revision with its own unacknowledged edits on top.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.realtime_collaboration import (
    ClientDocument,
    EditRecord,
    EditRejected,
    Operation,
    OperationError,
    ProtocolError,
    RejectionReason,
    ServerDocument,
    Submission,
)

# -- the server's document --------------------------------------------------------


def test_the_server_orders_edits_into_revisions() -> None:
    server = ServerDocument()

    first = server.prepare(
        client="a",
        user="ada",
        edit=1,
        base=0,
        operation=Operation.insert(0, "hi", length=0),
    )
    assert server.revision == 0  # nothing changes before apply
    server.apply(first)

    assert first == EditRecord(1, "a", "ada", 1, 0, Operation(("hi",)))
    assert (server.text, server.revision) == ("hi", 1)
    assert server.duplicate_of("a", 1) == 1
    assert server.duplicate_of("a", 2) is None
    assert server.duplicate_of("b", 1) is None


def test_an_edit_based_on_an_old_revision_is_transformed_against_the_newer_ones() -> (
    None
):
    server = ServerDocument()
    server.apply(
        server.prepare(
            client="a",
            user="ada",
            edit=1,
            base=0,
            operation=Operation.from_json(["abc"]),
        )
    )
    server.apply(
        server.prepare(
            client="a",
            user="ada",
            edit=2,
            base=1,
            operation=Operation.from_json(["X", 3]),
        )
    )

    # Bob saw revision 1 ("abc") and deleted the "c"; Ada's "X" came meanwhile.
    record = server.prepare(
        client="b", user="bob", edit=1, base=1, operation=Operation.from_json([2, -1])
    )
    server.apply(record)

    assert record.operation == Operation((3, -1))
    assert (server.text, server.revision) == ("Xab", 3)


def test_a_record_round_trips_through_its_journal_form() -> None:
    record = EditRecord(4, "c1", "ada", 2, 3, Operation.from_json([1, "x", -2]))

    assert record.to_json() == {
        "type": "edit",
        "revision": 4,
        "client": "c1",
        "user": "ada",
        "edit": 2,
        "base": 3,
        "op": [1, "x", -2],
    }
    assert EditRecord.from_json(record.to_json()) == record


@pytest.mark.parametrize(
    ("edit", "base", "operation", "reason", "message"),
    [
        (
            3,
            1,
            [2],
            RejectionReason.SEQUENCE,
            r"^edit 3 of client 'a' is out of sequence: the next is 2, and only the "
            r"last one \(1\) may be resent$",
        ),
        (
            2,
            5,
            [2],
            RejectionReason.REVISION,
            r"^edit 2 of client 'a' is based on revision 5, but the document is at "
            r"revision 1$",
        ),
        (
            2,
            0,
            [2],
            RejectionReason.LENGTH,
            r"^edit 2 of client 'a' applies to a text of 2 characters, but revision "
            r"0 had 0$",
        ),
    ],
)
def test_the_server_refuses_an_edit_that_does_not_fit_and_changes_nothing(
    edit: int, base: int, operation: list[int], reason: RejectionReason, message: str
) -> None:
    server = ServerDocument()
    server.apply(
        server.prepare(
            client="a",
            user="ada",
            edit=1,
            base=0,
            operation=Operation.from_json(["hi"]),
        )
    )

    with pytest.raises(EditRejected, match=message) as refused:
        server.prepare(
            client="a",
            user="ada",
            edit=edit,
            base=base,
            operation=Operation.from_json(operation),
        )

    assert refused.value.reason is reason
    assert (server.text, server.revision) == ("hi", 1)


def test_a_record_that_is_not_the_next_revision_is_refused() -> None:
    server = ServerDocument()

    with pytest.raises(
        OperationError, match=r"^record of revision 2 cannot follow revision 0$"
    ):
        server.apply(EditRecord(2, "a", "ada", 1, 0, Operation(("x",))))


# -- a client's document ----------------------------------------------------------


def test_a_client_sends_one_edit_at_a_time_and_buffers_the_rest() -> None:
    client = ClientDocument("ab", revision=3)

    sent = client.insert(2, "c")
    assert sent == Submission(1, 3, Operation((2, "c")))
    assert client.insert(3, "d") is None  # buffered: one edit is in flight
    assert client.delete(0, 1) is None
    assert (client.text, client.buffer) == ("bcd", Operation((-1, 2, "d")))

    following = client.acknowledge(4)
    assert following == Submission(2, 4, Operation((-1, 2, "d")))
    assert client.acknowledge(5) is None
    assert client.synchronized
    assert repr(client) == "<ClientDocument revision=5 synchronized 'bcd'>"


def test_a_client_transforms_the_servers_operation_past_its_own_edits() -> None:
    client = ClientDocument("abc", revision=1)
    client.insert(0, ">")  # pending
    client.insert(4, "<")  # buffered

    # Another client deleted the "b" of revision 1.
    applied = client.receive(Operation.from_json([1, -1, 1]), 2)

    assert applied == Operation((2, -1, 2))
    assert client.text == ">ac<"
    assert client.pending == Submission(1, 2, Operation((">", 2)))
    assert client.buffer == Operation((3, "<"))
    assert repr(client) == "<ClientDocument revision=2 buffering '>ac<'>"


def test_a_clients_caret_follows_its_own_and_others_edits() -> None:
    client = ClientDocument("hello", revision=0)
    client.move_cursor(5)

    client.insert(5, "!")
    assert client.cursor == 6
    client.receive(Operation.from_json(["Oh, ", 5]), 1)
    assert client.cursor == 10

    with pytest.raises(
        OperationError,
        match=r"^index=11 is not a position in a text of 10 characters; pass an "
        r"int from 0 to 10$",
    ):
        client.move_cursor(11)
    assert client.cursor == 10


def test_a_client_refuses_messages_its_state_cannot_follow() -> None:
    client = ClientDocument("", revision=2)

    with pytest.raises(
        ProtocolError, match=r"^acknowledgement of revision 3 with no edit in flight$"
    ):
        client.acknowledge(3)
    with pytest.raises(
        ProtocolError,
        match=r"^revision 4 arrived after 2; the server sends every revision in "
        r"order, so the connection lost some$",
    ):
        client.receive(Operation.identity(0), 4)
    assert client.revision == 2


# -- convergence over any interleaving --------------------------------------------


@dataclass
class Peer:
    """A client and the two directions of its connection to the server."""

    document: ClientDocument
    up: deque[Submission] = field(default_factory=deque)
    down: deque[tuple[str, int, Operation | None]] = field(default_factory=deque)


@dataclass
class Network:
    """One server, several clients, and every message in flight between them."""

    server: ServerDocument = field(default_factory=ServerDocument)
    peers: list[Peer] = field(default_factory=list)
    texts: list[str] = field(default_factory=lambda: [""])
    """The server's text at each revision."""

    def edit(self, index: int, kind: str, where: int, what: str) -> None:
        peer = self.peers[index]
        length = len(peer.document.text)
        position = where % (length + 1)
        if kind == "delete" and position < length:
            count = min(len(what), length - position)
            sent = peer.document.delete(position, count)
        else:
            sent = peer.document.insert(position, what)
        if sent is not None:
            peer.up.append(sent)

    def deliver_up(self, index: int) -> None:
        peer = self.peers[index]
        if not peer.up:
            return
        sent = peer.up.popleft()
        record = self.server.prepare(
            client=str(index),
            user=f"user{index}",
            edit=sent.edit,
            base=sent.revision,
            operation=sent.operation,
        )
        self.server.apply(record)
        self.texts.append(self.server.text)
        for other, receiver in enumerate(self.peers):
            if other == index:
                receiver.down.append(("ack", record.revision, None))
            else:
                receiver.down.append(("op", record.revision, record.operation))

    def deliver_down(self, index: int) -> None:
        peer = self.peers[index]
        if not peer.down:
            return
        kind, revision, operation = peer.down.popleft()
        if kind == "ack":
            following = peer.document.acknowledge(revision)
            if following is not None:
                peer.up.append(following)
        else:
            assert operation is not None
            peer.document.receive(operation, revision)

    def check_each_client_is_the_server_plus_its_own_edits(self) -> None:
        for peer in self.peers:
            document = peer.document
            expected = self.texts[document.revision]
            for local in (document.pending, document.buffer):
                if isinstance(local, Submission):
                    local = local.operation
                if local is not None:
                    expected = local.apply(expected)
            assert document.text == expected

    def deliver_everything(self) -> None:
        while any(peer.up or peer.down for peer in self.peers):
            for index in range(len(self.peers)):
                self.deliver_up(index)
                self.deliver_down(index)


# A step is (action, client, kind, where, what): an edit by a client, or the
# delivery of the next message up from a client or down to it.
Step = tuple[str, int, str, int, str]
edits = st.tuples(
    st.just("edit"),
    st.integers(0, 3),
    st.sampled_from(["insert", "insert", "delete"]),
    st.integers(0, 1_000),
    st.text("abcxyz", min_size=1, max_size=3),
)
deliveries = st.tuples(
    st.sampled_from(["up", "down"]),
    st.integers(0, 3),
    st.just(""),
    st.just(0),
    st.just(""),
)


@settings(max_examples=200)
@given(
    clients=st.integers(2, 4),
    steps=st.lists(st.one_of(edits, deliveries, deliveries), max_size=60),
)
def test_any_interleaving_of_concurrent_edits_converges(
    clients: int, steps: list[Step]
) -> None:
    network = Network(peers=[Peer(ClientDocument()) for _ in range(clients)])

    for action, client, kind, where, what in steps:
        index = client % clients
        if action == "edit":
            network.edit(index, kind, where, what)
        elif action == "up":
            network.deliver_up(index)
        else:
            network.deliver_down(index)
        network.check_each_client_is_the_server_plus_its_own_edits()

    network.deliver_everything()

    texts = [peer.document.text for peer in network.peers]
    assert texts == [network.server.text] * clients
    assert all(peer.document.synchronized for peer in network.peers)
    revisions = [peer.document.revision for peer in network.peers]
    assert revisions == [network.server.revision] * clients
