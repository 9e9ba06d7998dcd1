"""A tenant's state, and the one function that changes it: `apply`.

Each tenant has a stream: a journal named ``tenant/<id>`` whose entries are
the tenant's events, in order. `TenantState` is a value; `apply` folds one
entry into it and `replay` folds a whole stream. Nothing else changes state,
so a state rebuilt from the journal is the state the live system had, by
construction, and the tests check it anyway.

Effective time
--------------
Every entry carries the journal clock's reading (``entry.at``). An event's
*effective time* is that wall reading, but never earlier than the effective
time of the tenant's previous event: ``max(entry.at.wall_ns, state.clock_ns)``.
So each tenant's timeline only moves forward, even when the machine's wall
clock is stepped back (an NTP correction): the events recorded while the
wall clock is behind all happen "at" the last instant the tenant saw, in log
order. A step forward moves the timeline forward for good. An invoice is
effective at the end of its period at the earliest (it is decided only once
the period has ended). So an event can never land in a billing period that
has already been invoiced: the invoice's effective time is at or after the
end of its period, and every later event's at or after the invoice's.

The unbilled timeline
---------------------
``state.segments`` is the tenant's unbilled time, cut into segments: a new
segment begins at every plan change and at every billing-period boundary the
timeline crosses, and each counts the API calls recorded in it. The first
segment starts at the beginning of the oldest period not yet invoiced. An
invoice removes the segments of its period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, TypeAlias, final

from examples.event_sourced_saas._periods import BillingCycle, BillingPeriod
from examples.event_sourced_saas._plans import Plan
from phyxius.journal import Entry

__all__ = [
    "EVENT_TYPES",
    "ReplayError",
    "Segment",
    "Status",
    "TenantState",
    "UnpaidInvoice",
    "apply",
    "replay",
]

Status: TypeAlias = Literal["active", "cancelling", "cancelled"]

EVENT_TYPES: Final = (
    "tenant.created",
    "user.added",
    "user.removed",
    "plan.changed",
    "usage.recorded",
    "subscription.cancelled",
    "invoice.issued",
    "invoice.paid",
)
"""Every event type a tenant stream holds, in the order a story usually meets them."""


class ReplayError(Exception):
    """A stream cannot be folded: a gap, an unknown event, or events out of place.

    It means the journal was written by something other than this code (or a
    newer version of it); the message names the entry.
    """


@final
@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of unbilled time on one plan, and the calls recorded in it.

    It runs from ``start_ns`` to the start of the next segment (or the end of
    its billing period, when it is the last of its period).
    """

    start_ns: int
    plan: Plan
    calls: int = 0


@final
@dataclass(frozen=True, slots=True)
class UnpaidInvoice:
    """An invoice that was issued and not yet paid."""

    number: str
    period: int
    total: int


@final
@dataclass(frozen=True, slots=True)
class TenantState:
    """Everything the commands of one tenant are validated against.

    Rebuilt from the tenant's stream by `replay`; see the module
    documentation for effective time and segments.
    """

    tenant: str
    name: str
    anchor_ns: int
    """The wall time the subscription started: the billing periods' anchor."""

    plan: Plan
    """The plan in effect now."""

    users: tuple[tuple[str, str], ...]
    """``(email, role)`` of every member, in the order they joined."""

    segments: tuple[Segment, ...]
    """The unbilled timeline (empty once the subscription ended)."""

    billed: int
    """How many billing periods have been invoiced: the open period's index."""

    clock_ns: int
    """The effective time of the last event: the tenant's own "now"."""

    unpaid: tuple[UnpaidInvoice, ...]
    invoiced: int
    """Cents invoiced, all time."""

    paid: int
    """Cents paid, all time."""

    cancel_at_ns: int | None
    """When a cancelled subscription ends (the end of a period), or None."""

    version: int
    """How many events were applied: the stream's next sequence."""

    @property
    def cycle(self) -> BillingCycle:
        """The subscription's billing periods."""
        return BillingCycle(self.anchor_ns)

    @property
    def open_period(self) -> BillingPeriod:
        """The oldest billing period that has not been invoiced."""
        return self.cycle.period(self.billed)

    @property
    def status(self) -> Status:
        """``active``, ``cancelling`` (until its last invoice) or ``cancelled``."""
        if self.cancel_at_ns is None:
            return "active"
        return (
            "cancelled"
            if self.cancel_at_ns <= self.open_period.start_ns
            else ("cancelling")
        )

    @property
    def balance(self) -> int:
        """Cents invoiced and not yet paid."""
        return self.invoiced - self.paid

    def role_of(self, email: str) -> str | None:
        """The member's role, or None when ``email`` is not a member."""
        return next((role for member, role in self.users if member == email), None)

    def calls_in(self, period: BillingPeriod) -> int:
        """API calls recorded in ``period`` (0 once it is invoiced)."""
        return sum(s.calls for s in self.segments if period.contains(s.start_ns))

    def effective_ns(self, wall_ns: int) -> int:
        """The effective time of an event stamped ``wall_ns`` now (see the module)."""
        return max(wall_ns, self.clock_ns)


