"""`SaasService`: the front door. Commands in, a worker per tenant, a read model out.

Every public call is one request: it gets a request id (given, or made up),
and runs as an effect whose context holds ``tenant_id`` and ``request_id``,
with a deadline (``request_timeout``) and retries. A retry is safe because
every command is idempotent by its entry id (see `_commands.entry_id`): a
request that reached the journal before its worker crashed is found there
and not applied again. Only failures of delivery are retried (the worker
crashed or did not answer in time); a rejection is an answer.

The request id crosses from the caller's task to the worker's inside the
`Execute` message, and the worker sets the context again around the
command: context variables follow awaits and tasks started from inside, not
messages sent to a process that was started elsewhere.

Each tenant's live state is also kept in an atom (`SaasService.live`), set by
its worker after every event it writes: read it without a round trip to the
worker, watch it, or ``await`` a condition on it (``live(t).wait_for(...)``).
Its history is the sequence of states the live system went through, which
is what the tests replay the journal against.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Protocol, TypeVar, final

from examples.event_sourced_saas._commands import (
    AddUser,
    CancelSubscription,
    ChangePlan,
    Command,
    CommandRejected,
    CreateTenant,
    Reason,
    RecordUsage,
    RemoveUser,
    Role,
    check_tenant_id,
)
from examples.event_sourced_saas._gateway import PaymentGateway
from examples.event_sourced_saas._plans import PLANS, Plan
from examples.event_sourced_saas._projection import Projection
from examples.event_sourced_saas._state import TenantState
from examples.event_sourced_saas._store import Accepted, EventStore
from examples.event_sourced_saas._worker import (
    BillingOptions,
    Execute,
    GetState,
    Rejected,
    TenantWorker,
    positive_ns,
    worker_name,
)
from phyxius import Duration
from phyxius.atom import Atom, create_atom
from phyxius.effect import Env, RetryPolicy, effect
from phyxius.process import (
    AskTimeoutError,
    ProcessCrashedError,
    ProcessRef,
    ProcessStatus,
    RestartType,
)

__all__ = ["DEFAULT_REQUEST_RETRY", "LiveAtom", "SaasService", "Spawner"]

logger = logging.getLogger("examples.event_sourced_saas")

_T = TypeVar("_T")

DEFAULT_REQUEST_RETRY: Final = RetryPolicy(
    max_attempts=5,
    base_delay=0.05,
    max_delay=1.0,
    retry_on=(ProcessCrashedError, AskTimeoutError),
)
"""Requests: five attempts, on a worker that crashed or did not answer in time."""

_GONE: Final = frozenset({ProcessStatus.STOPPED, ProcessStatus.CRASHED})

LiveAtom = Callable[[str], Atom[TenantState | None]]
"""Makes the atom that holds a tenant's live state, given the tenant id."""


class Spawner(Protocol):
    """Where workers are started: a `phyxius.process.Supervisor` (or the fixture)."""

    async def spawn(
        self,
        spec: object,
        *,
        name: str | None = None,
        ctx: object = None,
        restart: RestartType | None = None,
        shutdown: Duration | None = None,
    ) -> ProcessRef:
        """Start a supervised process."""
        ...


