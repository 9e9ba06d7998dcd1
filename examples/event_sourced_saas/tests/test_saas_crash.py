"""A tenant worker that crashes in the middle of billing loses and repeats nothing.

Clients keep recording usage (some of them twice, as a client that lost an
answer does) while the worker invoices a period and charges it. The gateway
fails for longer than the worker's retries, or the disk refuses the invoice,
so the worker crashes; the supervisor restarts it, it rebuilds its state from
the journal and finishes the billing. Every usage key ends up in exactly one
``usage.recorded`` entry, every entry in exactly one invoice, and every
invoice is charged exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from examples.event_sourced_saas import (
    BillingCycle,
    EventStore,
    SaasService,
    SandboxGateway,
)
from examples.event_sourced_saas.tests._helpers import (
    BILLING,
    invoices,
    of_type,
    usage_between_invoices,
)
from phyxius.clock import ControlledClock
from phyxius.journal import (
    Appended,
    Codec,
    Draft,
    ForwardingStore,
    Retention,
    SqliteStore,
    StoreError,
)
from pytest_phyxius import SupervisorFixture

if TYPE_CHECKING:
    from pytest_phyxius import JournalFactory

pytestmark = pytest.mark.phyxius(start="2028-01-31T09:00:00Z")

ANCHOR = datetime(2028, 1, 31, 9, tzinfo=UTC)
CYCLE = BillingCycle(int(ANCHOR.timestamp()) * 1_000_000_000)
HOUR = 3600.0


async def run_clients(
    service: SaasService, clock: ControlledClock, until_ns: int
) -> dict[str, int]:
    """Two steady clients and a burst right at the end of the first period.

    Returns every usage key sent, with its quantity. Every fifth request is
    sent a second time, as a client that timed out waiting would.
    """
    sent: dict[str, int] = {}

    async def send(key: str, quantity: int) -> None:
        first = await service.record_usage("acme", quantity, key=key)
        assert not first.duplicate
        if len(sent) % 5 == 0:
            again = await service.record_usage("acme", quantity, key=key)
            assert again.duplicate
            assert again.entry == first.entry
        sent[key] = quantity

    async def steady(name: str, every: float, quantity: int) -> None:
        count = 0
        while clock.now().wall_ns < until_ns:
            count += 1
            await send(f"{name}-{count}", quantity + count)
            await asyncio.sleep(every)

    async def burst_at_the_period_end() -> None:
        # Lands while the worker is busy billing, crashes and restarts.
        await clock.sleep((CYCLE.period(0).end_ns - clock.now().wall_ns) / 1e9)
        for count in range(1, 13):
            await send(f"burst-{count}", 1_000 * count)
            await asyncio.sleep(0.5)

    async with asyncio.TaskGroup() as clients:
        clients.create_task(steady("web", 23 * HOUR, 40_000))
        clients.create_task(steady("mobile", 37 * HOUR, 19_000))
        clients.create_task(burst_at_the_period_end())
    return sent


def assert_billed_exactly_once(events: EventStore, sent: dict[str, int]) -> None:
    stream = events.stream("acme").get_all()
    recorded = of_type(stream, "usage.recorded")
    keys = [entry.data["key"] for entry in recorded]
    assert sorted(keys) == sorted(sent), "a usage key was lost or recorded twice"
    assert {entry.data["key"]: entry.data["quantity"] for entry in recorded} == sent

    issued = invoices(stream)
    per_invoice = usage_between_invoices(stream)
    assert [invoice["period"] for invoice in issued] == [0, 1]
    assert [invoice["calls"] for invoice in issued] == per_invoice[:2]
    assert per_invoice[2] == 0
    assert sum(invoice["calls"] for invoice in issued) == sum(sent.values())


def assert_paid_exactly_once(
    events: EventStore, gateway: SandboxGateway, service: SaasService
) -> None:
    issued = invoices(events.stream("acme").get_all())
    assert [(c.invoice, c.amount) for c in gateway.charges] == [
        (invoice["number"], invoice["total"]) for invoice in issued
    ]
    view = service.projection.view("acme")
    assert view is not None
    assert (view.invoices, view.balance, view.unbilled_calls) == (2, 0, 0)


@pytest.mark.parametrize(
    "after_charging",
    [False, True],
    ids=["gateway-down-before-charging", "answer-lost-after-charging"],
)
async def test_a_worker_crash_mid_billing_neither_loses_nor_double_counts_usage(
    service: SaasService,
    events: EventStore,
    gateway: SandboxGateway,
    supervisor: SupervisorFixture,
    controlled_clock: ControlledClock,
    after_charging: bool,
) -> None:
    await service.create_tenant("acme", name="Acme", plan="growth", owner="ada@acme.io")
    # The worker makes three attempts per charge (see conftest): the fourth
    # call is the first after its restart.
    gateway.fail_next(3, after_charging=after_charging)

    sent = await run_clients(service, controlled_clock, CYCLE.period(1).end_ns)
    await asyncio.sleep(HOUR)

    supervisor.assert_restarted("tenant:acme", times=1)
    (crash,) = supervisor.crashes
    assert crash.data["error_type"] == "GatewayError"
    # At the period's end, plus three attempts of 50 ms with 1 s and 2 s between.
    assert crash.at.wall_ns - CYCLE.period(0).end_ns == 3_150_000_000
    assert gateway.calls == 5  # 3 failed, then 1 per invoice
    assert_billed_exactly_once(events, sent)
    assert_paid_exactly_once(events, gateway, service)
    assert await service.state("acme") == events.replay("acme")


class RefusesTheFirstInvoice(ForwardingStore):
    """A `SqliteStore` whose disk refuses the first ``invoice.issued`` append."""

    def __init__(self, inner: SqliteStore) -> None:
        super().__init__(inner)
        self.refused = 0

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        if not self.refused and drafts[0].data["type"] == "invoice.issued":
            self.refused += 1
            raise StoreError(f"{journal}: disk I/O error (simulated)")
        return super().append(
            journal,
            drafts,
            codec=codec,
            expected_sequence=expected_sequence,
            retention=retention,
        )


async def test_a_worker_crash_before_the_invoice_is_written_bills_the_period_once(
    journal_factory: JournalFactory,
    sqlite_store: SqliteStore,
    controlled_clock: ControlledClock,
    supervisor: SupervisorFixture,
    gateway: SandboxGateway,
    request_ids: Callable[[], str],
) -> None:
    disk = RefusesTheFirstInvoice(sqlite_store)
    events = EventStore(
        disk,
        clock=controlled_clock,
        open_journal=lambda name: journal_factory(name, store=disk),
    )
    service = SaasService(
        events,
        supervisor,
        gateway=gateway,
        billing=BILLING,
        request_ids=request_ids,
    )
    await service.create_tenant("acme", name="Acme", plan="growth", owner="ada@acme.io")

    sent = await run_clients(service, controlled_clock, CYCLE.period(1).end_ns)
    await asyncio.sleep(HOUR)

    assert disk.refused == 1
    supervisor.assert_restarted("tenant:acme", times=1)
    (crash,) = supervisor.crashes
    assert crash.data["error_type"] == "StoreError"
    assert crash.at.wall_ns == CYCLE.period(0).end_ns
    assert_billed_exactly_once(events, sent)
    assert_paid_exactly_once(events, gateway, service)
    service.close()
