"""A checkout saga across three services: reserve stock, charge, book a courier.

The services stand in for remote ones. Each keeps its state in an `Atom`,
so concurrent sagas cannot lose an update, and each takes some time on the
clock, as a network call would. Their undo operations are idempotent, as a
saga's compensations must be: releasing a reservation or refunding a charge
twice changes nothing the second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, final

from examples.patterns._saga import Saga, Step
from phyxius import Atom, RetryPolicy, current_context

__all__ = [
    "CourierUnavailable",
    "Inventory",
    "OutOfStock",
    "PaymentDeclined",
    "Payments",
    "Shipping",
    "checkout_saga",
]


class OutOfStock(Exception):
    """Not enough of an item to reserve."""


class PaymentDeclined(Exception):
    """The customer's balance does not cover the charge."""


class CourierUnavailable(ConnectionError):
    """The courier's service did not take the booking."""


def _ref(kind: str, saga_id: str) -> str:
    # One reservation, charge or booking per saga: the saga's id keys it, so
    # a retried action or a repeated undo finds the one it already made.
    return f"{kind}:{saga_id}"


@final
class Inventory:
    """Stock per item, and the reservations held against it."""

    def __init__(self, state: Atom[dict[str, Any]]) -> None:
        self.state = state

    @staticmethod
    def initial(stock: Mapping[str, int]) -> dict[str, Any]:
        """The value the inventory's atom starts from."""
        return {"stock": dict(stock), "reserved": {}}

    async def reserve(self, sku: str, quantity: int) -> str:
        """Hold ``quantity`` of ``sku``; returns the reservation's id."""
        await asyncio.sleep(0.05)
        reservation = _ref("reservation", current_context()["saga_id"])

        def take(state: dict[str, Any]) -> dict[str, Any]:
            if reservation in state["reserved"]:
                return state  # a retry of a reservation that went through
            left = state["stock"].get(sku, 0)
            if left < quantity:
                raise OutOfStock(f"{sku}: {left} left, {quantity} wanted")
            return {
                "stock": {**state["stock"], sku: left - quantity},
                "reserved": {**state["reserved"], reservation: [sku, quantity]},
            }

        self.state.update(take)
        return reservation

    async def release(self, reservation: str) -> None:
        """Put a reservation's items back; a second release changes nothing."""
        await asyncio.sleep(0.05)

        def give_back(state: dict[str, Any]) -> dict[str, Any]:
            if reservation not in state["reserved"]:
                return state
            reserved = dict(state["reserved"])
            sku, quantity = reserved.pop(reservation)
            stock = {**state["stock"], sku: state["stock"][sku] + quantity}
            return {"stock": stock, "reserved": reserved}

        self.state.update(give_back)


@final
class Payments:
    """Prepaid balances per customer, and the charges taken from them."""

    def __init__(self, state: Atom[dict[str, Any]]) -> None:
        self.state = state

    @staticmethod
    def initial(balances: Mapping[str, int]) -> dict[str, Any]:
        """The value the payments' atom starts from."""
        return {"balances": dict(balances), "charges": {}}

    async def charge(self, customer: str, amount: int) -> str:
        """Take ``amount`` cents from ``customer``; returns the charge's id."""
        await asyncio.sleep(0.1)
        charge = _ref("charge", current_context()["saga_id"])

        def take(state: dict[str, Any]) -> dict[str, Any]:
            if charge in state["charges"]:
                return state
            balance = state["balances"].get(customer, 0)
            if balance < amount:
                raise PaymentDeclined(f"{customer} holds {balance}, owes {amount}")
            return {
                "balances": {**state["balances"], customer: balance - amount},
                "charges": {**state["charges"], charge: [customer, amount]},
            }

        self.state.update(take)
        return charge

    async def refund(self, charge: str) -> None:
        """Give a charge back; a second refund changes nothing."""
        await asyncio.sleep(0.1)

        def give_back(state: dict[str, Any]) -> dict[str, Any]:
            if charge not in state["charges"]:
                return state
            charges = dict(state["charges"])
            customer, amount = charges.pop(charge)
            balances = {
                **state["balances"],
                customer: state["balances"][customer] + amount,
            }
            return {"balances": balances, "charges": charges}

        self.state.update(give_back)


@final
class Shipping:
    """A courier's booking service; it fails while ``down`` is above zero.

    Each failed booking takes one off ``down``, so ``down=2`` stands for an
    outage that the third attempt outlasts. ``delay`` is how long a booking
    takes on the clock.
    """

    def __init__(self, bookings: Atom[dict[str, str]], *, delay: float = 0.2) -> None:
        self.bookings = bookings
        self.delay = delay
        self.down = 0

    async def book(self, order: str, address: str) -> str:
        """Book a pickup of ``order`` to ``address``; returns the tracking id."""
        await asyncio.sleep(self.delay)
        if self.down > 0:
            self.down -= 1
            raise CourierUnavailable("the courier's service did not answer")
        tracking = _ref("parcel", current_context()["saga_id"])
        self.bookings.update(lambda booked: {**booked, tracking: address})
        return tracking


# README: checkout saga start
def checkout_saga(inventory: Inventory, payments: Payments, shipping: Shipping) -> Saga:
    """Reserve the items, charge the customer, book the courier; or undo."""

    async def reserve(data: Mapping[str, Any]) -> str:
        return await inventory.reserve(data["sku"], data["quantity"])

    async def release(data: Mapping[str, Any], reservation: str) -> None:
        await inventory.release(reservation)

    async def charge(data: Mapping[str, Any]) -> str:
        return await payments.charge(data["customer"], data["amount"])

    async def refund(data: Mapping[str, Any], charge: str) -> None:
        await payments.refund(charge)

    async def ship(data: Mapping[str, Any]) -> str:
        return await shipping.book(data["order"], data["address"])

    return Saga(
        "checkout",
        [
            Step("reserve", reserve, release),
            Step("charge", charge, refund, timeout=2),
            Step(
                "ship",
                ship,
                timeout=1,
                retry=RetryPolicy(
                    max_attempts=3, base_delay=1, retry_on=CourierUnavailable
                ),
            ),
        ],
    )


# README: checkout saga end
