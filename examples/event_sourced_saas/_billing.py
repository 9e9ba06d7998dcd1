"""Invoices: computed from a tenant's state, deterministically, in integer cents.

The rule, for the billing period being invoiced, segment by segment (a new
segment begins at every plan change; see `_state`):

* **Subscription fee.** Each segment pays its plan's ``monthly_fee`` in
  proportion to its share of the period, to the nanosecond:
  ``fee * segment_length / period_length``. A period without a plan change is
  one segment and pays exactly the fee, however long the month. An upgrade or
  a downgrade takes effect at once, and the period pays each plan for the
  time it was in effect: that is the proration.
* **Included calls.** Each segment includes its plan's ``included_calls`` in
  the same proportion, rounded down to a whole call.
* **Overage.** The calls recorded in a segment beyond its included calls cost
  the segment's ``overage_per_thousand`` per 1,000. A capped plan (no overage
  price) never bills overage; it refuses the usage instead (see
  `_commands`).
* **Rounding.** Every amount is rounded to the nearest cent, halves up, once
  per invoice line; the total is the sum of the lines.

Nothing here reads a clock: the caller says which state to invoice, and the
same state always gives the same invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, final

from examples.event_sourced_saas._periods import DAY_NS, BillingPeriod, iso
from examples.event_sourced_saas._plans import Plan, format_cents
from examples.event_sourced_saas._state import TenantState

__all__ = [
    "Invoice",
    "InvoiceLine",
    "billing_due",
    "compute_invoice",
    "invoice_number",
    "round_half_up",
]


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest int, halves up (both >= 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def invoice_number(tenant: str, period: int) -> str:
    """The number of a tenant's invoice for ``period``: ``ACME-0001`` for period 0."""
    return f"{tenant.upper()}-{period + 1:04d}"


@final
@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line of an invoice: a segment's fee, or its overage."""

    kind: Literal["subscription", "overage"]
    plan: str
    start_ns: int
    end_ns: int
    amount: int
    """Cents."""

    description: str
    calls: int = 0
    """Calls recorded in the segment (both kinds)."""

    included: int = 0
    """Calls the segment includes (both kinds)."""

    def to_data(self) -> dict[str, Any]:
        """The line as plain values, as the ``invoice.issued`` event carries it."""
        data: dict[str, Any] = {"kind": self.kind, "plan": self.plan}
        if self.kind == "subscription":
            data["from"] = iso(self.start_ns)
            data["to"] = iso(self.end_ns)
        else:
            data["calls"] = self.calls
            data["included"] = self.included
        data["amount"] = self.amount
        data["description"] = self.description
        return data


@final
@dataclass(frozen=True, slots=True)
class Invoice:
    """What a tenant owes for one billing period."""

    number: str
    tenant: str
    period: BillingPeriod
    lines: tuple[InvoiceLine, ...]
    calls: int
    """Every API call recorded in the period."""

    final: bool = False
    """True for the last invoice of a cancelled subscription."""

    @property
    def total(self) -> int:
        """Cents: the sum of the lines."""
        return sum(line.amount for line in self.lines)

    def to_data(self) -> dict[str, Any]:
        """The invoice as plain values, as the ``invoice.issued`` event carries it."""
        return {
            "number": self.number,
            "period": self.period.index,
            "from": iso(self.period.start_ns),
            "to": iso(self.period.end_ns),
            "lines": [line.to_data() for line in self.lines],
            "calls": self.calls,
            "total": self.total,
            "final": self.final,
        }

    def render(self) -> str:
        """The invoice as text, one line per invoice line."""
        rows = [
            f"invoice {self.number} for {self.tenant}, {_day(self.period.start_ns)} "
            f"to {_day(self.period.end_ns)}"
        ]
        rows.extend(
            f"  {line.description:<78} {format_cents(line.amount):>10}"
            for line in self.lines
        )
        rows.append(f"  {'total':<78} {format_cents(self.total):>10}")
        return "\n".join(rows)


def billing_due(state: TenantState, now_wall_ns: int) -> bool:
    """Whether the open period has ended, on the tenant's timeline, and is unbilled."""
    if not state.segments:
        return False
    return state.effective_ns(now_wall_ns) >= state.open_period.end_ns


def compute_invoice(state: TenantState) -> Invoice:
    """The invoice of ``state``'s open period, as the module documentation says.

    The period should have ended (`billing_due`); the invoice of a period
    still running would only cover the time so far.
    """
    period = state.open_period
    segments = [s for s in state.segments if s.start_ns < period.end_ns]
    lines: list[InvoiceLine] = []
    for index, segment in enumerate(segments):
        end = (
            segments[index + 1].start_ns if index + 1 < len(segments) else period.end_ns
        )
        lines.extend(
            _segment_lines(segment.plan, segment.start_ns, end, segment.calls, period)
        )
    return Invoice(
        number=invoice_number(state.tenant, period.index),
        tenant=state.tenant,
        period=period,
        lines=tuple(lines),
        calls=sum(segment.calls for segment in segments),
        final=state.cancel_at_ns == period.end_ns,
    )


def _segment_lines(
    plan: Plan, start: int, end: int, calls: int, period: BillingPeriod
) -> list[InvoiceLine]:
    length = end - start
    whole = length == period.length_ns
    included = plan.included_calls * length // period.length_ns
    fee = round_half_up(plan.monthly_fee * length, period.length_ns)
    description = f"{plan.name} plan, {_moment(start)} to {_moment(end)}"
    if not whole:
        description += (
            f" ({length / DAY_NS:.2f} of {period.length_ns / DAY_NS:.2f} days)"
        )
    lines = [
        InvoiceLine(
            "subscription", plan.id, start, end, fee, description, calls, included
        )
    ]
    over = calls - included
    if over > 0 and plan.overage_per_thousand is not None:
        amount = round_half_up(over * plan.overage_per_thousand, 1_000)
        lines.append(
            InvoiceLine(
                "overage",
                plan.id,
                start,
                end,
                amount,
                f"{plan.name}: {over:,} calls over the {included:,} included, at "
                f"{format_cents(plan.overage_per_thousand)} per 1,000",
                calls,
                included,
            )
        )
    return lines


def _moment(wall_ns: int) -> str:
    return datetime.fromtimestamp(wall_ns // 1_000_000_000, UTC).strftime(
        "%Y-%m-%d %H:%M"
    )


def _day(wall_ns: int) -> str:
    return datetime.fromtimestamp(wall_ns // 1_000_000_000, UTC).strftime("%Y-%m-%d")
