"""The payment service: plain tests pass; exploring faults finds the double charge."""

from __future__ import annotations

import asyncio
from collections import Counter

from hypothesis import find, settings
from hypothesis import strategies as st

from examples.planted_bugs import (
    CHECKOUT_FAULTS,
    LEDGER,
    REQUESTS,
    Charge,
    charge_with_retry,
    charges_per_request,
    checkout,
    checkout_fixed,
    start_payments,
)
from phyxius.journal import Journal
from phyxius.testing import (
    FIFO,
    AppendFailure,
    Crash,
    Delay,
    Duplicate,
    FaultPlan,
    InvariantViolationError,
    Schedule,
    explore,
    shrink,
    simulate,
)
from phyxius.testing.strategies import fault_plans, schedules
from pytest_phyxius import SupervisorFixture

FOUND_WITHIN = 10
"""Seeded runs of `checkout` that `explore` needs to find the double charge
(the README says so; the first failing run is run 5)."""


# -- the plain tests: they pass with the bug in place ---------------------------------


async def test_a_charge_is_recorded_once(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    payments = await start_payments(supervisor, journal, idempotent=False)

    answer = await charge_with_retry(payments, Charge("order-1", 100))

    assert answer == "charged"
    assert charges_per_request(journal) == Counter({"order-1": 1})


async def test_customers_paying_at_once_are_each_charged_once(
    supervisor: SupervisorFixture, journal: Journal
) -> None:
    payments = await start_payments(supervisor, journal, idempotent=False)

    await asyncio.gather(
        *(charge_with_retry(payments, Charge(request, 100)) for request in REQUESTS)
    )

    assert charges_per_request(journal) == Counter(REQUESTS)
    assert [entry.data["amount"] for entry in journal] == [100, 100, 100]


class FailsOnce:
    """A stand-in for the payment process whose first ask fails, charging nothing."""

    def __init__(self) -> None:
        self.asks: list[Charge] = []

    async def ask(self, message: Charge, *, timeout: float) -> str:
        self.asks.append(message)
        if len(self.asks) == 1:
            raise ConnectionError("card network unreachable")
        return "charged"


async def test_the_client_retries_a_failed_ask(controlled_clock: object) -> None:
    # The usual unit test of a retry: the failure comes before the charge,
    # which is the one case where retrying is always right.
    service = FailsOnce()

    answer = await charge_with_retry(service, Charge("order-1", 100))  # type: ignore[arg-type]

    assert answer == "charged"
    assert len(service.asks) == 2


def test_the_scenario_passes_in_first_in_first_out_order_without_faults() -> None:
    assert simulate(checkout).ok


# -- the simulation finds the bug, and shrinks it --------------------------------------


def test_exploring_fault_plans_finds_a_double_charge() -> None:
    exploration = explore(
        checkout, faults=CHECKOUT_FAULTS, runs=FOUND_WITHIN, check=False
    )

    failure = exploration.failure
    assert failure is not None
    assert isinstance(failure.error, InvariantViolationError)
    assert failure.error.invariant == "no_double_charge"
    assert "charged more than once" in str(failure.error)


def test_the_failure_shrinks_to_one_fault_in_fifo_order() -> None:
    exploration = explore(
        checkout, faults=CHECKOUT_FAULTS, runs=FOUND_WITHIN, check=False
    )
    assert exploration.failure is not None

    smallest = shrink(checkout, exploration.failure)

    assert smallest.scripted == FIFO
    (fault,) = smallest.plan
    # An answer lost after the charge: the ledger stored it but failed.
    assert fault == AppendFailure(LEDGER, 1, point="after")
    assert isinstance(smallest.error, InvariantViolationError)


def test_every_way_of_losing_the_answer_charges_twice() -> None:
    for fault in (
        AppendFailure(LEDGER, 1, point="after"),
        Duplicate("payments", 1),
        # Later than the client's 0.5 s timeout: it has retried by then.
        Delay("payments", 1, by=0.6),
    ):
        outcome = simulate(checkout, plan=FaultPlan(fault), check=False)
        assert isinstance(outcome.error, InvariantViolationError), fault

    # A crash after the handler answered loses nothing: the client has its
    # answer, so it does not retry.
    assert simulate(checkout, plan=FaultPlan(Crash("payments", 1, "after"))).ok


def test_hypothesis_finds_the_same_minimal_plan() -> None:
    def double_charges(case: tuple[Schedule, FaultPlan]) -> bool:
        schedule, plan = case
        outcome = simulate(checkout, schedule=schedule, plan=plan, check=False)
        return isinstance(outcome.error, InvariantViolationError)

    schedule, plan = find(
        st.tuples(schedules(), fault_plans(CHECKOUT_FAULTS)),
        double_charges,
        settings=settings(database=None, derandomize=True, max_examples=500),
    )

    assert schedule == FIFO
    assert len(plan) == 1


# -- the fix holds under the same exploration ------------------------------------------


def test_the_idempotent_service_survives_every_explored_fault_plan() -> None:
    exploration = explore(checkout_fixed, faults=CHECKOUT_FAULTS, runs=500)

    assert exploration.failure is None
    assert exploration.runs == 500


def test_the_idempotent_service_survives_the_minimal_plan() -> None:
    plan = FaultPlan(AppendFailure(LEDGER, 1, point="after"))

    outcome = simulate(checkout_fixed, plan=plan)

    assert outcome.ok
    assert len(outcome.injections) == 1
