"""An event-sourced aggregate: an order whose state is a fold of its journal.

The pattern has three parts:

* `evolve(state, event)` is the only place an order's state changes. It is a
  pure function of the state and one recorded event, so replaying the same
  events always gives the same state.
* `decide(state, command)` checks a command against the current state and
  returns the events that record it, or raises `OrderRejected`. It changes
  nothing: a refused command leaves no trace.
* `Order` binds the two to a journal. It rebuilds its state by replaying the
  journal, decides on fresh state, and appends the decision conditional on
  nobody having written since (``expected_sequence``); when someone did, it
  catches up and decides again.

Many orders share one journal: every event names its order and an `Order`
folds only its own. The price of that is that a write to any order makes a
concurrent writer of another one decide again, and that rebuilding one order
reads the whole journal. A service with many busy orders gives each order a
journal of its own (one `SqliteStore` holds any number of named journals), or
keeps every order's state in memory as the CQRS command side does
(`replay_all`). A journal that holds an aggregate must keep every entry: no
``max_entries`` retention.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, final

from phyxius import ConcurrencyError, Entry, InvalidArgumentError, Journal

__all__ = [
    "AddItem",
    "CancelOrder",
    "Command",
    "Line",
    "OpenOrder",
    "Order",
    "OrderRejected",
    "OrderState",
    "PlaceOrder",
    "RejectionReason",
    "RemoveItem",
    "Status",
    "check_command",
    "decide",
    "evolve",
    "replay",
    "replay_all",
]

Status: TypeAlias = Literal["new", "open", "placed", "cancelled"]
"""Where an order is: never opened, taking items, placed, or cancelled."""

RejectionReason: TypeAlias = Literal[
    "already_opened", "not_open", "closed", "unknown_item", "price_mismatch", "empty"
]
"""Why `decide` refused a command."""


def _text(command: object, field_name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(
            f"{type(command).__name__}({field_name}={value!r}): {field_name} must "
            "be a non-empty str"
        )


def _count(command: object, field_name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{type(command).__name__}({field_name}={value!r}): {field_name} must "
            f"be a whole number, {minimum} or more"
        )


@final
@dataclass(frozen=True, slots=True)
class OpenOrder:
    """Open order ``order`` for ``customer``."""

    order: str
    customer: str

    def __post_init__(self) -> None:
        _text(self, "order", self.order)
        _text(self, "customer", self.customer)


@final
@dataclass(frozen=True, slots=True)
class AddItem:
    """Add ``quantity`` of ``sku`` at ``unit_price`` cents each."""

    order: str
    sku: str
    quantity: int
    unit_price: int

    def __post_init__(self) -> None:
        _text(self, "order", self.order)
        _text(self, "sku", self.sku)
        _count(self, "quantity", self.quantity, 1)
        _count(self, "unit_price", self.unit_price, 0)


@final
@dataclass(frozen=True, slots=True)
class RemoveItem:
    """Take every unit of ``sku`` out of the order."""

    order: str
    sku: str

    def __post_init__(self) -> None:
        _text(self, "order", self.order)
        _text(self, "sku", self.sku)


@final
@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place the order: no more changes to its items."""

    order: str

    def __post_init__(self) -> None:
        _text(self, "order", self.order)


