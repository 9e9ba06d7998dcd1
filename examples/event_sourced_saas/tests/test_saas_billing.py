"""Invoices from usage on the clock: fees, proration, overage, caps, cancellation.

These drive a `TenantAggregate` directly on ``controlled_clock``, the way the
worker does, so each invoice can be checked to the cent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from examples.event_sourced_saas import (
    Accepted,
    AddUser,
    CancelSubscription,
    ChangePlan,
    Command,
    CommandRejected,
    CreateTenant,
    EventStore,
    IssueInvoice,
    Reason,
    RecordPayment,
    RecordUsage,
    TenantAggregate,
    billing_due,
    compute_invoice,
    format_cents,
)
from phyxius.clock import ControlledClock

pytestmark = pytest.mark.phyxius(start="2028-01-31T09:00:00Z")


class Tenant:
    """A tenant's aggregate with numbered request ids, for short tests."""

    def __init__(self, events: EventStore, clock: ControlledClock) -> None:
        self.aggregate = TenantAggregate(events, "acme")
        self.clock = clock
        self.requests = 0

    def do(self, command: Command) -> Accepted:
        self.requests += 1
        return self.aggregate.execute(command, request_id=f"r{self.requests}")

    def until(
        self,
        year: int,
        month: int,
        day: int,
        hour: int = 0,
        minute: int = 0,
        s: int = 0,
    ) -> None:
        moment = datetime(year, month, day, hour, minute, s, tzinfo=UTC)
        self.clock.advance(moment - self.clock.now().datetime)

    def invoice(self) -> dict[str, object]:
        state = self.aggregate.state
        assert state is not None
        accepted = self.do(IssueInvoice(state.billed))
        invoice: dict[str, object] = accepted.entry.data["invoice"]
        return invoice


@pytest.fixture
def acme(events: EventStore, controlled_clock: ControlledClock) -> Tenant:
    return Tenant(events, controlled_clock)


def amounts(invoice: dict[str, object]) -> list[tuple[str, str, int]]:
    lines = invoice["lines"]
    assert isinstance(lines, list)
    return [(line["kind"], line["plan"], line["amount"]) for line in lines]


def test_a_full_period_costs_the_monthly_fee_whatever_the_months_length(
    acme: Tenant,
) -> None:
    acme.do(CreateTenant("Acme", "growth", "ada@acme.io"))

    acme.until(2028, 2, 29, 9)  # 29 days
    february = acme.invoice()
    acme.until(2028, 3, 31, 9)  # 31 days
    march = acme.invoice()

    assert amounts(february) == [("subscription", "growth", 19_900)]
    assert amounts(march) == [("subscription", "growth", 19_900)]
    assert (february["from"], february["to"], march["to"]) == (
        "2028-01-31T09:00:00Z",
        "2028-02-29T09:00:00Z",
        "2028-03-31T09:00:00Z",
    )


def test_an_upgrade_prorates_the_fee_and_the_included_calls(acme: Tenant) -> None:
    acme.do(CreateTenant("Acme", "starter", "ada@acme.io"))
    acme.do(RecordUsage(60_000, "a"))
    # Exactly a third of the 29-day period on Starter, the rest on Growth.
    acme.clock.advance(timedelta(days=29) / 3)
    acme.do(ChangePlan("growth"))
    acme.do(RecordUsage(700_000, "b"))
    acme.until(2028, 2, 29, 9)

    invoice = acme.invoice()

    assert amounts(invoice) == [
        ("subscription", "starter", 1_633),  # 4,900 / 3 = 1,633.33
        ("overage", "starter", 1_333),  # 60,000 - 33,333 = 26,667 calls at 50c/1,000
        ("subscription", "growth", 13_267),  # 19,900 * 2 / 3 = 13,266.67
        ("overage", "growth", 1_000),  # 700,000 - 666,666 = 33,334 at 30c/1,000
    ]
    assert invoice["calls"] == 760_000
    assert invoice["total"] == 1_633 + 1_333 + 13_267 + 1_000


def test_a_downgrade_is_prorated_too_and_prices_overage_by_the_segments_plan(
    acme: Tenant,
) -> None:
    acme.do(CreateTenant("Acme", "scale", "ada@acme.io"))
    acme.until(2028, 2, 14, 9)  # 14 of 29 days on Scale
    acme.do(ChangePlan("starter"))
    acme.do(RecordUsage(151_724, "after"))
    acme.until(2028, 2, 29, 9)

    invoice = acme.invoice()

    assert amounts(invoice) == [
        ("subscription", "scale", 48_228),  # 99,900 * 14 / 29 = 48,227.59
        ("subscription", "starter", 2_534),  # 4,900 * 15 / 29 = 2,534.48
        ("overage", "starter", 5_000),  # 151,724 - 51,724 = 100,000 at 50c/1,000
    ]


