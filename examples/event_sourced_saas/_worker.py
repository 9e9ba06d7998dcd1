"""Tenant workers: one supervised process per tenant, the writer of its stream.

A `TenantWorker` is a process spec (`phyxius.process`, state form). Its state
is a `TenantAggregate`, rebuilt from the journal by ``init`` on every start
and restart, so a crash loses nothing that was acknowledged: the journal is
the state, the worker only caches it. Messages are taken one at a time, so
a tenant's commands never race each other inside the service; a writer
outside the service (another node, a script) is caught by
``expected_sequence`` (see `_store`).

Each command runs in an effect whose context holds ``tenant_id`` and
``request_id``: the log lines it writes carry them (`ContextLogFilter`) and
the journal keeps the request id in the entry's metadata. The journal work
itself runs in a thread (`phyxius.effect.to_thread`), since a durable SQLite
append waits for an fsync and must not stall every other tenant's worker on
the event loop; the context follows it there.

Billing
-------
The worker checks whether its tenant's open billing period has ended on a
timer (``tools.schedule``): at the period's end, and at least every
``check_every`` seconds, so a step of the wall clock is noticed within that
time. The check compares the period's end with the tenant's effective time
(see `_state`), i.e. with the wall clock, never moving backwards. When the
period has ended the worker:

1. appends ``invoice.issued`` (computed from the state, validated against it,
   appended with ``expected_sequence``): the period is closed, atomically;
2. charges the invoice through the `PaymentGateway`, with a timeout and
   retries, using ``payment:<invoice>`` as the idempotency key;
3. appends ``invoice.paid`` with the charge id.

A crash anywhere in between (the gateway down for longer than the retries,
the disk refusing a write) crashes the worker; its supervisor restarts it,
``init`` rebuilds the state from the journal and schedules a check at once,
and billing resumes from the last step that reached the journal: a period is
invoiced once because ``invoice.issued`` is in the log or it is not, and an
invoice is charged once because the gateway is idempotent by key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar, final

from examples.event_sourced_saas._billing import billing_due
from examples.event_sourced_saas._commands import (
    Command,
    CommandRejected,
    IssueInvoice,
    RecordPayment,
)
from examples.event_sourced_saas._gateway import GatewayError, PaymentGateway
from examples.event_sourced_saas._plans import PLANS, Plan
from examples.event_sourced_saas._state import TenantState, UnpaidInvoice
from examples.event_sourced_saas._store import (
    Accepted,
    EventStore,
    OnChange,
    TenantAggregate,
)
from phyxius import Duration, to_nanoseconds
from phyxius.effect import Env, RetryPolicy, effect, to_thread
from phyxius.process import ScheduledMessage, Tools

__all__ = [
    "DEFAULT_CHARGE_RETRY",
    "BillingOptions",
    "BillingTick",
    "Execute",
    "GetState",
    "Rejected",
    "TenantWorker",
    "WorkerState",
    "positive_ns",
    "worker_name",
]

logger = logging.getLogger("examples.event_sourced_saas")

_T = TypeVar("_T")

DEFAULT_CHARGE_RETRY: Final = RetryPolicy(
    max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.5, retry_on=GatewayError
)
"""Charges: four attempts over about seven seconds, with jitter, on `GatewayError`."""


def worker_name(tenant: str) -> str:
    """The process name of ``tenant``'s worker."""
    return f"tenant:{tenant}"


@final
@dataclass(frozen=True, slots=True)
class Execute:
    """Run ``command`` for the request ``request_id``; the answer is an `Outcome`."""

    command: Command
    request_id: str


@final
@dataclass(frozen=True, slots=True)
class GetState:
    """Answer with the tenant's current `TenantState` (None: no such tenant)."""


@final
@dataclass(frozen=True, slots=True)
class BillingTick:
    """Check whether a billing period ended; the worker sends it to itself."""


@final
@dataclass(frozen=True, slots=True)
class Rejected:
    """The answer to an `Execute` whose command the state did not allow."""

    error: CommandRejected


@final
@dataclass(frozen=True, slots=True)
class BillingOptions:
    """How the workers bill: see the module documentation."""

    check_every: Duration = 3600.0
    """Seconds (monotonic) between checks for an ended period, at most."""

    charge_timeout: Duration = 10.0
    """Seconds one charge attempt may take."""

    charge_retry: RetryPolicy = DEFAULT_CHARGE_RETRY
    """Retries of a charge before the worker gives up and crashes."""

    def __post_init__(self) -> None:
        positive_ns(self.check_every, name="check_every")
        positive_ns(self.charge_timeout, name="charge_timeout")


def positive_ns(value: Duration, *, name: str) -> int:
    """``value`` in nanoseconds, if it is a duration longer than zero.

    Raises:
        phyxius.InvalidDurationError: ``value`` is not a duration, or negative.
        ValueError: ``value`` is zero, which would make a busy loop or a
            request that always times out.
    """
    nanoseconds = to_nanoseconds(value, name=name)
    if nanoseconds == 0:
        raise ValueError(
            f"{name}={value!r} is zero; pass a duration longer than zero, in "
            "seconds or as a timedelta"
        )
    return nanoseconds


@final
class WorkerState:
    """What a tenant worker holds between messages (one per incarnation)."""

    __slots__ = ("aggregate", "check")

    def __init__(self, aggregate: TenantAggregate, check: ScheduledMessage | None):
        self.aggregate = aggregate
        """The tenant's write side, rebuilt from its stream at every start."""
        self.check: ScheduledMessage | None = check
        """The billing check scheduled next, or None when none is."""


