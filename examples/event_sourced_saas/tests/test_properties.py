"""Replaying any prefix of the log gives the state the live system had at that point.

Hypothesis plays random sessions against the whole service (workers under a
supervisor, on a virtual-time loop): sign-ups, members, plan changes, usage
with repeated idempotency keys, cancellations, waits across billing periods,
and steps of the wall clock both ways. It records what the live system said
while it ran: the state each command returned, the state each worker reported
between steps, and every version of the read model's atom (each says how
much of each stream it includes). Then it replays the journal, cut at each of
those points, and compares.

Each example builds its own clock, store, supervisor and service, since
hypothesis runs every example inside one call of the test function, where
function-scoped fixtures would carry over.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from examples.event_sourced_saas import (
    Accepted,
    BillingOptions,
    CommandRejected,
    Directory,
    EventStore,
    Projection,
    SaasService,
    SandboxGateway,
    TenantState,
    replay,
)
from examples.event_sourced_saas.tests._helpers import invoices, usage_between_invoices
from phyxius.atom import create_atom
from phyxius.clock import ControlledClock, run
from phyxius.journal import MemoryStore, SortableIds, create_journal
from phyxius.process import create_supervisor

TENANTS = ("acme", "globex")
PEOPLE = ("ada", "bob", "cy", "dee")
DAY = 86_400

PLAN_IDS = ("free", "starter", "growth")

# One step: wait (up to ten days), then do one thing; usage is the most common,
# a cancellation (which ends the story of its tenant) the rarest.
usage = st.tuples(
    st.just("usage"),
    st.sampled_from(TENANTS),
    st.integers(min_value=1, max_value=150_000),
    st.integers(min_value=0, max_value=7),
)
action = st.one_of(
    usage,
    usage,
    usage,
    usage,
    st.tuples(st.just("add"), st.sampled_from(TENANTS), st.sampled_from(PEOPLE)),
    st.tuples(st.just("remove"), st.sampled_from(TENANTS), st.sampled_from(PEOPLE)),
    st.tuples(st.just("plan"), st.sampled_from(TENANTS), st.sampled_from(PLAN_IDS)),
    st.tuples(st.just("jump"), st.integers(min_value=-3 * DAY, max_value=3 * DAY)),
    st.tuples(st.just("cancel"), st.sampled_from(TENANTS)),
)
pause = st.builds(
    lambda days, seconds: days * DAY + seconds,
    st.integers(min_value=0, max_value=9),
    st.integers(min_value=0, max_value=DAY - 1),
)
step = st.tuples(pause, action)

starts = st.sampled_from(
    [
        datetime(2028, 1, 31, 9, tzinfo=UTC),  # a month-end anchor, then a leap day
        datetime(2028, 2, 29, 12, tzinfo=UTC),  # a leap-day anchor
        datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC),  # a year end
    ]
)


async def play(
    clock: ControlledClock, plans: tuple[str, str], session: list[tuple[int, Any]]
) -> tuple[EventStore, Projection, list[TenantState], Directory]:
    """Run the session; return the store, the read model and every live state seen."""
    store = MemoryStore()
    ids: dict[str, SortableIds] = {}
    events = EventStore(
        store,
        clock=clock,
        open_journal=lambda name: create_journal(
            store, name=name, clock=clock, ids=ids.setdefault(name, SortableIds(7))
        ),
    )
    projection = Projection(
        events, atom=create_atom(Directory(), clock=clock, history=None)
    )
    supervisor = create_supervisor(clock=clock, seed=7)
    service = SaasService(
        events,
        supervisor,
        gateway=SandboxGateway(clock),
        projection=projection,
        billing=BillingOptions(check_every=12 * 3600),
    )
    seen: list[TenantState] = []

    async def command(tenant: str, call: Any) -> None:
        before = events.stream(tenant).next_sequence
        try:
            accepted: Accepted = await call
        except CommandRejected:
            assert events.stream(tenant).next_sequence == before
            return
        seen.append(accepted.state)
        if accepted.duplicate:
            assert events.stream(tenant).next_sequence == before

    await service.create_tenant("acme", name="Acme", plan=plans[0], owner="ada@acme.io")
    await service.create_tenant(
        "globex", name="Globex", plan=plans[1], owner="ada@globex.io"
    )
    for wait, (action, *arguments) in session:
        await asyncio.sleep(wait)
        if action == "usage":
            tenant, quantity, key = arguments
            await command(tenant, service.record_usage(tenant, quantity, key=f"k{key}"))
        elif action == "add":
            tenant, person = arguments
            await command(tenant, service.add_user(tenant, f"{person}@{tenant}.io"))
        elif action == "remove":
            tenant, person = arguments
            await command(tenant, service.remove_user(tenant, f"{person}@{tenant}.io"))
        elif action == "plan":
            tenant, plan = arguments
            await command(tenant, service.change_plan(tenant, plan))
        elif action == "cancel":
            (tenant,) = arguments
            await command(tenant, service.cancel(tenant))
        else:
            clock.jump_wall(by=timedelta(seconds=arguments[0]))

        # Between steps, ask every worker what it holds.
        await asyncio.sleep(0.1)
        for tenant in service.workers():
            state = await service.state(tenant)
            assert state is not None
            seen.append(state)

    # Long enough for the last period to end and be billed.
    await asyncio.sleep(32 * DAY)
    for tenant in service.workers():
        state = await service.state(tenant)
        assert state is not None
        seen.append(state)

    final = projection.catch_up()
    service.close()
    await supervisor.shutdown()
    return events, projection, seen, final


@settings(max_examples=20, deadline=None)
@given(
    start=starts,
    plans=st.tuples(st.sampled_from(PLAN_IDS), st.sampled_from(PLAN_IDS)),
    session=st.lists(step, min_size=6, max_size=24),
)
def test_replaying_any_prefix_of_the_log_gives_the_state_the_live_system_had_then(
    start: datetime, plans: tuple[str, str], session: list[tuple[int, Any]]
) -> None:
    clock = ControlledClock(start)
    events, projection, seen, final = run(play(clock, plans, session), clock=clock)

    # The write side: every state a command returned or a worker reported.
    for state in seen:
        prefix = events.stream(state.tenant).read(stop=state.version)
        assert replay(prefix) == state

    # The read side: every version the atom went through is a cut of the log.
    history = projection.atom.get_history()
    assert history[-1].value == final == Directory.rebuild(events)
    for snapshot in history:
        assert Directory.rebuild(events, snapshot.value.positions) == snapshot.value

    # And whatever happened, every call recorded is billed once or unbilled.
    for tenant in events.tenants():
        stream = events.stream(tenant).get_all()
        billed = [invoice["calls"] for invoice in invoices(stream)]
        assert billed == usage_between_invoices(stream)[: len(billed)]
