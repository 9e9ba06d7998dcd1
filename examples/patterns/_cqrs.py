"""CQRS: a supervised command process writes, a supervised query process reads.

The two sides share nothing but the journal, which holds order events only:

* The command process holds the write model, every order's `OrderState`,
  rebuilt from the journal by its ``init``. It takes one command at a time,
  decides it with `decide` and appends the events, conditional on the journal
  being where it last saw it. A refused command fails the ask and leaves
  the process as it was; anything unexpected (a journal that cannot be
  written) crashes it, and its restart rebuilds the write model from the
  journal, so it never keeps a decision the journal does not hold.
* The query process folds the journal into read models shaped for the
  questions asked (an order's summary, a customer's orders, the revenue) and
  answers from them. A journal subscription tells it of every commit; it
  reads the journal from its own position, so a notice that arrives twice or
  not at all changes nothing. A restart rebuilds the read models from the
  journal.

Reads are eventually consistent: a query sees the commits the query process
has folded in. `OrderDesk.execute` returns a `Receipt` whose ``sequence`` a
caller passes to `OrderDesk.ask` (``after=receipt``) to read its own write:
the query process then folds in the journal up to that point before
answering.

The processes run under any supervisor (a `phyxius.Supervisor`, or the
pytest plugin's ``supervisor`` fixture), one_for_one: a crash of one side
does not restart the other. Subscriptions see appends made in this OS
process only; a query process fed by writers in other processes would follow
the journal (`Journal.follow`) instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, final

from examples.patterns._aggregate import (
    Command,
    OrderRejected,
    OrderState,
    check_command,
    decide,
    evolve,
)
from phyxius import ConcurrencyError, Entry, InvalidArgumentError, Journal, ProcessRef
from phyxius.process import ProcessSpec, Tools

__all__ = [
    "COMMAND_SIDE",
    "QUERY_SIDE",
    "CustomerOrders",
    "GetOrder",
    "OrderDesk",
    "OrderSummary",
    "Query",
    "Receipt",
    "Revenue",
]


@final
@dataclass(frozen=True, slots=True)
class Receipt:
    """A recorded command: its order's new version and the journal's position.

    ``sequence`` is that of the command's last event; pass the receipt as
    ``after=`` to a query to read this write.
    """

    order: str
    version: int
    sequence: int


# -- the command side ------------------------------------------------------------


@dataclass
class _WriteModel:
    journal: Journal
    orders: dict[str, OrderState] = field(default_factory=dict)
    position: int = 0  # the next journal sequence to fold in

    def catch_up(self) -> None:
        for entry in self.journal.read(start=self.position):
            self.fold(entry)

    def fold(self, entry: Entry) -> None:
        order = entry.data["order"]
        self.orders[order] = evolve(
            self.orders.get(order, OrderState(order)), entry.data
        )
        self.position = entry.sequence + 1


# README: command side start
def start_writing(journal: Journal) -> _WriteModel:
    """The command process's ``init``: the write model, rebuilt from the journal."""
    model = _WriteModel(journal)
    model.catch_up()
    return model


def handle_command(model: _WriteModel, command: Command, tools: Tools) -> _WriteModel:
    """Decide one command and record it; a refusal fails the ask, nothing else."""
    while True:
        state = model.orders.get(command.order, OrderState(command.order))
        try:
            events = decide(state, command)
        except (OrderRejected, InvalidArgumentError) as refused:
            tools.defer_reply().fail(refused)
            return model
        try:
            entries = model.journal.extend(events, expected_sequence=model.position)
        except ConcurrencyError:
            model.catch_up()  # another writer got there first: decide again
            continue
        break

    for entry in entries:
        model.fold(entry)
    version = model.orders[command.order].version
    tools.reply(Receipt(command.order, version, entries[-1].sequence))
    return model


COMMAND_SIDE = ProcessSpec(init=start_writing, handle=handle_command)
# README: command side end


# -- the query side --------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class OrderSummary:
    """An order as the query side shows it."""

    order: str
    customer: str
    status: str
    items: int
    total: int


@final
@dataclass(frozen=True, slots=True)
class GetOrder:
    """Ask for one order's `OrderSummary` (None when there is no such order)."""

    order: str


@final
@dataclass(frozen=True, slots=True)
class CustomerOrders:
    """Ask for a customer's orders, oldest first, as a tuple of `OrderSummary`."""

    customer: str


@final
@dataclass(frozen=True, slots=True)
class Revenue:
    """Ask for the total, in cents, of the orders placed and not cancelled."""


Query: TypeAlias = GetOrder | CustomerOrders | Revenue
QUERY_TYPES = (GetOrder, CustomerOrders, Revenue)


@final
@dataclass(frozen=True, slots=True)
class _Committed:
    """A journal subscription's notice: entry ``sequence`` was committed."""

    sequence: int


@final
@dataclass(frozen=True, slots=True)
class _Asked:
    """A query, to answer once the read models have folded in ``after``."""

    query: Query
    after: int