@final
class SaasService:
    """Tenants, members, subscriptions and usage, billed monthly; see the README.

    ``events`` holds the streams, ``supervisor`` supervises one
    `TenantWorker` per tenant (its restart intensity and back-off are the
    owner's choice), ``gateway`` takes payments. Each request may wait
    ``ask_timeout`` for its worker's answer, and ``request_timeout`` for all
    its attempts (``request_retry``) together. ``request_ids`` makes the id
    of a request made without one (default: random). ``live_atom`` makes the
    atom of each tenant's live state (default: `create_atom` holding None,
    on the event store's clock, keeping the last value only).
    """

    def __init__(
        self,
        events: EventStore,
        supervisor: Spawner,
        *,
        gateway: PaymentGateway,
        catalogue: Mapping[str, Plan] = PLANS,
        projection: Projection | None = None,
        billing: BillingOptions | None = None,
        ask_timeout: Duration = 5.0,
        request_timeout: Duration = 30.0,
        request_retry: RetryPolicy = DEFAULT_REQUEST_RETRY,
        request_ids: Callable[[], str] | None = None,
        live_atom: LiveAtom | None = None,
    ) -> None:
        positive_ns(ask_timeout, name="ask_timeout")
        positive_ns(request_timeout, name="request_timeout")
        self.events = events
        """The event store."""
        self.projection = Projection(events) if projection is None else projection
        """The read model of every tenant."""
        self._supervisor = supervisor
        self._spec = TenantWorker(
            events,
            gateway,
            catalogue=catalogue,
            billing=billing,
            on_change=self._publish,
        )
        self._ask_timeout = ask_timeout
        self._request_timeout = request_timeout
        self._request_retry = request_retry
        self._request_ids = request_ids or _random_request_id
        self._live_atom = live_atom or self._default_live_atom
        # Invariant: a tenant's atom exists before its first worker is
        # spawned, so workers (in their threads) only ever read this dict.
        self._live: dict[str, Atom[TenantState | None]] = {}
        self._workers: dict[str, ProcessRef] = {}
        self._spawning = asyncio.Lock()

    async def start(self) -> None:
        """Start a worker for every tenant in the store, and follow their streams."""
        for tenant in self.events.tenants():
            await self._worker(tenant)

    def close(self) -> None:
        """Stop following the streams (the supervisor's owner stops the workers)."""
        self.projection.close()

    def workers(self) -> dict[str, ProcessRef]:
        """The worker of each tenant started here."""
        return dict(self._workers)

    def live(self, tenant: str) -> Atom[TenantState | None]:
        """The atom holding ``tenant``'s state as its worker has it now.

        Its worker sets it after every event it writes and whenever it
        rebuilds the tenant from the journal (an equal state changes
        nothing, so a restart adds no version). It holds None until a
        worker has read the tenant. Call it from the event loop's thread.
        """
        check_tenant_id(tenant)
        atom = self._live.get(tenant)
        if atom is None:
            atom = self._live[tenant] = self._live_atom(tenant)
        return atom

    # -- commands ---------------------------------------------------------------------

    async def create_tenant(
        self,
        tenant: str,
        *,
        name: str,
        plan: str,
        owner: str,
        request_id: str | None = None,
    ) -> Accepted:
        """Sign ``tenant`` up on ``plan`` with ``owner`` as its first owner."""
        command = CreateTenant(name, plan, owner)
        return await self._request(tenant, command, request_id)

    async def add_user(
        self,
        tenant: str,
        email: str,
        *,
        role: Role = "member",
        request_id: str | None = None,
    ) -> Accepted:
        """Add a member, within the plan's seats."""
        return await self._request(tenant, AddUser(email, role), request_id)

    async def remove_user(
        self, tenant: str, email: str, *, request_id: str | None = None
    ) -> Accepted:
        """Remove a member (not the last owner)."""
        return await self._request(tenant, RemoveUser(email), request_id)

    async def change_plan(
        self, tenant: str, plan: str, *, request_id: str | None = None
    ) -> Accepted:
        """Upgrade or downgrade at once; the period's fee is prorated."""
        return await self._request(tenant, ChangePlan(plan), request_id)

    async def record_usage(
        self,
        tenant: str,
        quantity: int,
        *,
        key: str,
        request_id: str | None = None,
    ) -> Accepted:
        """Record ``quantity`` API calls, once per idempotency ``key``."""
        return await self._request(tenant, RecordUsage(quantity, key), request_id)

    async def cancel(self, tenant: str, *, request_id: str | None = None) -> Accepted:
        """End the subscription at the end of the current billing period."""
        return await self._request(tenant, CancelSubscription(), request_id)

    async def state(
        self, tenant: str, *, request_id: str | None = None
    ) -> TenantState | None:
        """The tenant's current state, from its worker (None: no such tenant).

        The worker reads what other writers appended first. A request like
        the commands: retried if the worker crashes before it answers.
        """
        check_tenant_id(tenant)
        if tenant not in self._workers and not self.events.exists(tenant):
            return None
        rid = self._request_ids() if request_id is None else request_id

        async def attempt(env: Env) -> TenantState | None:
            worker = await self._worker(tenant)
            state: TenantState | None = await worker.ask(
                GetState(), timeout=self._ask_timeout
            )
            return state

        return await self._run(tenant, rid, attempt)

    # -- machinery -------------------------------------------------------------

    async def _request(
        self, tenant: str, command: Command, request_id: str | None
    ) -> Accepted:
        check_tenant_id(tenant)
        rid = self._request_ids() if request_id is None else request_id

        async def attempt(env: Env) -> Accepted:
            worker = await self._worker_for(tenant, command)
            outcome = await worker.ask(Execute(command, rid), timeout=self._ask_timeout)
            if isinstance(outcome, Rejected):
                raise outcome.error
            accepted: Accepted = outcome
            return accepted

        return await self._run(tenant, rid, attempt)

    async def _run(
        self, tenant: str, request_id: str, attempt: Callable[[Env], Awaitable[_T]]
    ) -> _T:
        """Run one request: retried, under a deadline, with its ids in context."""
        request = (
            effect(attempt).retry(self._request_retry).timeout(self._request_timeout)
        )
        return await request.run_or_raise(
            clock=self.events.clock,
            context={"tenant_id": tenant, "request_id": request_id},
        )

    async def _worker_for(self, tenant: str, command: Command) -> ProcessRef:
        # A worker for a tenant nobody created would be a process per typo.
        if (
            tenant not in self._workers
            and not isinstance(command, CreateTenant)
            and not self.events.exists(tenant)
        ):
            raise CommandRejected(
                f"tenant {tenant!r} does not exist", reason=Reason.UNKNOWN_TENANT
            )
        return await self._worker(tenant)

    async def _worker(self, tenant: str) -> ProcessRef:
        async with self._spawning:
            worker = self._workers.get(tenant)
            if worker is None or worker.status in _GONE:
                self.live(tenant)  # before the worker can publish to it
                worker = await self._supervisor.spawn(
                    self._spec, name=worker_name(tenant), ctx=tenant
                )
                self._workers[tenant] = worker
                self.projection.follow(tenant)
                logger.info("started the worker of %r", tenant)
            return worker

    def _publish(self, state: TenantState) -> None:
        self._live[state.tenant].set(state)

    def _default_live_atom(self, tenant: str) -> Atom[TenantState | None]:
        initial: TenantState | None = None
        return create_atom(initial, clock=self.events.clock, name=f"live:{tenant}")


def _random_request_id() -> str:
    return f"req_{uuid.uuid4().hex[:20]}"
