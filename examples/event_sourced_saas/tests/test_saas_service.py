"""The service end to end: workers, billing, replay, read model, context, restarts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from examples.event_sourced_saas import (
    Accepted,
    BillingCycle,
    BillingOptions,
    CommandRejected,
    CreateTenant,
    Directory,
    EventStore,
    Execute,
    InvalidCommandError,
    Reason,
    SaasService,
    SandboxGateway,
    TenantView,
    TenantWorker,
    replay,
    worker_name,
)
from examples.event_sourced_saas.tests._helpers import BILLING, invoices, of_type
from phyxius import InvalidDurationError
from phyxius.clock import ControlledClock
from phyxius.effect import ContextLogFilter
from phyxius.journal import SqliteStore
from pytest_phyxius import SupervisorFixture
from pytest_phyxius.snapshot import JournalSnapshotFixture

pytestmark = pytest.mark.phyxius(start="2028-01-31T09:00:00Z")

ANCHOR = datetime(2028, 1, 31, 9, tzinfo=UTC)
CYCLE = BillingCycle(int(ANCHOR.timestamp()) * 1_000_000_000)
DAY = 86_400.0


async def sleep_until(clock: ControlledClock, moment: datetime) -> None:
    """Sleep until the wall clock reads ``moment`` (if nobody steps it meanwhile)."""
    await asyncio.sleep((moment - clock.now().datetime).total_seconds())


async def a_busy_quarter(service: SaasService, clock: ControlledClock) -> None:
    """Three tenants over ten weeks: sign-ups, members, plan changes, usage, quotas."""
    await service.create_tenant("acme", name="Acme", plan="growth", owner="ada@acme.io")
    for name in ("bob", "cy", "dee", "eve", "fay"):
        await service.add_user("acme", f"{name}@acme.io")
    await service.record_usage("acme", 350_000, key="acme-1")

    await asyncio.sleep(10 * DAY)
    await service.create_tenant(
        "globex", name="Globex", plan="free", owner="hank@globex.com"
    )
    await service.record_usage("globex", 9_000, key="globex-1")
    with pytest.raises(CommandRejected) as over_quota:
        await service.record_usage("globex", 2_000, key="globex-2")
    assert over_quota.value.reason is Reason.QUOTA_EXCEEDED

    await asyncio.sleep(5 * DAY)
    with pytest.raises(CommandRejected) as too_many:
        await service.change_plan("acme", "starter")
    assert too_many.value.reason is Reason.SEAT_LIMIT
    await service.remove_user("acme", "fay@acme.io")
    await service.change_plan("acme", "starter")
    await service.change_plan("globex", "starter")
    await service.record_usage("globex", 2_000, key="globex-2")
    await service.create_tenant(
        "initech", name="Initech", plan="scale", owner="bill@initech.com"
    )

    for day in range(55):
        await asyncio.sleep(DAY)
        await service.record_usage("acme", 1_500 + 37 * day, key=f"acme-d{day}")
        await service.record_usage("initech", 250_000, key=f"initech-d{day}")
        if day == 20:
            await service.cancel("globex")


async def test_replay_equals_the_live_state(
    service: SaasService,
    events: EventStore,
    sqlite_store: SqliteStore,
    controlled_clock: ControlledClock,
) -> None:
    await a_busy_quarter(service, controlled_clock)

    # Another process opening the same file rebuilds what the workers hold.
    elsewhere = EventStore(
        SqliteStore(sqlite_store.path, synchronous="normal"), clock=controlled_clock
    )
    try:
        for tenant in ("acme", "globex", "initech"):
            live = await service.state(tenant)
            assert live is not None
            assert events.replay(tenant) == live
            assert elsewhere.replay(tenant) == live
            assert service.live(tenant).get() == live
        assert Directory.rebuild(elsewhere) == service.projection.directory
    finally:
        elsewhere.close()
        elsewhere.store.close()

    acme = await service.state("acme")
    globex = await service.state("globex")
    assert acme is not None
    assert globex is not None
    assert (acme.plan.id, acme.billed, len(acme.users)) == ("starter", 2, 5)
    assert acme.balance == 0
    # Globex signed up on 10 February and cancelled on 7 March: its last
    # period ended on 10 March.
    assert (globex.status, globex.billed, globex.segments) == ("cancelled", 1, ())
    directory = service.projection.directory
    assert sorted(directory.views) == ["acme", "globex", "initech"]
    # The read model's atom (the plugin's, keeping its whole history) went
    # through one version per entry, each a cut of the log.
    history = service.projection.atom.get_history()
    assert len(history) == 1 + sum(len(events.stream(t)) for t in directory.views)
    for version in history:
        assert Directory.rebuild(events, version.value.positions) == version.value
    assert directory.views["globex"].status == "cancelled"
    # So did each tenant's live atom: one state per entry, each the replay of
    # the stream up to it.
    for tenant in directory.views:
        stream = events.stream(tenant).get_all()
        lived = [snapshot.value for snapshot in service.live(tenant).get_history()]
        assert lived[0] is None
        assert [replay(stream[:n]) for n in range(1, len(stream) + 1)] == lived[1:]


async def test_an_invoice_is_pinned_by_a_journal_snapshot(
    service: SaasService,
    events: EventStore,
    controlled_clock: ControlledClock,
    journal_snapshot: JournalSnapshotFixture,
) -> None:
    # Signed up on the last day of January 2028: the first period runs to
    # the leap day, 29 February, and the upgrade halfway is prorated.
    await service.create_tenant(
        "acme", name="Acme", plan="starter", owner="ada@acme.io"
    )
    await service.add_user("acme", "bob@acme.io", role="admin")
    await service.record_usage("acme", 64_000, key="import-1")
    await sleep_until(controlled_clock, datetime(2028, 2, 14, 12, tzinfo=UTC))
    await service.record_usage("acme", 58_500, key="import-2")
    await service.change_plan("acme", "growth")
    await service.record_usage("acme", 610_250, key="import-3")
    await sleep_until(controlled_clock, datetime(2028, 3, 1, tzinfo=UTC))

    stream = events.stream("acme")
    assert stream == journal_snapshot
    (invoice,) = invoices(stream)
    assert (invoice["from"], invoice["to"]) == (
        "2028-01-31T09:00:00Z",
        "2028-02-29T09:00:00Z",
    )
    assert invoice["total"] == sum(line["amount"] for line in invoice["lines"])


async def test_every_request_carries_its_tenant_and_request_id(
    service: SaasService,
    events: EventStore,
    gateway: SandboxGateway,
    controlled_clock: ControlledClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.handler.addFilter(ContextLogFilter("tenant_id", "request_id"))
    caplog.set_level(logging.INFO, logger="examples.event_sourced_saas")

    await service.create_tenant(
        "acme", name="Acme", plan="starter", owner="ada@acme.io", request_id="sign-up"
    )
    with pytest.raises(CommandRejected):
        await service.remove_user("acme", "ada@acme.io", request_id="oops")
    await service.record_usage("acme", 10, key="k-1", request_id="batch-9")
    await sleep_until(controlled_clock, datetime(2028, 3, 1, tzinfo=UTC))

    stamped = {
        (record.getMessage().split(" ")[0], record.tenant_id, record.request_id)  # type: ignore[attr-defined]
        for record in caplog.records
    }
    assert {
        ("CreateTenant", "acme", "sign-up"),
        ("RemoveUser", "acme", "oops"),
        ("RecordUsage", "acme", "batch-9"),
        ("IssueInvoice", "acme", "billing:0"),
        ("charged", "acme", "payment:ACME-0001"),
    } <= stamped
    assert [entry.metadata["request_id"] for entry in events.stream("acme")] == [
        "sign-up",
        "batch-9",
        "billing:0",
        "payment:ACME-0001",
    ]
    # The gateway took its idempotency key from the context.
    assert [charge.idempotency_key for charge in gateway.charges] == [
        "payment:ACME-0001"
    ]


async def test_a_retried_request_is_applied_once(
    service: SaasService, events: EventStore
) -> None:
    await service.create_tenant(
        "acme", name="Acme", plan="starter", owner="ada@acme.io"
    )
    first = await service.add_user("acme", "bob@acme.io", request_id="invite-bob")
    again = await service.add_user("acme", "bob@acme.io", request_id="invite-bob")

    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.entry == first.entry
    assert len(of_type(events.stream("acme"), "user.added")) == 1


async def test_a_tenant_nobody_created_gets_no_worker(
    service: SaasService, supervisor: SupervisorFixture
) -> None:
    with pytest.raises(CommandRejected, match=r"^tenant 'nobody' does not exist$"):
        await service.record_usage("nobody", 5, key="k")
    with pytest.raises(InvalidCommandError, match=r"^tenant='Bad Id' \(type=str\) is"):
        await service.record_usage("Bad Id", 5, key="k")
    with pytest.raises(InvalidCommandError, match=r"^tenant='Bad Id' \(type=str\) is"):
        service.live("Bad Id")

    assert await service.state("nobody") is None
    assert service.workers() == {}
    assert supervisor.children == []


async def test_workers_started_after_downtime_bill_the_periods_that_ended_meanwhile(
    service: SaasService,
    events: EventStore,
    supervisor: SupervisorFixture,
    gateway: SandboxGateway,
    projection: object,
    controlled_clock: ControlledClock,
) -> None:
    await service.create_tenant("acme", name="Acme", plan="growth", owner="ada@acme.io")
    await service.record_usage("acme", 1_200_000, key="k-1")
    for worker in service.workers().values():
        await worker.stop("maintenance")
    service.close()

    # Two billing periods end while nothing runs.
    await asyncio.sleep(70 * DAY)
    assert invoices(events.stream("acme")) == []

    restarted = SaasService(
        events,
        supervisor,
        gateway=gateway,
        billing=BILLING,
    )
    await restarted.start()
    await asyncio.sleep(1)

    issued = invoices(events.stream("acme"))
    assert [(i["number"], i["calls"], i["total"]) for i in issued] == [
        ("ACME-0001", 1_200_000, 19_900 + 6_000),
        ("ACME-0002", 0, 19_900),
    ]
    assert [c.amount for c in gateway.charges] == [25_900, 19_900]
    view = restarted.projection.view("acme")
    assert isinstance(view, TenantView)
    assert (view.invoices, view.balance) == (2, 0)
    restarted.close()


async def test_a_worker_started_before_its_tenant_exists_bills_it_once_created(
    events: EventStore,
    supervisor: SupervisorFixture,
    gateway: SandboxGateway,
    controlled_clock: ControlledClock,
) -> None:
    worker = await supervisor.spawn(
        TenantWorker(events, gateway), name=worker_name("acme"), ctx="acme"
    )
    await asyncio.sleep(60)  # its first check found no tenant, and stopped

    created = await worker.ask(
        Execute(CreateTenant("Acme", "starter", "ada@acme.io"), "sign-up")
    )
    assert isinstance(created, Accepted)
    await sleep_until(controlled_clock, datetime(2028, 2, 29, 9, 2, tzinfo=UTC))

    (invoice,) = invoices(events.stream("acme"))
    assert (invoice["from"], invoice["to"]) == (
        "2028-01-31T09:01:00Z",
        "2028-02-29T09:01:00Z",
    )
    assert [charge.invoice for charge in gateway.charges] == ["ACME-0001"]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            lambda: BillingOptions(check_every=0),
            ValueError,
            r"^check_every=0 is zero; pass a duration longer than zero, in seconds ",
        ),
        (
            lambda: BillingOptions(charge_timeout=-1),
            InvalidDurationError,
            r"^charge_timeout=-1 is negative; durations must be zero or more ",
        ),
    ],
    ids=["zero-check-every", "negative-charge-timeout"],
)
def test_bad_billing_options_are_refused_by_name(
    options: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        options()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("ask_timeout", 0, r"^ask_timeout=0 is zero; pass a duration longer than "),
        (
            "request_timeout",
            "soon",
            r"^request_timeout='soon' \(type=str\) is not a duration; pass seconds ",
        ),
    ],
)
async def test_bad_timeouts_are_refused_before_anything_starts(
    events: EventStore,
    supervisor: SupervisorFixture,
    gateway: SandboxGateway,
    option: str,
    value: object,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        SaasService(events, supervisor, gateway=gateway, **{option: value})  # type: ignore[arg-type]

    assert supervisor.children == []
    assert events.tenants() == []
