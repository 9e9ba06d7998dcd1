"""CQRS: the command process and the query process, their crashes and restarts.

Both processes run under the plugin's ``supervisor`` fixture (a root
supervisor on the test's virtual clock), except where a fault must be
injected into a process: those tests build their own root with a
`phyxius.testing.FaultInjector` as its interceptor. A journal append that
fails comes from a `phyxius.testing.FaultyStore` under the journal.
"""

from __future__ import annotations

import asyncio

import pytest

from examples.patterns import (
    AddItem,
    CancelOrder,
    CustomerOrders,
    GetOrder,
    OpenOrder,
    Order,
    OrderDesk,
    OrderRejected,
    OrderSummary,
    PlaceOrder,
    Receipt,
    Revenue,
    replay_all,
)
from phyxius import Event, InvalidArgumentError, MemoryStore, create_supervisor
from phyxius.clock import ControlledClock
from phyxius.journal import Journal
from phyxius.testing import (
    AppendFailure,
    Crash,
    FaultInjector,
    FaultPlan,
    FaultyStore,
    InjectedAppendError,
)
from pytest_phyxius import JournalFactory, SupervisorFixture


async def place(desk: OrderDesk, order: str, customer: str, *lines: AddItem) -> Receipt:
    await desk.execute(OpenOrder(order, customer))
    for line in lines:
        await desk.execute(line)
    return await desk.execute(PlaceOrder(order))