def apply(state: TenantState | None, entry: Entry) -> TenantState:
    """The state after ``entry``: the only way a tenant's state changes.

    Raises:
        ReplayError: ``entry`` is not the next entry of this stream, or is an
            event this state cannot take.
    """
    expected = 0 if state is None else state.version
    if entry.sequence != expected:
        raise ReplayError(
            f"entry {entry.id!r} has sequence {entry.sequence}, but the stream's "
            f"next one is {expected}: entries must be folded in order, without gaps"
        )
    data: Mapping[str, Any] = entry.data
    kind = data.get("type") if isinstance(data, Mapping) else None
    if state is None:
        if kind != "tenant.created":
            raise ReplayError(
                f"entry {entry.id!r} ({kind!r}) opens the stream; a tenant's stream "
                "must start with tenant.created"
            )
        return _created(entry, data)
    if kind == "tenant.created":
        raise ReplayError(f"entry {entry.id!r}: tenant {state.tenant!r} exists already")

    at = state.effective_ns(entry.at.wall_ns)
    if kind == "invoice.issued":
        # Decided once the period had ended; if the wall clock stepped back
        # between the decision and the append, the stamp is earlier.
        at = max(at, state.open_period.end_ns)
    state = _roll(state, at)
    if kind in ("plan.changed", "usage.recorded") and not state.segments:
        raise ReplayError(
            f"entry {entry.id!r} ({kind}) comes after the subscription of "
            f"{state.tenant!r} ended"
        )
    if kind == "user.added":
        state = replace(state, users=(*state.users, (data["email"], data["role"])))
    elif kind == "user.removed":
        users = tuple(user for user in state.users if user[0] != data["email"])
        state = replace(state, users=users)
    elif kind == "plan.changed":
        state = _plan_changed(state, Plan.from_data(data["plan"]), at)
    elif kind == "usage.recorded":
        last = state.segments[-1]
        grown = replace(last, calls=last.calls + data["quantity"])
        state = replace(state, segments=(*state.segments[:-1], grown))
    elif kind == "subscription.cancelled":
        state = replace(state, cancel_at_ns=state.cycle.period_at(at).end_ns)
    elif kind == "invoice.issued":
        state = _invoiced(state, entry, data["invoice"])
    elif kind == "invoice.paid":
        unpaid = tuple(i for i in state.unpaid if i.number != data["invoice"])
        state = replace(state, unpaid=unpaid, paid=state.paid + data["amount"])
    else:
        raise ReplayError(
            f"entry {entry.id!r} has the unknown event type {kind!r}; known: "
            + ", ".join(EVENT_TYPES)
        )
    return replace(state, clock_ns=at, version=state.version + 1)


def replay(entries: Iterable[Entry]) -> TenantState | None:
    """Fold a stream (or a prefix of one) into a state; None for an empty stream."""
    state: TenantState | None = None
    for entry in entries:
        state = apply(state, entry)
    return state


# -- the steps of apply -------------------------------------------------------------


def _created(entry: Entry, data: Mapping[str, Any]) -> TenantState:
    anchor = entry.at.wall_ns
    plan = Plan.from_data(data["plan"])
    return TenantState(
        tenant=data["tenant"],
        name=data["name"],
        anchor_ns=anchor,
        plan=plan,
        users=((data["owner"], "owner"),),
        segments=(Segment(anchor, plan),),
        billed=0,
        clock_ns=anchor,
        unpaid=(),
        invoiced=0,
        paid=0,
        cancel_at_ns=None,
        version=1,
    )


def _roll(state: TenantState, at: int) -> TenantState:
    """Open a new segment at every period boundary between the last segment and ``at``.

    A cancelled subscription gets no segment at or past its end.
    """
    if not state.segments:
        return state
    cycle = state.cycle
    segments = list(state.segments)
    end = cycle.period_at(segments[-1].start_ns).end_ns
    while at >= end and (state.cancel_at_ns is None or end < state.cancel_at_ns):
        segments.append(Segment(end, segments[-1].plan))
        end = cycle.period_at(end).end_ns
    if len(segments) == len(state.segments):
        return state
    return replace(state, segments=tuple(segments))


def _plan_changed(state: TenantState, plan: Plan, at: int) -> TenantState:
    last = state.segments[-1]
    if last.start_ns == at:
        # A change at the very instant a segment began: the whole segment is
        # on the new plan, calls included (a segment of zero length would
        # bill its calls against an allowance of zero).
        segments = (*state.segments[:-1], replace(last, plan=plan))
    else:
        segments = (*state.segments, Segment(at, plan))
    return replace(state, plan=plan, segments=segments)


def _invoiced(
    state: TenantState, entry: Entry, invoice: Mapping[str, Any]
) -> TenantState:
    period = state.open_period
    if invoice["period"] != period.index:
        raise ReplayError(
            f"entry {entry.id!r} invoices period {invoice['period']}, but the open "
            f"period is {period.index}: periods are invoiced in order, once"
        )
    remaining = tuple(s for s in state.segments if s.start_ns >= period.end_ns)
    unpaid = UnpaidInvoice(invoice["number"], period.index, invoice["total"])
    return replace(
        state,
        segments=remaining,
        billed=state.billed + 1,
        unpaid=(*state.unpaid, unpaid),
        invoiced=state.invoiced + invoice["total"],
    )
