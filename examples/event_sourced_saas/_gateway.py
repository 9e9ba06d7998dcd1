"""Payments: the `PaymentGateway` protocol and an in-memory `SandboxGateway`.

A gateway charges an invoice's amount and returns a charge id. The one rule
that makes billing safe across crashes is the provider's, as with every real
card processor: a charge made twice with the same *idempotency key* is made
once, and the second call returns the first charge. The billing worker uses
the request id of the payment (``payment:<invoice number>``) as the key and
hands it to the gateway through the effect context, the way an HTTP client
would set an ``Idempotency-Key`` header from the request's context; so a
worker that crashed after the charge went through, and charges again after
its restart, does not charge twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, final

from phyxius.clock import Clock
from phyxius.effect import current_context

__all__ = ["Charge", "GatewayError", "PaymentGateway", "SandboxGateway"]


class GatewayError(ConnectionError):
    """The gateway could not be reached or did not answer: try again later."""


class PaymentGateway(Protocol):
    """Charges invoices; idempotent by the ``request_id`` of the effect context."""

    async def charge(self, tenant: str, invoice: str, amount: int) -> str:
        """Charge ``amount`` cents for ``invoice``; return the charge id.

        Called inside a running effect whose context holds ``request_id``,
        the idempotency key.

        Raises:
            GatewayError: a transient failure; the charge may or may not
                have been made, and trying again with the same key is safe.
        """
        ...


@final
@dataclass(frozen=True, slots=True)
class Charge:
    """A charge the sandbox made."""

    id: str
    tenant: str
    invoice: str
    amount: int
    idempotency_key: str


@final
class SandboxGateway:
    """An in-memory payment provider with the idempotency a real one has.

    It answers after ``latency`` seconds of ``clock``. `fail_next` plans
    outages: the next calls raise `GatewayError`, either before charging
    (the request never arrived) or after (the charge was made and the answer
    was lost), the two failures a billing system must survive.
    """

    def __init__(self, clock: Clock, *, latency: float = 0.05) -> None:
        self._clock = clock
        self._latency = latency
        self._charges: list[Charge] = []
        self._by_key: dict[str, Charge] = {}
        self._failures: list[bool] = []
        self.calls = 0
        """Every call to `charge`, failed or not."""

    @property
    def charges(self) -> list[Charge]:
        """Every charge made, in order; a key charged twice appears once."""
        return list(self._charges)

    def fail_next(self, times: int = 1, *, after_charging: bool = False) -> None:
        """Make the next ``times`` calls fail, before or after the charge is made."""
        self._failures.extend([after_charging] * times)

    async def charge(self, tenant: str, invoice: str, amount: int) -> str:
        """Charge once per idempotency key (the context's ``request_id``)."""
        key = current_context().get("request_id")
        if not isinstance(key, str):
            raise ValueError(
                "charge() needs the idempotency key as 'request_id' in the effect "
                "context; run it inside an effect that sets one"
            )
        self.calls += 1
        await self._clock.sleep(self._latency)
        after_charging = self._failures.pop(0) if self._failures else None
        if after_charging is False:
            raise GatewayError(f"gateway unreachable while charging {invoice}")

        charge = self._by_key.get(key)
        if charge is None:
            charge = Charge(
                f"ch_{len(self._charges) + 1:06d}", tenant, invoice, amount, key
            )
            self._charges.append(charge)
            self._by_key[key] = charge
        if after_charging:
            raise GatewayError(f"the answer to charging {invoice} was lost")
        return charge.id
