"""Replaying any prefix of the log gives the state the live system had at that point.

Hypothesis plays random sessions against the whole service (workers under a
supervisor, on a virtual-time loop): sign-ups, members, plan changes, usage
with repeated idempotency keys, cancellations, waits across billing periods,
steps of the wall clock both ways, and payment-gateway outages long enough to
crash a billing worker. It records what the live system held while it ran:

* every state each worker moved its tenant to, from the tenant's live atom
  (`SaasService.live`, keeping its whole history): one per entry of the
  stream, so every prefix of the log has a live state to be compared with;
* the state each command returned, and the state each worker reported when
  asked between steps;
* every version of the read model's atom (each says how much of each stream
  it includes).

Then it replays the journal, cut at each of those points, and compares.

Each example builds its own clock, SQLite file, supervisor and service, since
hypothesis runs every example inside one call of the test function, where
function-scoped fixtures would carry over.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from examples.event_sourced_saas import (
    Accepted,
    CommandRejected,
    Directory,
    EventStore,
    Projection,
    SaasService,
    SandboxGateway,
    TenantState,
    replay,
)
from examples.event_sourced_saas.tests._helpers import (
    BILLING,
    invoices,
    of_type,
    usage_between_invoices,
)
from phyxius.atom import Atom, create_atom
from phyxius.clock import ControlledClock, run
from phyxius.journal import SortableIds, SqliteStore, create_journal
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
    # The workers try a charge three times (BILLING): from three failures
    # on, the next billing worker to charge crashes and is restarted.
    st.tuples(st.just("outage"), st.integers(min_value=1, max_value=4), st.booleans()),
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


@dataclass
class Played:
    """What a session left: the log, and what the live system held on the way."""

    events: EventStore
    projection: Projection
    live: dict[str, Atom[TenantState | None]]
    seen: list[TenantState]
    final: Directory
    gateway: SandboxGateway


async def play(
    clock: ControlledClock,
    store: SqliteStore,
    plans: tuple[str, str],
    session: list[tuple[int, Any]],
) -> Played:
    """Run the session on ``store``; return the log and every live state seen."""
    events = EventStore(
        store,
        clock=clock,
        open_journal=lambda name: create_journal(
            store, name=name, clock=clock, ids=SortableIds(7)
        ),
    )
    projection = Projection(
        events, atom=create_atom(Directory(), clock=clock, history=None)
    )
    # Outages may crash both tenants' workers within seconds of each other.
    supervisor = create_supervisor(clock=clock, seed=7, max_restarts=10, within=5)
    gateway = SandboxGateway(clock)
    live: dict[str, Atom[TenantState | None]] = {}

    def live_atom(tenant: str) -> Atom[TenantState | None]:
        initial: TenantState | None = None
        atom = live[tenant] = create_atom(initial, clock=clock, history=None)
        return atom

    service = SaasService(
        events,
        supervisor,
        gateway=gateway,
        projection=projection,
        billing=BILLING,
        live_atom=live_atom,
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
        elif action == "outage":
            times, after_charging = arguments
            gateway.fail_next(times, after_charging=after_charging)
        else:
            clock.jump_wall(by=timedelta(seconds=arguments[0]))

        # Between steps, ask every worker what it holds.
        await asyncio.sleep(0.1)
        for tenant in service.workers():
            state = await service.state(tenant)
            assert state is not None
            seen.append(state)

    # Long enough for the last period to end and be billed; then until
    # every invoice is paid (a charge may be between a crash and a retry).
    await asyncio.sleep(32 * DAY)
    for tenant in service.workers():
        await service.live(tenant).wait_for(
            lambda state: state is not None and not state.unpaid, timeout=60
        )
        state = await service.state(tenant)
        assert state is not None
        seen.append(state)

    final = projection.catch_up()
    service.close()
    await supervisor.shutdown()
    return Played(events, projection, live, seen, final, gateway)


@settings(max_examples=25, deadline=None)
@given(
    start=starts,
    plans=st.tuples(st.sampled_from(PLAN_IDS), st.sampled_from(PLAN_IDS)),
    session=st.lists(step, min_size=6, max_size=24),
)
def test_replaying_any_prefix_of_the_log_gives_the_state_the_live_system_had_then(
    start: datetime, plans: tuple[str, str], session: list[tuple[int, Any]]
) -> None:
    clock = ControlledClock(start)
    with tempfile.TemporaryDirectory() as directory:
        # A file per example: the fixtures' tmp_path would be shared by all.
        path = Path(directory) / "saas.sqlite3"
        with SqliteStore(path, synchronous="normal") as store:
            played = run(play(clock, store, plans, session), clock=clock)
            check(played)


def check(played: Played) -> None:
    """The live system's states against replays of the log they were seen at."""
    events = played.events
    streams = {tenant: events.stream(tenant).get_all() for tenant in TENANTS}
    # replayed[tenant][n]: the first n entries of the tenant's stream, replayed.
    replayed = {
        tenant: [replay(stream[:n]) for n in range(len(stream) + 1)]
        for tenant, stream in streams.items()
    }

    # The write side, at every prefix: the workers are the tenants' only
    # writers and take one message at a time, so each entry has its own live
    # state, the state after it.
    for tenant in TENANTS:
        lived = [snapshot.value for snapshot in played.live[tenant].get_history()]
        assert lived == replayed[tenant]
    # ... and every state a command returned or a worker reported.
    for state in played.seen:
        assert replayed[state.tenant][state.version] == state

    # The read side: every version the atom went through is a cut of the log.
    history = played.projection.atom.get_history()
    assert history[-1].value == played.final == Directory.rebuild(events)
    for snapshot in history:
        cut = Directory()
        for tenant, position in snapshot.value.positions.items():
            cut = cut.with_entries(tenant, streams[tenant][:position])
        assert cut == snapshot.value

    # And whatever happened, every call recorded is billed once or unbilled,
    # and every invoice is charged once, crashes or not.
    payments = []
    for stream in streams.values():
        billed = [invoice["calls"] for invoice in invoices(stream)]
        assert billed == usage_between_invoices(stream)[: len(billed)]
        payments += [
            (paid.data["charge"], paid.data["invoice"], paid.data["amount"])
            for paid in of_type(stream, "invoice.paid")
            if paid.data["charge"] is not None
        ]
    charges = [(c.id, c.invoice, c.amount) for c in played.gateway.charges]
    assert sorted(charges) == sorted(payments)
