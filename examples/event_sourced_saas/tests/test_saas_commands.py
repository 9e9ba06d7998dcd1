"""Commands are validated against the current state, and a refusal writes nothing.

Malformed commands are the caller's bug (`InvalidCommandError`, before any
state is read); well-formed ones the state does not allow are refused with a
`Reason`. Two writers of one tenant (two nodes sharing the SQLite file) are
kept honest by ``expected_sequence``: the one that loses the race decides
again, on the state it would land on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from examples.event_sourced_saas import (
    AddUser,
    CancelSubscription,
    ChangePlan,
    Command,
    CommandRejected,
    CreateTenant,
    EventStore,
    InvalidCommandError,
    IssueInvoice,
    Reason,
    RecordUsage,
    RemoveUser,
    ReplayError,
    TenantAggregate,
    replay,
)
from phyxius import Instant
from phyxius.clock import ControlledClock
from phyxius.journal import Entry, SqliteStore

pytestmark = pytest.mark.phyxius(start="2028-01-31T09:00:00Z")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: CreateTenant("Acme", "starter", "ada"),
            r"^email='ada' \(type=str\) is not an email address such as ",
        ),
        (
            lambda: CreateTenant(" ", "starter", "ada@acme.io"),
            r"^name=' ' \(type=str\) must be a non-empty str$",
        ),
        (
            lambda: AddUser("Bob@acme.io"),
            r"^email='Bob@acme.io' has capitals; pass it lowercased, ",
        ),
        (
            lambda: AddUser("bob@acme.io", role="boss"),  # type: ignore[arg-type]
            r"^role='boss' is not a role; use one of 'owner', 'admin', 'member'$",
        ),
        (
            lambda: RecordUsage(0, "k"),
            r"^quantity=0 must be 1 or more$",
        ),
        (
            lambda: RecordUsage(2.5, "k"),  # type: ignore[arg-type]
            r"^quantity=2\.5 \(type=float\) must be a whole number of calls, an int$",
        ),
        (
            lambda: RecordUsage(True, "k"),
            r"^quantity=True \(type=bool\) must be a whole number of calls",
        ),
        (
            lambda: RecordUsage(5, ""),
            r"^key='' \(type=str\) must be a non-empty str$",
        ),
    ],
    ids=[
        "email",
        "blank-name",
        "capitals",
        "role",
        "zero-calls",
        "float-calls",
        "bool-calls",
        "blank-key",
    ],
)
def test_a_malformed_command_is_refused_when_it_is_built(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidCommandError, match=message):
        build()


@pytest.mark.parametrize(
    "tenant", ["Acme", "acme corp", "-acme", "a" * 41, "", 7], ids=repr
)
def test_a_malformed_tenant_id_is_refused_before_anything_is_opened(
    events: EventStore, tenant: object
) -> None:
    with pytest.raises(InvalidCommandError, match=r"^tenant=.* is not a tenant id; "):
        TenantAggregate(events, tenant)  # type: ignore[arg-type]

    assert events.tenants() == []


@pytest.fixture
def acme(events: EventStore) -> TenantAggregate:
    """Acme on Starter (five seats), with four members and 9,000 calls."""
    aggregate = TenantAggregate(events, "acme")
    aggregate.execute(CreateTenant("Acme", "starter", "ada@acme.io"), request_id="r0")
    for index, name in enumerate(["bob", "cy", "dee"], start=1):
        aggregate.execute(AddUser(f"{name}@acme.io"), request_id=f"r{index}")
    aggregate.execute(RecordUsage(9_000, "u1"), request_id="r4")
    return aggregate


@pytest.mark.parametrize(
    ("command", "reason", "message"),
    [
        (
            CreateTenant("Acme again", "growth", "eve@acme.io"),
            Reason.TENANT_EXISTS,
            r"^tenant 'acme' exists already$",
        ),
        (
            AddUser("bob@acme.io"),
            Reason.ALREADY_MEMBER,
            r"^bob@acme\.io is a member of 'acme' already$",
        ),
        (
            RemoveUser("zed@acme.io"),
            Reason.NOT_A_MEMBER,
            r"^zed@acme\.io is not a member of 'acme'$",
        ),
        (
            RemoveUser("ada@acme.io"),
            Reason.LAST_OWNER,
            r"^ada@acme\.io is the last owner of 'acme'; add another owner first$",
        ),
        (
            ChangePlan("starter"),
            Reason.SAME_PLAN,
            r"^'acme' is on the Starter plan already$",
        ),
        (
            ChangePlan("free"),
            Reason.SEAT_LIMIT,
            r"^the Free plan has 2 seats and 'acme' has 4 members; remove members",
        ),
        (
            ChangePlan("platinum"),
            Reason.UNKNOWN_PLAN,
            r"^there is no plan 'platinum'; choose one of 'free', 'starter', ",
        ),
    ],
    ids=lambda value: value.value if isinstance(value, Reason) else None,
)
def test_a_refused_command_writes_nothing_and_changes_nothing(
    acme: TenantAggregate,
    events: EventStore,
    command: Command,
    reason: Reason,
    message: str,
) -> None:
    before = acme.state
    stream_before = events.stream("acme").get_all()

    with pytest.raises(CommandRejected, match=message) as refused:
        acme.execute(command, request_id="refused")

    assert refused.value.reason is reason
    assert acme.state == before
    assert events.stream("acme").get_all() == stream_before


def test_the_seat_limit_counts_the_members_now(acme: TenantAggregate) -> None:
    acme.execute(AddUser("eve@acme.io", role="owner"), request_id="r5")
    with pytest.raises(CommandRejected, match=r"^the Starter plan of 'acme' has 5 "):
        acme.execute(AddUser("fay@acme.io"), request_id="r6")

    acme.execute(RemoveUser("ada@acme.io"), request_id="r7")  # eve owns it now
    acme.execute(AddUser("fay@acme.io"), request_id="r8")

    state = acme.state
    assert state is not None
    assert [email for email, _ in state.users] == [
        "bob@acme.io",
        "cy@acme.io",
        "dee@acme.io",
        "eve@acme.io",
        "fay@acme.io",
    ]


def test_a_command_for_a_tenant_nobody_created_is_refused(events: EventStore) -> None:
    nobody = TenantAggregate(events, "nobody")

    with pytest.raises(CommandRejected, match=r"^tenant 'nobody' does not exist$"):
        nobody.execute(RecordUsage(1, "k"), request_id="r")

    assert not events.exists("nobody")


def test_usage_is_recorded_once_per_key(
    acme: TenantAggregate, events: EventStore
) -> None:
    first = acme.execute(RecordUsage(500, "batch-7"), request_id="r5")
    retried = acme.execute(RecordUsage(500, "batch-7"), request_id="r6")

    assert (first.duplicate, retried.duplicate) == (False, True)
    assert retried.entry == first.entry
    assert retried.entry.metadata["request_id"] == "r5"
    assert acme.state is not None
    assert acme.state.calls_in(acme.state.open_period) == 9_500
    assert [entry.id for entry in events.stream("acme")][-2:] == [
        "usage:u1",
        "usage:batch-7",
    ]


def test_the_writer_that_loses_a_race_decides_again_on_the_new_state(
    acme: TenantAggregate,
    sqlite_store: SqliteStore,
    controlled_clock: ControlledClock,
) -> None:
    # A second node opens the same file, as another OS process would, and
    # reads Acme with four of its five seats taken.
    other_store = SqliteStore(sqlite_store.path, synchronous="normal")
    elsewhere = TenantAggregate(EventStore(other_store, clock=controlled_clock), "acme")
    elsewhere.catch_up()
    acme.catch_up()

    # This node takes the last seat; the other, not knowing, tries to.
    acme.execute(AddUser("eve@acme.io"), request_id="here")
    with pytest.raises(CommandRejected) as refused:
        elsewhere.execute(AddUser("fay@acme.io"), request_id="there")
    # And a plan change there lands on the state with five members.
    with pytest.raises(
        CommandRejected, match=r"^the Free plan has 2 seats and 'acme' has 5"
    ):
        elsewhere.execute(ChangePlan("free"), request_id="there-2")
    elsewhere.execute(CancelSubscription(), request_id="there-3")
    acme.catch_up()
    other_store.close()

    assert refused.value.reason is Reason.SEAT_LIMIT
    assert elsewhere.state == acme.state
    assert acme.state is not None
    assert len(acme.state.users) == 5
    assert acme.state.status == "cancelling"


def entry(sequence: int, data: object) -> Entry:
    return Entry(f"e{sequence}", sequence, Instant(mono_ns=0, wall_ns=0), data)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([entry(0, {"type": "user.added"})], r"^entry 'e0' \('user.added'\) opens the"),
        ([entry(1, {"type": "tenant.created"})], r"^entry 'e1' has sequence 1, but "),
        (
            [
                entry(
                    0,
                    {
                        "type": "tenant.created",
                        "tenant": "a",
                        "name": "A",
                        "owner": "o@a.io",
                        "plan": {
                            "id": "free",
                            "name": "Free",
                            "monthly_fee": 0,
                            "seats": 2,
                            "included_calls": 10,
                            "overage_per_thousand": None,
                        },
                    },
                ),
                entry(1, {"type": "tenant.deleted"}),
            ],
            r"^entry 'e1' has the unknown event type 'tenant.deleted'; known: ",
        ),
    ],
    ids=["no-creation", "gap", "unknown-event"],
)
def test_replay_refuses_a_stream_it_cannot_have_written(
    entries: list[Entry], message: str
) -> None:
    with pytest.raises(ReplayError, match=message):
        replay(entries)


def test_an_invoice_stamped_before_its_period_ended_counts_from_the_end(
    events: EventStore, controlled_clock: ControlledClock
) -> None:
    # The wall clock stepped back between the decision to invoice (after the
    # period ended) and the append: the entry's stamp is inside the period.
    acme = TenantAggregate(events, "acme")
    acme.execute(CreateTenant("Acme", "starter", "ada@acme.io"), request_id="r0")
    controlled_clock.advance(29 * 86_400)
    acme.execute(IssueInvoice(0), request_id="r1")
    created, invoiced = events.stream("acme").get_all()
    early = dataclasses.replace(
        invoiced, at=Instant(mono_ns=0, wall_ns=invoiced.at.wall_ns - 10**9)
    )

    state = replay([created, early])

    assert state is not None
    assert state == acme.state
    assert state.clock_ns == state.open_period.start_ns
