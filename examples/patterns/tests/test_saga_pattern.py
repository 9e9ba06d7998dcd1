"""The saga: compensation last-completed first, its id in context, recovery.

The checkout's services keep their state in atoms from the plugin's ``atom``
fixture, so a test can assert every value they went through; the saga
journals to the ``journal`` fixture and runs on its clock, the test's
virtual one, so retries, timeouts and service latency are exact and take no
real time. The property builds a fresh clock, journal and atom per example.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.patterns import (
    CompensationFailedError,
    CourierUnavailable,
    Inventory,
    Payments,
    Saga,
    SagaOutcome,
    Shipping,
    Step,
    checkout_saga,
)
from phyxius import (
    EffectTimeoutError,
    InvalidArgumentError,
    create_atom,
    create_journal,
    current_context,
    run_effect,
)
from phyxius.clock import ControlledClock, run
from phyxius.effect import Context, ContextLogFilter
from phyxius.journal import Entry, Journal, SortableIds
from pytest_phyxius import AtomFactory
from pytest_phyxius.snapshot import JournalSnapshotFixture

ORDER = {
    "order": "o-17",
    "customer": "ada",
    "sku": "book",
    "quantity": 2,
    "amount": 2_400,
    "address": "12 Analytical Row",
}


class Shop:
    """The three services of a checkout, on atoms from the fixture."""

    def __init__(self, atom: AtomFactory, *, shipping_delay: float = 0.2) -> None:
        self.inventory = Inventory(atom(Inventory.initial({"book": 5})))
        self.payments = Payments(atom(Payments.initial({"ada": 10_000})))
        self.shipping = Shipping(atom({}), delay=shipping_delay)
        self.saga = checkout_saga(self.inventory, self.payments, self.shipping)

    @property
    def stock(self) -> int:
        stock: int = self.inventory.state.get()["stock"]["book"]
        return stock

    @property
    def balance(self) -> int:
        balance: int = self.payments.state.get()["balances"]["ada"]
        return balance


@pytest.fixture
def shop(atom: AtomFactory) -> Shop:
    return Shop(atom)


def last(journal: Journal) -> Entry:
    entry = journal.last()
    assert entry is not None
    return entry


def kinds(journal: Journal) -> list[tuple[str, str | None]]:
    return [(entry.data["type"], entry.data.get("step")) for entry in journal]


async def test_a_checkout_that_goes_through_completes_every_step(
    shop: Shop, journal: Journal
) -> None:
    outcome = await shop.saga.run("checkout-17", ORDER, journal=journal)

    assert outcome == SagaOutcome(
        "checkout-17",
        "completed",
        {
            "reserve": "reservation:checkout-17",
            "charge": "charge:checkout-17",
            "ship": "parcel:checkout-17",
        },
    )
    assert (shop.stock, shop.balance) == (3, 7_600)
    assert shop.shipping.bookings.get() == {"parcel:checkout-17": "12 Analytical Row"}
    assert last(journal).at.mono == 0.35  # 0.05 + 0.1 + 0.2 of service latency


# README: saga test start
async def test_a_failed_step_undoes_the_completed_ones_last_first(
    shop: Shop, journal: Journal, journal_snapshot: JournalSnapshotFixture
) -> None:
    shop.shipping.down = 3  # an outage longer than the step's three attempts

    outcome = await shop.saga.run("checkout-17", ORDER, journal=journal)

    assert outcome.status == "compensated"
    assert outcome.failed_step == "ship"
    assert isinstance(outcome.error, CourierUnavailable)
    assert outcome.compensated == ("charge", "reserve")
    assert (shop.stock, shop.balance) == (5, 10_000)  # as before the checkout
    assert [(e.data["type"], e.data.get("step")) for e in journal] == [
        ("saga.started", None),
        ("saga.step_completed", "reserve"),
        ("saga.step_completed", "charge"),
        ("saga.step_failed", "ship"),
        ("saga.step_compensated", "charge"),
        ("saga.step_compensated", "reserve"),
        ("saga.compensated", "ship"),
    ]
    assert journal == journal_snapshot  # times included: retries on the clock


# README: saga test end


async def test_every_action_and_undo_sees_its_own_saga_id(journal: Journal) -> None:
    seen: list[tuple[str, str]] = []

    def step(name: str, fails: bool = False) -> Step:
        async def action(data: Mapping[str, Any]) -> str:
            await asyncio.sleep(data["pause"])  # let the other saga run
            seen.append((f"{name} done", current_context()["saga_id"]))
            if fails:
                raise LookupError(f"{name} found nothing")
            return name

        async def undo(data: Mapping[str, Any], result: Any) -> None:
            await asyncio.sleep(data["pause"])
            seen.append((f"{name} undone", current_context()["saga_id"]))

        return Step(name, action, undo)

    saga = Saga("trip", [step("flight"), step("hotel"), step("car", fails=True)])

    first, second = await asyncio.gather(
        saga.run("trip-a", {"pause": 1}, journal=journal),
        saga.run("trip-b", {"pause": 1.5}, journal=journal),
    )

    assert first.compensated == second.compensated == ("hotel", "flight")
    expected = [
        "flight done",
        "hotel done",
        "car done",
        "hotel undone",
        "flight undone",
    ]
    for saga_id in ("trip-a", "trip-b"):
        assert [what for what, who in seen if who == saga_id] == expected
    assert [what for what, _ in seen][:2] == ["flight done", "flight done"]


async def test_the_log_records_of_a_saga_carry_its_id(
    shop: Shop, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="examples.patterns.saga")
    caplog.handler.addFilter(ContextLogFilter("saga_id"))
    shop.shipping.down = 3

    await shop.saga.run("checkout-17", ORDER, journal=journal)

    stamped = [
        (getattr(r, "saga_id", None), r.levelname, r.getMessage().split()[0])
        for r in caplog.records
    ]
    assert stamped == [
        ("checkout-17", "INFO", "saga.started"),
        ("checkout-17", "INFO", "saga.step_completed"),
        ("checkout-17", "INFO", "saga.step_completed"),
        ("checkout-17", "WARNING", "saga.step_failed"),
        ("checkout-17", "INFO", "saga.step_compensated"),
        ("checkout-17", "INFO", "saga.step_compensated"),
        ("checkout-17", "INFO", "saga.compensated"),
    ]


async def test_a_courier_outage_is_retried_on_the_clock(
    shop: Shop, journal: Journal
) -> None:
    shop.shipping.down = 2  # the third attempt gets through

    outcome = await shop.saga.run("checkout-17", ORDER, journal=journal)

    assert outcome.status == "completed"
    # Ship starts at 0.15 s; attempts of 0.2 s, waits of 1 s then 2 s.
    assert last(journal).at.mono == 0.15 + 0.2 + 1 + 0.2 + 2 + 0.2


async def test_a_step_over_its_timeout_fails_and_is_compensated(
    atom: AtomFactory, journal: Journal
) -> None:
    shop = Shop(atom, shipping_delay=5)  # the courier answers after the timeout

    outcome = await shop.saga.run("checkout-17", ORDER, journal=journal)

    assert isinstance(outcome.error, EffectTimeoutError)  # not retried
    failed = next(e for e in journal if e.data["type"] == "saga.step_failed")
    assert failed.at.mono == 0.15 + 1
    assert (shop.stock, shop.balance) == (5, 10_000)


async def test_a_compensation_that_keeps_failing_leaves_the_saga_stuck(
    shop: Shop, journal: Journal, controlled_clock: ControlledClock
) -> None:
    refunds_work = False
    real_refund = shop.payments.refund

    async def refund(charge: str) -> None:
        if not refunds_work:
            raise ConnectionError("the payment provider is down")
        await real_refund(charge)

    shop.payments.refund = refund  # type: ignore[method-assign]
    shop.shipping.down = 3

    with pytest.raises(
        CompensationFailedError,
        match=r"^saga 'checkout' \(checkout-17\) is stuck: compensating step 'charge' "
        r"failed \(ConnectionError: the payment provider is down\); fix the cause, "
        r"then run Saga.recover to finish compensating$",
    ) as stuck:
        await shop.saga.run("checkout-17", ORDER, journal=journal)

    assert (stuck.value.saga_id, stuck.value.step) == ("checkout-17", "charge")
    assert kinds(journal)[-2:] == [
        ("saga.step_failed", "ship"),
        ("saga.stuck", "charge"),
    ]
    assert (shop.stock, shop.balance) == (3, 7_600)  # nothing undone yet

    refunds_work = True
    [outcome] = await shop.saga.recover(journal)

    assert outcome.compensated == ("charge", "reserve")
    assert (shop.stock, shop.balance) == (5, 10_000)
    assert await shop.saga.recover(journal) == []


async def test_a_saga_interrupted_part_way_is_compensated_by_recover(
    shop: Shop, journal: Journal
) -> None:
    running = asyncio.create_task(shop.saga.run("checkout-17", ORDER, journal=journal))
    await asyncio.sleep(0.25)  # reserve and charge are done; ship is under way
    running.cancel()  # as a crash of the coordinator would stop it
    with pytest.raises(asyncio.CancelledError):
        await running
    assert kinds(journal)[-1] == ("saga.step_completed", "charge")
    assert (shop.stock, shop.balance) == (3, 7_600)

    [outcome] = await shop.saga.recover(journal)  # the service starts again

    assert outcome == SagaOutcome(
        "checkout-17",
        "compensated",
        {"reserve": "reservation:checkout-17", "charge": "charge:checkout-17"},
        compensated=("charge", "reserve"),
    )
    assert (shop.stock, shop.balance) == (5, 10_000)
    assert kinds(journal)[-1] == ("saga.compensated", None)
    assert await shop.saga.recover(journal) == []  # nothing left to finish


async def test_recover_leaves_finished_sagas_and_other_sagas_alone(
    shop: Shop, journal: Journal
) -> None:
    await shop.saga.run("checkout-1", ORDER, journal=journal)
    shop.shipping.down = 3
    await shop.saga.run("checkout-2", ORDER, journal=journal)
    journal.append({"type": "saga.started", "saga": "refund", "saga_id": "r-1"})
    written = len(journal)

    assert await shop.saga.recover(journal) == []
    assert len(journal) == written


async def test_the_services_repeat_an_action_or_an_undo_harmlessly(
    shop: Shop, controlled_clock: ControlledClock
) -> None:
    async def twice(context: Context) -> tuple[str, str]:
        first = await shop.inventory.reserve("book", 2)
        again = await shop.inventory.reserve("book", 2)  # a retry after a lost reply
        await shop.inventory.release(first)
        await shop.inventory.release(first)  # a recovery after a crashed undo
        return first, again

    result = await run_effect(
        twice, clock=controlled_clock, context={"saga_id": "checkout-17"}
    )

    assert result.unwrap() == ("reservation:checkout-17", "reservation:checkout-17")
    history = shop.inventory.state.get_history()
    assert [snapshot.value["stock"]["book"] for snapshot in history] == [5, 3, 5]


# -- bad input ---------------------------------------------------------------------


async def noop(data: Mapping[str, Any]) -> None:
    return None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Step("", noop), r"^Step\(name=''\): name must be a non-empty str$"),
        (
            lambda: Step("pay", "charge"),  # type: ignore[arg-type]
            r"^Step 'pay': action='charge' is not callable; pass an async function$",
        ),
        (
            lambda: Step("pay", noop, 42),  # type: ignore[arg-type]
            r"^Step 'pay': compensation=42 is not callable; pass an async function$",
        ),
        (lambda: Step("pay", noop, timeout=-1), r"^timeout=-1"),
        (
            lambda: Step("pay", noop, retry=3),  # type: ignore[arg-type]
            r"^Step 'pay': retry=3 is not a RetryPolicy$",
        ),
        (
            lambda: Saga("", [Step("a", noop)]),
            r"^name='': a saga needs a non-empty name$",
        ),
        (
            lambda: Saga("s", []),
            r"^steps=\(\): a saga needs one Step or more, and only",
        ),
        (
            lambda: Saga("s", [Step("a", noop), Step("a", noop)]),
            r"^steps: the names \['a'\] are used twice; the journal tells steps apart",
        ),
        (
            lambda: Saga(
                "s",
                [Step("a", noop)],
                compensation_retry=5,  # type: ignore[arg-type]
            ),
            r"^compensation_retry=5 is not a RetryPolicy$",
        ),
    ],
    ids=[
        "step-name",
        "action",
        "compensation",
        "timeout",
        "retry",
        "saga-name",
        "no-steps",
        "twice",
        "compensation-retry",
    ],
)
def test_a_malformed_saga_is_refused_when_made(make: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make()


@pytest.mark.parametrize(
    ("saga_id", "data", "message"),
    [
        ("", {}, r"^saga_id='': pass a non-empty str that names this run"),
        ("s-1", [1], r"^data=\[1\] \(type=list\) is not a mapping; pass the saga's"),
    ],
    ids=["saga-id", "data"],
)
async def test_a_run_with_bad_arguments_is_refused_before_it_starts(
    journal: Journal, saga_id: str, data: Any, message: str
) -> None:
    saga = Saga("s", [Step("a", noop)])

    with pytest.raises(InvalidArgumentError, match=message):
        await saga.run(saga_id, data, journal=journal)
    with pytest.raises(InvalidArgumentError, match=r"^journal=None \(type=NoneType\)"):
        await saga.run("s-1", {}, journal=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"^journal='j' \(type=str\)"):
        await saga.recover("j")  # type: ignore[arg-type]
    assert len(journal) == 0


# -- any failure point ------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    undoable=st.lists(st.booleans(), min_size=1, max_size=6),
    fails_at=st.integers(min_value=0, max_value=6),
)
def test_whatever_step_fails_exactly_the_completed_steps_are_undone_in_reverse(
    undoable: list[bool], fails_at: int
) -> None:
    clock = ControlledClock()
    journal = create_journal(name="sagas", clock=clock, ids=SortableIds(seed=3))
    applied = create_atom(frozenset[str](), clock=clock)

    def step(index: int, has_undo: bool) -> Step:
        name = f"step-{index}"

        async def action(data: Mapping[str, Any]) -> str:
            await asyncio.sleep(0.5)
            if index == fails_at:
                raise RuntimeError(f"{name} failed")
            applied.update(lambda done: done | {name})
            return name

        async def undo(data: Mapping[str, Any], result: Any) -> None:
            await asyncio.sleep(0.25)
            applied.update(lambda done: done - {result})

        return Step(name, action, undo if has_undo else None)

    saga = Saga("prop", [step(i, u) for i, u in enumerate(undoable)])
    outcome = run(saga.run("p-1", {}, journal=journal), clock=clock)

    completed = [f"step-{i}" for i in range(min(fails_at, len(undoable)))]
    with_undo = [f"step-{i}" for i in range(len(completed)) if undoable[i]]
    assert list(outcome.results) == completed
    if fails_at >= len(undoable):
        assert outcome.status == "completed"
        assert applied.get() == frozenset(completed)
    else:
        assert outcome.status == "compensated"
        assert outcome.failed_step == f"step-{fails_at}"
        assert outcome.compensated == tuple(reversed(with_undo))
        assert applied.get() == frozenset(completed) - frozenset(with_undo)
    assert [e.data["type"] for e in journal].count("saga.started") == 1
    assert run(saga.recover(journal), clock=clock) == []