def test_overage_is_rounded_to_the_nearest_cent_halves_up(acme: Tenant) -> None:
    acme.do(CreateTenant("Acme", "starter", "ada@acme.io"))
    acme.do(RecordUsage(100_000 + 1_001, "just-over"))  # 1,001 * 0.05c = 50.05c
    acme.until(2028, 2, 29, 9)
    first = acme.invoice()
    acme.do(RecordUsage(100_000 + 1_010, "exactly-half"))  # 1,010 * 0.05c = 50.5c
    acme.until(2028, 3, 31, 9)
    second = acme.invoice()

    assert amounts(first)[1] == ("overage", "starter", 50)
    assert amounts(second)[1] == ("overage", "starter", 51)


def test_a_capped_plan_refuses_usage_beyond_its_allowance_and_bills_none(
    acme: Tenant,
) -> None:
    acme.do(CreateTenant("Acme", "free", "ada@acme.io"))
    acme.do(RecordUsage(9_999, "a"))
    before = acme.aggregate.position

    with pytest.raises(CommandRejected, match=r"^the Free plan of 'acme' includes "):
        acme.do(RecordUsage(2, "b"))
    acme.do(RecordUsage(1, "c"))

    assert acme.aggregate.position == before + 1
    acme.until(2028, 2, 29, 9)
    invoice = acme.invoice()
    assert amounts(invoice) == [("subscription", "free", 0)]
    assert invoice["calls"] == 10_000
    # A new period, a new allowance.
    fresh = acme.do(RecordUsage(10_000, "d")).state
    assert fresh.calls_in(fresh.open_period) == 10_000


def test_a_period_is_invoiced_once_and_only_after_it_ends(acme: Tenant) -> None:
    acme.do(CreateTenant("Acme", "starter", "ada@acme.io"))
    acme.until(2028, 2, 29, 8, 59, 59)
    state = acme.aggregate.state
    assert state is not None
    assert not billing_due(state, acme.clock.wall_ns())

    with pytest.raises(CommandRejected) as early:
        acme.do(IssueInvoice(0))
    acme.clock.advance(1)
    issued = acme.do(IssueInvoice(0))
    again = acme.do(IssueInvoice(0))
    with pytest.raises(CommandRejected) as next_one:
        acme.do(IssueInvoice(1))

    assert early.value.reason is next_one.value.reason is Reason.NOT_DUE
    assert str(early.value) == (
        "period 0 of 'acme' cannot be invoiced now: the open period is period 0 "
        "[2028-01-31T09:00:00Z, 2028-02-29T09:00:00Z) and the tenant's time is "
        "2028-02-29T08:59:59Z"
    )
    assert (issued.duplicate, again.duplicate) == (False, True)
    assert again.entry == issued.entry
    assert acme.aggregate.position == 2


def test_an_invoice_is_paid_once(acme: Tenant) -> None:
    acme.do(CreateTenant("Acme", "growth", "ada@acme.io"))
    acme.until(2028, 2, 29, 9)
    acme.invoice()

    paid = acme.do(RecordPayment("ACME-0001", "ch_1"))
    again = acme.do(RecordPayment("ACME-0001", "ch_2"))
    with pytest.raises(CommandRejected) as unknown:
        acme.do(RecordPayment("ACME-0002", "ch_3"))

    assert again.duplicate
    assert again.entry.data["charge"] == "ch_1"
    assert (again.state.paid, again.state.balance) == (19_900, 0)
    assert unknown.value.reason is Reason.NOT_UNPAID
    assert paid.state.unpaid == ()


def test_cancelling_ends_the_subscription_at_the_end_of_the_period(
    acme: Tenant,
) -> None:
    acme.do(CreateTenant("Acme", "starter", "ada@acme.io"))
    acme.until(2028, 2, 10)
    cancelled = acme.do(CancelSubscription()).state
    assert cancelled.status == "cancelling"
    assert cancelled.cancel_at_ns == cancelled.open_period.end_ns

    acme.do(AddUser("bob@acme.io"))  # still a customer until the end
    acme.do(RecordUsage(5, "late-february"))
    with pytest.raises(CommandRejected, match=r"^the subscription of 'acme' was "):
        acme.do(ChangePlan("growth"))
    acme.until(2028, 2, 29, 9)
    with pytest.raises(CommandRejected, match=r"^the subscription of 'acme' ended "):
        acme.do(RecordUsage(5, "march"))
    final = acme.invoice()

    state = acme.aggregate.state
    assert state is not None
    assert final["final"] is True
    assert amounts(final) == [("subscription", "starter", 4_900)]
    assert (state.status, state.segments) == ("cancelled", ())
    assert not billing_due(state, acme.clock.wall_ns() + 400 * 86_400 * 10**9)


def test_an_invoice_renders_as_text(acme: Tenant) -> None:
    acme.do(CreateTenant("Acme", "starter", "ada@acme.io"))
    acme.do(RecordUsage(250_000, "a"))
    acme.until(2028, 2, 29, 9)
    state = acme.aggregate.state
    assert state is not None

    text = compute_invoice(state).render()

    assert (
        text.splitlines()[0] == "invoice ACME-0001 for acme, 2028-01-31 to 2028-02-29"
    )
    assert text.splitlines()[-1].endswith(format_cents(4_900 + 7_500))