@final
class TenantWorker:
    """The process spec of tenant workers; ``ctx`` is the tenant id.

    One spec serves every tenant: it holds what they share (the event store,
    the catalogue, the gateway, the billing options) and nothing per tenant.
    ``on_change`` is handed to each tenant's `TenantAggregate`: it hears
    every state a worker moves its tenant to.
    """

    restart: Final = "permanent"

    def __init__(
        self,
        events: EventStore,
        gateway: PaymentGateway,
        *,
        catalogue: Mapping[str, Plan] = PLANS,
        billing: BillingOptions | None = None,
        on_change: OnChange | None = None,
    ) -> None:
        self._events = events
        self._gateway = gateway
        self._catalogue = catalogue
        self._on_change = on_change
        self._billing = BillingOptions() if billing is None else billing
        self._check_every_ns = to_nanoseconds(self._billing.check_every)

    # -- the process -----------------------------------------------------------------

    async def init(self, tenant: str, tools: Tools) -> WorkerState:
        """Rebuild the tenant from its stream, and check for billing at once."""
        aggregate = TenantAggregate(
            self._events, tenant, catalogue=self._catalogue, on_change=self._on_change
        )
        await self._offload(tenant, "init", aggregate.catch_up)
        return WorkerState(aggregate, tools.schedule(0, BillingTick()))

    async def handle(
        self, worker: WorkerState, message: object, tools: Tools
    ) -> WorkerState:
        """Take one message: a command, a billing check or a question."""
        aggregate = worker.aggregate
        if isinstance(message, Execute):
            tools.reply(await self._execute(aggregate, message))
            if worker.check is None:
                # A tenant created (or revived by another writer) since the
                # last check found nothing to bill: start checking again.
                worker.check = self._schedule_check(aggregate.state, tools)
        elif isinstance(message, BillingTick):
            worker.check = None
            await self._bill(aggregate)
            worker.check = self._schedule_check(aggregate.state, tools)
        elif isinstance(message, GetState):
            tools.reply(
                await self._offload(aggregate.tenant, "state", aggregate.catch_up)
            )
        else:
            logger.warning(
                "worker of %r dropped a message it does not know: %r",
                aggregate.tenant,
                message,
            )
        return worker

    # -- commands -------------------------------------------------------------------

    async def _execute(
        self, aggregate: TenantAggregate, message: Execute
    ) -> Accepted | Rejected:
        def run() -> Accepted | Rejected:
            try:
                accepted = aggregate.execute(
                    message.command, request_id=message.request_id
                )
            except CommandRejected as rejected:
                logger.info(
                    "%s rejected (%s): %s",
                    type(message.command).__name__,
                    rejected.reason.value,
                    rejected,
                )
                return Rejected(rejected)
            entry = accepted.entry
            logger.info(
                "%s -> %s #%d%s",
                type(message.command).__name__,
                entry.data["type"],
                entry.sequence,
                " (a retry: applied before)" if accepted.duplicate else "",
            )
            return accepted

        return await self._offload(aggregate.tenant, message.request_id, run)

    async def _offload(self, tenant: str, request_id: str, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` in a thread, in an effect with the tenant and request ids."""
        return await to_thread(fn).run_or_raise(
            clock=self._events.clock,
            context={"tenant_id": tenant, "request_id": request_id},
        )

    # -- billing ----------------------------------------------------------------------

    async def _bill(self, aggregate: TenantAggregate) -> None:
        tenant = aggregate.tenant
        clock = self._events.clock
        state = aggregate.state
        while state is not None and billing_due(state, clock.now().wall_ns):
            request_id = f"billing:{state.billed}"
            outcome = await self._execute(
                aggregate, Execute(IssueInvoice(state.billed), request_id)
            )
            state = aggregate.state
            if isinstance(outcome, Rejected):
                break  # another writer invoiced it, or the state moved: next check

        for unpaid in () if state is None else state.unpaid:
            request_id = f"payment:{unpaid.number}"
            charge = await self._charge(tenant, unpaid, request_id)
            paid = RecordPayment(unpaid.number, charge)
            await self._execute(aggregate, Execute(paid, request_id))

    async def _charge(
        self, tenant: str, unpaid: UnpaidInvoice, request_id: str
    ) -> str | None:
        """Charge an unpaid invoice; None when nothing is due. Raises when it cannot."""
        if unpaid.total == 0:
            return None
        billing = self._billing
        attempt = effect(
            lambda env: self._gateway.charge(tenant, unpaid.number, unpaid.total)
        ).timeout(billing.charge_timeout)

        async def charge(env: Env) -> str:
            charge_id = await attempt.retry(billing.charge_retry)
            logger.info("charged %s: %s", unpaid.number, charge_id)
            return charge_id

        return await effect(charge).run_or_raise(
            clock=self._events.clock,
            context={"tenant_id": tenant, "request_id": request_id},
        )

    def _schedule_check(
        self, state: TenantState | None, tools: Tools
    ) -> ScheduledMessage | None:
        if state is None or not state.segments:
            return None  # nothing to bill: no tenant yet, or its subscription ended
        now = self._events.clock.now().wall_ns
        left = state.open_period.end_ns - state.effective_ns(now)
        delay = self._check_every_ns if left <= 0 else min(left, self._check_every_ns)
        return tools.schedule(delay / 1_000_000_000, BillingTick())
