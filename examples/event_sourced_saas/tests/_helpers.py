"""Billing options for tests, and reading a tenant's stream back for assertions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from examples.event_sourced_saas import BillingOptions, GatewayError
from phyxius.effect import RetryPolicy
from phyxius.journal import Entry

CHARGE_RETRY: Final = RetryPolicy(
    max_attempts=3, base_delay=1.0, factor=2.0, retry_on=GatewayError
)
"""Charges in tests: three attempts, 1 s and 2 s apart, no jitter."""

BILLING: Final = BillingOptions(check_every=6 * 3600, charge_retry=CHARGE_RETRY)
"""Workers in tests check for an ended period at least every six hours."""


def of_type(entries: Iterable[Entry], kind: str) -> list[Entry]:
    """The entries whose event type is ``kind``, in order."""
    return [entry for entry in entries if entry.data["type"] == kind]


def invoices(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """The invoices issued in a stream, in order."""
    return [entry.data["invoice"] for entry in of_type(entries, "invoice.issued")]


def usage_between_invoices(entries: Iterable[Entry]) -> list[int]:
    """The calls recorded before the first invoice, between each two, and after.

    Effective times never go back, so the usage an invoice covers is exactly
    the usage recorded before it and after the previous one.
    """
    totals = [0]
    for entry in entries:
        if entry.data["type"] == "usage.recorded":
            totals[-1] += entry.data["quantity"]
        elif entry.data["type"] == "invoice.issued":
            totals.append(0)
    return totals
