"""A payment service whose client retries, and a charge that a retry repeats.

The service is one process, ``payments``, that records each charge in the
``ledger`` journal and answers the asking client. The client asks with a
timeout and, when the ask fails (the process crashed, the ledger failed, no
answer in time), waits a moment and asks again: the usual way to survive a
restart.

The planted bug: the handler appends the charge and *then* answers. When the
answer is lost after the append (the process crashes right after handling
the message, the ledger stores the entry but reports a failure, the message
arrives twice, or it arrives so late that the client has already retried),
the retry charges the customer a second time. Every plain test passes,
because in a plain test nothing crashes between the two steps.

The fix (``idempotent=True``): the ledger is the truth, so the handler first
looks there for the request id and answers "already charged" instead of
appending again. The check and the append run in one step of the handler,
with no ``await`` between them, so no other message can slip in.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from phyxius.journal import Journal
from phyxius.process import (
    ProcessRef,
    ProcessSpec,
    Supervisor,
    Tools,
)

__all__ = [
    "PAYMENTS",
    "Charge",
    "charge_with_retry",
    "charges_per_request",
    "payments_spec",
    "start_payments",
]

PAYMENTS: Final = "payments"
"""The name of the payment process (what a fault plan targets)."""

RETRY_DELAY: Final = 0.2
"""Seconds the client waits before asking again."""


@dataclass(frozen=True, slots=True)
class Charge:
    """Charge ``amount`` cents for request ``request`` (the idempotency key)."""

    request: str
    amount: int


def payments_spec(ledger: Journal, *, idempotent: bool) -> ProcessSpec:
    """The payment process: records each `Charge` in ``ledger`` and answers.

    With ``idempotent=False`` it is the buggy version of the module
    docstring; with ``idempotent=True`` the fixed one.
    """

    def handle(state: None, message: Charge, tools: Tools) -> None:
        if idempotent and any(
            entry.data["request"] == message.request for entry in ledger
        ):
            tools.reply("already charged")
            return state
        ledger.append({"request": message.request, "amount": message.amount})
        tools.reply("charged")
        return state

    return ProcessSpec(handle=handle)


async def start_payments(
    supervisor: Supervisor, ledger: Journal, *, idempotent: bool
) -> ProcessRef:
    """Spawn the payment process, named `PAYMENTS`, under ``supervisor``."""
    spec = payments_spec(ledger, idempotent=idempotent)
    return await supervisor.spawn(spec, name=PAYMENTS)


async def charge_with_retry(
    payments: ProcessRef,
    charge: Charge,
    *,
    attempts: int = 5,
    timeout: float = 0.5,
) -> Any:
    """Ask ``payments`` to make ``charge``, retrying a failed ask.

    Any failed ask is retried (the process crashed and the asker got its
    error, the ledger failed, no answer came in time), ``RETRY_DELAY``
    seconds apart, up to ``attempts`` asks; the last one's error is raised.
    """
    for _ in range(attempts - 1):
        try:
            return await payments.ask(charge, timeout=timeout)
        except Exception:
            # Whatever failed the ask (a crash, the handler's own error, a
            # lost answer), the charge may or may not have been made: retry.
            await asyncio.sleep(RETRY_DELAY)
    return await payments.ask(charge, timeout=timeout)


def charges_per_request(ledger: Journal) -> Counter[str]:
    """How many times the ledger charged each request."""
    return Counter(entry.data["request"] for entry in ledger)
