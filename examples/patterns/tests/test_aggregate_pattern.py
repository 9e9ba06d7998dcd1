"""The event-sourced order: rebuilt from its journal, decided on fresh state.

Tests use the plugin's ``journal`` (in memory, on the test's clock, with
seeded ids) and ``journal_snapshot``; a restart goes through a real SQLite
file. The property replays every prefix of a journal written by random
commands, in a fresh journal per example, since hypothesis runs many
examples inside one test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.patterns import (
    AddItem,
    CancelOrder,
    Command,
    Line,
    OpenOrder,
    Order,
    OrderRejected,
    OrderState,
    PlaceOrder,
    RemoveItem,
    decide,
    replay,
    replay_all,
)
from phyxius import InvalidArgumentError, SqliteStore, create_journal
from phyxius.clock import ControlledClock
from phyxius.journal import Journal, SortableIds
from pytest_phyxius.snapshot import JournalSnapshotFixture


def open_order(journal: Journal, order: str = "o-1", customer: str = "ada") -> Order:
    aggregate = Order(journal, order)
    aggregate.execute(OpenOrder(order, customer))
    return aggregate


# README: aggregate test start
def test_an_order_is_the_replay_of_its_journal(journal: Journal) -> None:
    order = Order(journal, "o-17")
    order.execute(OpenOrder("o-17", customer="ada"))
    order.execute(AddItem("o-17", sku="book", quantity=2, unit_price=1_200))
    order.execute(AddItem("o-17", sku="lamp", quantity=1, unit_price=4_500))
    order.execute(RemoveItem("o-17", sku="lamp"))
    order.execute(PlaceOrder("o-17"))

    with pytest.raises(OrderRejected, match=r"^order 'o-17': the order is placed"):
        order.execute(AddItem("o-17", sku="pen", quantity=1, unit_price=300))

    rebuilt = Order(journal, "o-17")  # a new process, later: only the journal
    assert rebuilt.state == order.state
    assert rebuilt.state.status == "placed"
    assert rebuilt.state.total == 2_400
    assert rebuilt.state.version == len(journal) == 5  # the refusal left nothing


# README: aggregate test end


def test_orders_sharing_a_journal_fold_only_their_own_events(journal: Journal) -> None:
    ada = open_order(journal, "o-1", "ada")
    grace = open_order(journal, "o-2", "grace")
    ada.execute(AddItem("o-1", "book", 1, 1_000))
    grace.execute(AddItem("o-2", "lamp", 3, 2_000))
    grace.execute(CancelOrder("o-2", reason="changed her mind"))

    assert Order(journal, "o-1").state == OrderState(
        "o-1", "open", "ada", {"book": Line(1, 1_000)}, version=2
    )
    assert Order(journal, "o-2").state.status == "cancelled"
    assert replay_all(journal) == {"o-1": ada.state, "o-2": grace.state}


def test_adding_an_item_again_adds_to_its_line(journal: Journal) -> None:
    order = open_order(journal)
    order.execute(AddItem("o-1", "book", 2, 1_200))
    order.execute(AddItem("o-1", "book", 3, 1_200))

    assert order.state.lines == {"book": Line(5, 1_200)}
    assert order.state.total == 6_000


@pytest.mark.parametrize(
    ("history", "command", "reason", "message"),
    [
        (
            [],
            AddItem("o-1", "book", 1, 100),
            "not_open",
            r"the order is new, not open$",
        ),
        ([], PlaceOrder("o-1"), "not_open", r"the order is new, not open$"),
        ([], CancelOrder("o-1", "x"), "not_open", r"a new order cannot be cancelled$"),
        (
            [OpenOrder("o-1", "ada")],
            OpenOrder("o-1", "grace"),
            "already_opened",
            r"it was opened already$",
        ),
        (
            [OpenOrder("o-1", "ada")],
            PlaceOrder("o-1"),
            "empty",
            r"an empty order cannot be placed$",
        ),
        (
            [OpenOrder("o-1", "ada")],
            RemoveItem("o-1", "book"),
            "unknown_item",
            r"it holds no book$",
        ),
        (
            [OpenOrder("o-1", "ada"), AddItem("o-1", "book", 1, 100)],
            AddItem("o-1", "book", 1, 90),
            "price_mismatch",
            r"book is in it at 100$",
        ),
        (
            [OpenOrder("o-1", "ada"), CancelOrder("o-1", "x")],
            RemoveItem("o-1", "book"),
            "closed",
            r"the order is cancelled, not open$",
        ),
        (
            [OpenOrder("o-1", "ada"), CancelOrder("o-1", "x")],
            CancelOrder("o-1", "again"),
            "not_open",
            r"a cancelled order cannot be cancelled$",
        ),
    ],
    ids=[
        "add-to-new",
        "place-new",
        "cancel-new",
        "open-twice",
        "place-empty",
        "remove-unknown",
        "price-mismatch",
        "change-cancelled",
        "cancel-twice",
    ],
)
def test_a_refused_command_records_nothing(
    journal: Journal,
    history: list[Command],
    command: Command,
    reason: str,
    message: str,
) -> None:
    order = Order(journal, "o-1")
    for earlier in history:
        order.execute(earlier)
    before = order.state

    with pytest.raises(OrderRejected, match=r"^order 'o-1': " + message) as refused:
        order.execute(command)

    assert refused.value.reason == reason
    assert refused.value.order == "o-1"
    assert len(journal) == len(history)
    assert order.state == before


def test_a_stale_writer_decides_again_on_what_the_other_wrote(journal: Journal) -> None:
    first = open_order(journal)
    first.execute(AddItem("o-1", "book", 1, 1_000))
    second = Order(journal, "o-1")  # loaded now, stale after the next write
    first.execute(PlaceOrder("o-1"))

    # On its stale state the order is open; its append fails on the sequence,
    # it catches up, and on fresh state the order is placed.
    with pytest.raises(OrderRejected, match=r"^order 'o-1': the order is placed"):
        second.execute(AddItem("o-1", "lamp", 1, 2_000))
    second.execute(CancelOrder("o-1", reason="out of lamps"))

    assert [entry.data["type"] for entry in journal] == [
        "order.opened",
        "order.item_added",
        "order.placed",
        "order.cancelled",
    ]
    assert first.catch_up() == second.state


def test_an_order_survives_a_restart_in_a_sqlite_file(
    controlled_clock: ControlledClock, tmp_path: Path
) -> None:
    path = tmp_path / "orders.sqlite3"
    with SqliteStore(path) as store:
        journal = create_journal(store, name="orders", clock=controlled_clock)
        order = open_order(journal)
        order.execute(AddItem("o-1", "book", 2, 1_200))
        controlled_clock.advance(60)
        order.execute(PlaceOrder("o-1"))
        live = order.state

    with SqliteStore(path) as store:  # as a new OS process would open it
        journal = create_journal(store, name="orders", clock=controlled_clock)
        rebuilt = Order(journal, "o-1")
        assert rebuilt.state == live
        assert [entry.at.mono for entry in journal][-1] == 60.0
        rebuilt.execute(CancelOrder("o-1", reason="found it cheaper"))
        assert rebuilt.state.version == 4


def test_the_history_of_an_order_is_pinned_by_a_snapshot(
    journal: Journal,
    controlled_clock: ControlledClock,
    journal_snapshot: JournalSnapshotFixture,
) -> None:
    order = open_order(journal, "o-42", "grace")
    controlled_clock.advance(30)
    order.execute(AddItem("o-42", "kettle", 1, 3_999))
    order.execute(AddItem("o-42", "mug", 4, 650))
    controlled_clock.advance(90)
    order.execute(RemoveItem("o-42", "kettle"))
    order.execute(PlaceOrder("o-42"))

    assert journal == journal_snapshot


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: OpenOrder("", "ada"),
            r"^OpenOrder\(order=''\): order must be a non-empty str$",
        ),
        (
            lambda: OpenOrder("o-1", None),  # type: ignore[arg-type]
            r"^OpenOrder\(customer=None\): customer must",
        ),
        (
            lambda: AddItem("o-1", "book", 0, 100),
            r"^AddItem\(quantity=0\): quantity must be a whole number, 1 or more$",
        ),
        (
            lambda: AddItem("o-1", "book", True, 100),
            r"^AddItem\(quantity=True\): quantity must be a whole number, 1 or more$",
        ),
        (
            lambda: AddItem("o-1", "book", 1, -5),
            r"^AddItem\(unit_price=-5\): unit_price must be a whole number, 0 or more$",
        ),
        (
            lambda: AddItem("o-1", "book", 1, 9.99),  # type: ignore[arg-type]
            r"^AddItem\(unit_price=9\.99\): unit_price must be a whole number",
        ),
        (lambda: RemoveItem("o-1", ""), r"^RemoveItem\(sku=''\): sku must be"),
        (
            lambda: PlaceOrder(17),  # type: ignore[arg-type]
            r"^PlaceOrder\(order=17\): order must be",
        ),
        (lambda: CancelOrder("o-1", ""), r"^CancelOrder\(reason=''\): reason must be"),
    ],
    ids=[
        "empty-order",
        "no-customer",
        "zero-quantity",
        "bool-quantity",
        "negative-price",
        "float-price",
        "empty-sku",
        "int-order",
        "empty-reason",
    ],
)
def test_a_malformed_command_is_refused_when_made(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make()


def test_an_order_refuses_another_orders_command_before_writing(
    journal: Journal,
) -> None:
    order = open_order(journal)

    with pytest.raises(
        InvalidArgumentError,
        match=r"^command=PlaceOrder\(order='o-2'\) is for order 'o-2', not 'o-1'; "
        r"send it to the Order it names$",
    ):
        order.execute(PlaceOrder("o-2"))
    assert len(journal) == 1


def test_decide_refuses_what_is_not_a_command() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^command='place' \(type=str\) is not an order command; pass OpenOrder",
    ):
        decide(OrderState("o-1"), "place")  # type: ignore[arg-type]


# -- replay from any prefix -------------------------------------------------------

ORDERS = ("o-1", "o-2")
SKUS = ("book", "lamp")

commands = st.one_of(
    st.builds(OpenOrder, st.sampled_from(ORDERS), st.sampled_from(["ada", "grace"])),
    st.builds(
        AddItem,
        st.sampled_from(ORDERS),
        st.sampled_from(SKUS),
        st.integers(1, 3),
        st.sampled_from([100, 250]),
    ),
    st.builds(RemoveItem, st.sampled_from(ORDERS), st.sampled_from(SKUS)),
    st.builds(PlaceOrder, st.sampled_from(ORDERS)),
    st.builds(CancelOrder, st.sampled_from(ORDERS), st.just("no longer needed")),
)


@settings(max_examples=150, deadline=None)
@given(script=st.lists(commands, max_size=30))
def test_replaying_any_prefix_gives_the_state_the_orders_had_then(
    script: list[Command],
) -> None:
    clock = ControlledClock()
    journal = create_journal(name="orders", clock=clock, ids=SortableIds(seed=1))
    orders = {name: Order(journal, name) for name in ORDERS}
    # What the live orders were after each append: states[k] holds them when
    # the journal had k entries.
    states = [{name: order.state for name, order in orders.items()}]

    for command in script:
        try:
            orders[command.order].execute(command)
        except OrderRejected:
            continue
        states.append({name: order.state for name, order in orders.items()})
        clock.advance(1)

    assert len(states) == len(journal) + 1
    for length, live in enumerate(states):
        prefix = list(journal.read(stop=length))
        assert {name: replay(name, prefix) for name in ORDERS} == live
        assert all(
            replay_all(prefix).get(name, live[name]) == live[name] for name in ORDERS
        )
    assert {name: Order(journal, name).state for name in ORDERS} == states[-1]
