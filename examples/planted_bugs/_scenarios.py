"""The scenarios a simulation explores: both planted bugs, buggy and fixed.

Each is an async function taking a `phyxius.testing.World`, so
``explore(checkout, faults=CHECKOUT_FAULTS)`` runs it under seed after seed
and ``simulate(checkout, seed=..., plan=...)`` replays one run.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Final

from examples.planted_bugs._cache import (
    ReadThroughCache,
    read,
    start_database,
    write,
)
from examples.planted_bugs._payments import (
    PAYMENTS,
    Charge,
    charge_with_retry,
    charges_per_request,
    start_payments,
)
from phyxius.testing import FaultSpace, World

__all__ = [
    "CHECKOUT_FAULTS",
    "LEDGER",
    "REQUESTS",
    "checkout",
    "checkout_fixed",
    "no_double_charge",
    "read_while_writing",
    "read_while_writing_fixed",
]

LEDGER: Final = "ledger"
"""The name of the payment service's journal."""

REQUESTS: Final = ("order-1", "order-2", "order-3")
"""The requests three customers pay for at once in `checkout`."""

CHECKOUT_FAULTS: Final = FaultSpace(
    processes=(PAYMENTS,), journals=(LEDGER,), max_faults=2, max_message=4
)
"""What may go wrong in `checkout`: up to two faults among the payment
process's first four messages and the ledger's first four appends, and wall
clock jumps."""


def no_double_charge(world: World) -> None:
    """The invariant of the payment service: no request is charged twice."""
    doubled = {
        request: times
        for request, times in charges_per_request(world.journal(LEDGER)).items()
        if times > 1
    }
    assert not doubled, f"charged more than once: {doubled}"


async def _checkout(world: World, *, idempotent: bool) -> None:
    world.invariant(no_double_charge)
    ledger = world.journal(LEDGER)
    payments = await start_payments(world.supervisor, ledger, idempotent=idempotent)

    await asyncio.gather(
        *(charge_with_retry(payments, Charge(request, 100)) for request in REQUESTS)
    )

    assert charges_per_request(ledger) == Counter(REQUESTS)


async def checkout(world: World) -> None:
    """Three customers pay at once; the buggy service (the retry charges twice)."""
    await _checkout(world, idempotent=False)


async def checkout_fixed(world: World) -> None:
    """Three customers pay at once; the fixed, idempotent service."""
    await _checkout(world, idempotent=True)


async def _read_while_writing(world: World, *, versioned: bool) -> None:
    database = await start_database(world.supervisor)
    cache = ReadThroughCache(versioned)
    await write(cache, database, "price", 100)

    await asyncio.gather(
        read(cache, database, "price"), write(cache, database, "price", 120)
    )

    stored = await database.ask(("get", "price"))
    cached = cache.entries.get("price")
    assert cached in (None, stored), f"the cache holds {cached}, the database {stored}"


async def read_while_writing(world: World) -> None:
    """A reader misses while a writer replaces the value; the buggy cache."""
    await _read_while_writing(world, versioned=False)


async def read_while_writing_fixed(world: World) -> None:
    """A reader misses while a writer replaces the value; the versioned cache."""
    await _read_while_writing(world, versioned=True)