@final
@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel an open or placed order, saying why."""

    order: str
    reason: str

    def __post_init__(self) -> None:
        _text(self, "order", self.order)
        _text(self, "reason", self.reason)


Command: TypeAlias = OpenOrder | AddItem | RemoveItem | PlaceOrder | CancelOrder

COMMAND_TYPES = (OpenOrder, AddItem, RemoveItem, PlaceOrder, CancelOrder)
"""The command classes."""


def check_command(command: object, *, order: str | None = None) -> Command:
    """``command`` if it is an order command (for ``order``, when given).

    Raises:
        InvalidArgumentError: it is something else, or for another order.
    """
    if not isinstance(command, COMMAND_TYPES):
        raise InvalidArgumentError(
            f"command={command!r} (type={type(command).__name__}) is not an order "
            "command; pass OpenOrder, AddItem, RemoveItem, PlaceOrder or CancelOrder"
        )
    if order is not None and command.order != order:
        raise InvalidArgumentError(
            f"command={command!r} is for order {command.order!r}, not {order!r}; "
            "send it to the Order it names"
        )
    return command


class OrderRejected(Exception):
    """A well-formed command the order cannot accept now; ``reason`` says why."""

    def __init__(self, message: str, *, order: str, reason: RejectionReason) -> None:
        super().__init__(message)
        self.order = order
        self.reason = reason


@final
@dataclass(frozen=True, slots=True)
class Line:
    """One item of an order: how many, at what unit price in cents."""

    quantity: int
    unit_price: int


@final
@dataclass(frozen=True, slots=True)
class OrderState:
    """What an order is after its events so far; ``version`` counts them.

    Values are never changed in place: `evolve` returns a new state, so a
    state handed out stays as it was.
    """

    order: str
    status: Status = "new"
    customer: str | None = None
    lines: Mapping[str, Line] = field(default_factory=dict)
    version: int = 0

    @property
    def total(self) -> int:
        """The price of every line, in cents."""
        return sum(line.quantity * line.unit_price for line in self.lines.values())


# README: evolve start
def evolve(state: OrderState, event: Mapping[str, Any]) -> OrderState:
    """The state after one recorded event: the only place state changes."""
    lines = dict(state.lines)
    status = state.status
    customer = state.customer
    match event["type"]:
        case "order.opened":
            status, customer = "open", event["customer"]
        case "order.item_added":
            held = lines.get(event["sku"], Line(0, event["unit_price"]))
            lines[event["sku"]] = Line(
                held.quantity + event["quantity"], held.unit_price
            )
        case "order.item_removed":
            del lines[event["sku"]]
        case "order.placed":
            status = "placed"
        case "order.cancelled":
            status = "cancelled"
    return OrderState(state.order, status, customer, lines, state.version + 1)


# README: evolve end


def decide(state: OrderState, command: Command) -> list[dict[str, Any]]:
    """The events that record ``command``, or `OrderRejected`; changes nothing."""
    order = check_command(command, order=state.order).order

    def refuse(reason: RejectionReason, why: str) -> OrderRejected:
        return OrderRejected(f"order {order!r}: {why}", order=order, reason=reason)

    def require_open() -> None:  # only an open order takes item changes
        if state.status != "open":
            reason: RejectionReason = "not_open" if state.status == "new" else "closed"
            raise refuse(reason, f"the order is {state.status}, not open")

    match command:
        case OpenOrder(customer=customer):
            if state.status != "new":
                raise refuse("already_opened", "it was opened already")
            return [{"type": "order.opened", "order": order, "customer": customer}]
        case AddItem(sku=sku, quantity=quantity, unit_price=price):
            require_open()
            held = state.lines.get(sku)
            if held is not None and held.unit_price != price:
                raise refuse("price_mismatch", f"{sku} is in it at {held.unit_price}")
            return [
                {
                    "type": "order.item_added",
                    "order": order,
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": price,
                }
            ]
        case RemoveItem(sku=sku):
            require_open()
            if sku not in state.lines:
                raise refuse("unknown_item", f"it holds no {sku}")
            return [{"type": "order.item_removed", "order": order, "sku": sku}]
        case PlaceOrder():
            require_open()
            if not state.lines:
                raise refuse("empty", "an empty order cannot be placed")
            return [{"type": "order.placed", "order": order, "total": state.total}]
        case CancelOrder(reason=reason):
            if state.status not in ("open", "placed"):
                raise refuse("not_open", f"a {state.status} order cannot be cancelled")
            return [{"type": "order.cancelled", "order": order, "reason": reason}]


def _order_of(entry: Entry) -> str | None:
    data = entry.data
    return data.get("order") if isinstance(data, Mapping) else None


def replay(order: str, entries: Iterable[Entry]) -> OrderState:
    """The state of ``order`` after ``entries``: a fold of `evolve` over its own."""
    state = OrderState(order)
    for entry in entries:
        if _order_of(entry) == order:
            state = evolve(state, entry.data)
    return state


def replay_all(entries: Iterable[Entry]) -> dict[str, OrderState]:
    """The state of every order named in ``entries``, in one pass."""
    states: dict[str, OrderState] = {}
    for entry in entries:
        order = _order_of(entry)
        if order is not None:
            states[order] = evolve(states.get(order, OrderState(order)), entry.data)
    return states


# README: aggregate start
@final
class Order:
    """One order: its state rebuilt from the journal, its commands recorded there."""

    def __init__(self, journal: Journal, order: str) -> None:
        self.journal = journal
        self.state = OrderState(order)
        self.position = 0  # the next journal sequence to fold in
        self.catch_up()

    def catch_up(self) -> OrderState:
        """Fold in whatever was appended since the last look."""
        for entry in self.journal.read(start=self.position):
            if _order_of(entry) == self.state.order:
                self.state = evolve(self.state, entry.data)
            self.position = entry.sequence + 1
        return self.state

    def execute(self, command: Command) -> list[Entry]:
        """Decide on fresh state; record the events unless someone wrote first."""
        check_command(command, order=self.state.order)
        while True:
            state = self.catch_up()
            events = decide(state, command)
            try:
                entries = self.journal.extend(events, expected_sequence=self.position)
            except ConcurrencyError:
                continue  # another writer got there first: decide again
            self.catch_up()
            return entries


# README: aggregate end