@dataclass
class _ReadModel:
    journal: Journal
    unsubscribe: Callable[[], bool]
    position: int = 0
    states: dict[str, OrderState] = field(default_factory=dict)
    summaries: dict[str, OrderSummary] = field(default_factory=dict)
    by_customer: dict[str, list[str]] = field(default_factory=dict)
    revenue: int = 0

    def catch_up(self) -> None:
        for entry in self.journal.read(start=self.position):
            self.fold(entry)

    def fold(self, entry: Entry) -> None:
        event = entry.data
        order = event["order"]
        before = self.states.get(order, OrderState(order))
        after = self.states[order] = evolve(before, event)

        if event["type"] == "order.opened":
            self.by_customer.setdefault(event["customer"], []).append(order)
        if after.status == "placed" and before.status != "placed":
            self.revenue += after.total
        if after.status == "cancelled" and before.status == "placed":
            self.revenue -= before.total
        self.summaries[order] = OrderSummary(
            order=order,
            customer=after.customer or "",
            status=after.status,
            items=sum(line.quantity for line in after.lines.values()),
            total=after.total,
        )
        self.position = entry.sequence + 1

    def answer(self, query: Query) -> Any:
        match query:
            case GetOrder(order=order):
                return self.summaries.get(order)
            case CustomerOrders(customer=customer):
                orders = self.by_customer.get(customer, [])
                return tuple(self.summaries[order] for order in orders)
            case Revenue():
                return self.revenue


# README: query side start
def start_reading(journal: Journal, tools: Tools) -> _ReadModel:
    """The query process's ``init``: subscribe, then fold in the whole journal."""
    notify = tools.self  # the ref outlives this incarnation; the notices queue
    unsubscribe = journal.subscribe(
        lambda entry: notify.send(_Committed(entry.sequence))
    )
    model = _ReadModel(journal, unsubscribe)
    model.catch_up()
    return model


def handle_query(
    model: _ReadModel, msg: _Committed | _Asked, tools: Tools
) -> _ReadModel:
    """Fold in new commits; answer queries once the asker's write is in."""
    match msg:
        case _Committed(sequence=sequence) if sequence >= model.position:
            model.catch_up()
        case _Asked(query=query, after=after):
            if after >= model.position:
                model.catch_up()
            tools.reply(model.answer(query))
    return model


def stop_reading(model: _ReadModel, reason: object) -> None:
    """The query process's ``on_stop``: a restart subscribes afresh."""
    model.unsubscribe()


QUERY_SIDE = ProcessSpec(init=start_reading, handle=handle_query, on_stop=stop_reading)
# README: query side end


# -- the desk: both sides under one supervisor ----------------------------------------


class Spawner(Protocol):
    """What `OrderDesk.start` needs from a supervisor: `Supervisor.spawn`."""

    async def spawn(
        self, spec: object, *, name: str | None = None, ctx: object = None
    ) -> ProcessRef: ...


@final
class OrderDesk:
    """The command process and the query process of one orders journal.

    Start one with `OrderDesk.start`; `execute` sends commands to the command
    side, `ask` queries to the query side. The refs stay valid across
    restarts, so a desk outlives crashes of either side.
    """

    def __init__(self, commands: ProcessRef, queries: ProcessRef) -> None:
        self.commands = commands
        """The command process."""

        self.queries = queries
        """The query process."""

    @classmethod
    async def start(
        cls, supervisor: Spawner, journal: Journal, *, name: str = "orders"
    ) -> OrderDesk:
        """Spawn ``<name>.commands`` and ``<name>.queries`` on ``journal``."""
        if not isinstance(journal, Journal):
            raise InvalidArgumentError(
                f"journal={journal!r} (type={type(journal).__name__}) is not a "
                "Journal; pass the orders journal, from create_journal(...)"
            )
        commands = await supervisor.spawn(
            COMMAND_SIDE, name=f"{name}.commands", ctx=journal
        )
        queries = await supervisor.spawn(
            QUERY_SIDE, name=f"{name}.queries", ctx=journal
        )
        return cls(commands, queries)

    async def execute(self, command: Command) -> Receipt:
        """Record ``command``; raises `OrderRejected` when the order refuses it."""
        receipt: Receipt = await self.commands.ask(check_command(command))
        return receipt

    async def ask(self, query: Query, *, after: Receipt | None = None) -> Any:
        """Answer ``query`` from the read models (having read ``after``, if given)."""
        if not isinstance(query, QUERY_TYPES):
            raise InvalidArgumentError(
                f"query={query!r} (type={type(query).__name__}) is not a query; pass "
                "GetOrder, CustomerOrders or Revenue"
            )
        if after is not None and not isinstance(after, Receipt):
            raise InvalidArgumentError(
                f"after={after!r} (type={type(after).__name__}) is not a Receipt; "
                "pass what execute() returned, or None"
            )
        position = -1 if after is None else after.sequence
        return await self.queries.ask(_Asked(query, position))