# README: cqrs test start
async def test_a_query_after_a_receipt_reads_that_write(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    desk = await OrderDesk.start(supervisor, journal)

    await desk.execute(OpenOrder("o-1", customer="ada"))
    await desk.execute(AddItem("o-1", sku="book", quantity=2, unit_price=1_200))
    receipt = await desk.execute(PlaceOrder("o-1"))

    assert receipt == Receipt("o-1", version=3, sequence=2)
    assert await desk.ask(GetOrder("o-1"), after=receipt) == OrderSummary(
        "o-1", customer="ada", status="placed", items=2, total=2_400
    )
    assert await desk.ask(Revenue(), after=receipt) == 2_400


# README: cqrs test end


async def test_a_refused_command_fails_its_ask_and_restarts_nothing(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    desk = await OrderDesk.start(supervisor, journal)
    await desk.execute(OpenOrder("o-1", "ada"))

    with pytest.raises(OrderRejected, match=r"^order 'o-1': an empty order cannot"):
        await desk.execute(PlaceOrder("o-1"))
    with pytest.raises(OrderRejected, match=r"^order 'o-9': the order is new"):
        await desk.execute(AddItem("o-9", "book", 1, 100))

    assert len(journal) == 1
    supervisor.assert_not_restarted("orders.commands")
    assert supervisor.crashes == []


async def test_the_read_models_match_a_replay_of_the_journal(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    desk = await OrderDesk.start(supervisor, journal)
    await place(desk, "o-1", "ada", AddItem("o-1", "book", 2, 1_200))
    await place(desk, "o-2", "grace", AddItem("o-2", "lamp", 1, 4_500))
    await place(desk, "o-3", "ada", AddItem("o-3", "pen", 10, 150))
    await desk.execute(CancelOrder("o-2", reason="damaged in transit"))
    await desk.execute(OpenOrder("o-4", "ada"))
    last = await desk.execute(AddItem("o-4", "ink", 3, 700))

    states = replay_all(journal)
    placed = [s for s in states.values() if s.status == "placed"]
    assert (
        await desk.ask(Revenue(), after=last) == sum(s.total for s in placed) == 3_900
    )
    ada = await desk.ask(CustomerOrders("ada"), after=last)
    assert [(s.order, s.status, s.total) for s in ada] == [
        (o, states[o].status, states[o].total) for o in ("o-1", "o-3", "o-4")
    ]
    assert await desk.ask(GetOrder("o-2")) == OrderSummary(
        "o-2", "grace", "cancelled", items=1, total=4_500
    )
    assert await desk.ask(GetOrder("o-404")) is None


async def test_the_query_side_is_fed_without_being_asked_for_a_position(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    desk = await OrderDesk.start(supervisor, journal)
    await place(desk, "o-1", "ada", AddItem("o-1", "book", 1, 1_000))

    # No ``after``: the subscription's notices were queued before this ask.
    assert await desk.ask(Revenue()) == 1_000


async def test_concurrent_callers_are_decided_one_at_a_time(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    desk = await OrderDesk.start(supervisor, journal)
    callers = [
        desk.execute(OpenOrder("o-1", name)) for name in ("ada", "grace", "linus")
    ]

    results = await asyncio.gather(*callers, return_exceptions=True)

    accepted = [r for r in results if isinstance(r, Receipt)]
    refused = [r for r in results if isinstance(r, OrderRejected)]
    assert len(accepted) == 1
    assert [r.reason for r in refused] == ["already_opened", "already_opened"]
    assert [entry.data["customer"] for entry in journal] == ["ada"]


async def test_a_second_writer_makes_the_command_side_decide_again(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    desk = await OrderDesk.start(supervisor, journal)
    await desk.execute(OpenOrder("o-1", "ada"))
    await desk.execute(AddItem("o-1", "book", 1, 1_000))
    Order(journal, "o-1").execute(PlaceOrder("o-1"))  # around the command side

    # The command process still holds the order as open; its conditional
    # append fails, it catches up, and refuses on the fresh state.
    with pytest.raises(OrderRejected, match=r"^order 'o-1': the order is placed"):
        await desk.execute(AddItem("o-1", "lamp", 1, 2_000))
    receipt = await desk.execute(CancelOrder("o-1", reason="too slow"))

    assert receipt.version == 4
    assert await desk.ask(Revenue(), after=receipt) == 0
    supervisor.assert_not_restarted("orders.commands")


async def test_a_lost_acknowledgement_restarts_the_command_side_from_the_journal(
    supervisor: SupervisorFixture,
    journal_factory: JournalFactory,
    controlled_clock: ControlledClock,
) -> None:
    # The second append is stored, then fails as if its acknowledgement was
    # lost: the command process crashes, the supervisor restarts it, and its
    # init rebuilds the write model from what the journal holds.
    injector = FaultInjector(
        FaultPlan(AppendFailure("orders", append=2, point="after")),
        clock=controlled_clock,
    )
    journal = journal_factory("orders", store=FaultyStore(MemoryStore(), injector))
    desk = await OrderDesk.start(supervisor, journal)
    await desk.execute(OpenOrder("o-1", "ada"))

    with pytest.raises(InjectedAppendError):
        await desk.execute(AddItem("o-1", "book", 2, 1_200))
    await supervisor.wait_for("restarted", "orders.commands")

    supervisor.assert_restarted("orders.commands", times=1)
    supervisor.assert_not_restarted("orders.queries")
    receipt = await desk.execute(PlaceOrder("o-1"))  # the book is in the order
    assert receipt == Receipt("o-1", version=3, sequence=2)
    # The lost entry never reached the subscription; the query side reads it
    # from the journal by position.
    assert await desk.ask(GetOrder("o-1"), after=receipt) == OrderSummary(
        "o-1", "ada", "placed", items=2, total=2_400
    )


async def test_a_crashed_query_side_rebuilds_its_read_models_from_the_journal(
    controlled_clock: ControlledClock, journal: Journal
) -> None:
    events: list[Event] = []
    injector = FaultInjector(
        FaultPlan(Crash("orders.queries", message=2)), clock=controlled_clock
    )
    async with create_supervisor(
        clock=controlled_clock, emit=events.append, interceptor=injector
    ) as root:
        desk = await OrderDesk.start(root, journal)
        await place(desk, "o-1", "ada", AddItem("o-1", "book", 1, 1_000))
        receipt = await place(desk, "o-2", "grace", AddItem("o-2", "lamp", 2, 2_000))

        assert await desk.ask(Revenue(), after=receipt) == 5_000
        assert await desk.ask(CustomerOrders("grace")) == (
            OrderSummary("o-2", "grace", "placed", items=2, total=4_000),
        )
        assert desk.queries.restarts == 1
        assert desk.commands.restarts == 0

    crashed = [e.data["name"] for e in events if e.type == "process.crashed"]
    assert crashed == ["orders.queries"]


# -- bad input ---------------------------------------------------------------------


async def test_the_desk_refuses_what_is_not_a_command_or_a_query(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    desk = await OrderDesk.start(supervisor, journal)

    with pytest.raises(
        InvalidArgumentError,
        match=r"^command='open o-1' \(type=str\) is not an order command; pass "
        r"OpenOrder, AddItem, RemoveItem, PlaceOrder or CancelOrder$",
    ):
        await desk.execute("open o-1")  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^query='revenue' \(type=str\) is not a query; pass GetOrder, "
        r"CustomerOrders or Revenue$",
    ):
        await desk.ask("revenue")  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^after=3 \(type=int\) is not a Receipt; pass what execute\(\) "
        r"returned, or None$",
    ):
        await desk.ask(Revenue(), after=3)  # type: ignore[arg-type]
    assert len(journal) == 0
    assert supervisor.crashes == []


async def test_a_desk_needs_a_journal(supervisor: SupervisorFixture) -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^journal='orders' \(type=str\) is not a Journal; pass the orders "
        r"journal, from create_journal\(\.\.\.\)$",
    ):
        await OrderDesk.start(supervisor, "orders")  # type: ignore[arg-type]
    assert supervisor.children == []
