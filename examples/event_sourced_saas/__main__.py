"""Run the SaaS back end for a few seconds on the real clock and print what happened.

``python -m examples.event_sourced_saas`` makes a SQLite event store in a
temporary directory and gives it a past: three tenants' last months are
played on a `ControlledClock` in virtual time (sign-ups, members, a plan
change, daily usage, invoices). Then the service starts for real, on the
`SystemClock`, with the same file: a worker per tenant rebuilds its tenant by
replay, clients record usage concurrently, one tenant's billing period ends
during the run (its anchor was chosen so), the payment gateway is down for
its first calls so the billing worker crashes and is restarted, and the
invoice is issued and paid exactly once. At the end the state is rebuilt
from the file by a second, independent reader and compared with what the
workers hold. ``--seconds`` and ``--seed`` change the length and the clients'
choices.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from examples.event_sourced_saas import (
    BillingOptions,
    CommandRejected,
    EventStore,
    GatewayError,
    SaasService,
    SandboxGateway,
    TenantState,
    compute_invoice,
    format_cents,
    iso,
)
from examples.event_sourced_saas._periods import add_months
from phyxius import Event, SystemClock
from phyxius.clock import ControlledClock, run
from phyxius.effect import ContextLogFilter, RetryPolicy
from phyxius.journal import SqliteStore
from phyxius.process import Backoff, create_supervisor

DAY = timedelta(days=1)

SETTLE = 20.0
"""Seconds to wait after the clients stop for acme's billing to finish."""


def anchor_for(period_end: datetime) -> tuple[datetime, int]:
    """A subscription start whose billing period ends exactly at ``period_end``.

    Returns the anchor and the index of the period that ends then: one or two
    months back, whichever month has ``period_end``'s day (the 31st is never
    more than two months away).
    """
    for months in (1, 2, 3):
        start: date = add_months(period_end.date(), -months)
        if start.day == period_end.day:
            return datetime.combine(start, period_end.timetz()), months - 1
    raise AssertionError(f"no anchor found for {period_end}")


async def write_the_past(
    events: EventStore, clock: ControlledClock, acme_anchor: datetime, until: datetime
) -> None:
    """The months before today, on virtual time: what the store already holds."""
    supervisor = create_supervisor(clock=clock, seed=1)
    service = SaasService(
        events,
        supervisor,
        gateway=SandboxGateway(clock),
        request_ids=iter(f"past-{n}" for n in range(1, 10**6)).__next__,
    )

    async def at(moment: datetime) -> None:
        await asyncio.sleep(max(0.0, (moment - clock.now().datetime).total_seconds()))

    initech_anchor = until - timedelta(days=70)
    await service.create_tenant(
        "initech", name="Initech", plan="scale", owner="bill@initech.com"
    )
    for name in ("peter", "milton", "samir"):
        await service.add_user("initech", f"{name}@initech.com")
    for day in range(70):
        moment = initech_anchor + day * DAY
        if acme_anchor <= moment + timedelta(hours=10) and not events.exists("acme"):
            await at(acme_anchor)
            await service.create_tenant(
                "acme", name="Acme", plan="starter", owner="ada@acme.io"
            )
            await service.add_user("acme", "grace@acme.io", role="admin")
        if day == 30:
            await at(moment)
            await service.create_tenant(
                "globex", name="Globex", plan="free", owner="hank@globex.com"
            )
        await at(moment + timedelta(hours=10))
        await service.record_usage("initech", 180_000 + 1_000 * day, key=f"d{day}")
        if events.exists("acme"):
            await service.record_usage("acme", 3_500 + 40 * day, key=f"d{day}")
            if day == 55:
                await service.change_plan("acme", "growth")
        if events.exists("globex") and day < 60:
            try:
                await service.record_usage("globex", 400, key=f"d{day}")
            except CommandRejected:
                pass
        if day == 45:
            await service.change_plan("globex", "starter")
        if day == 66:
            await service.cancel("initech")
    await at(until)
    service.close()
    await supervisor.shutdown()


async def run_live(
    path: Path, seconds: float, seed: int, started: float, acme_period: int
) -> dict[str, TenantState]:
    """The service on the real clock, over the same file, for ``seconds``.

    Then, if acme's period ``acme_period`` is not paid yet, wait for it (up to
    `SETTLE` seconds): its worker may be between a crash and its restart.
    """
    clock = SystemClock()

    def lifecycle(event: Event) -> None:
        if event.type in ("process.crashed", "process.restarted"):
            step = event.type.split(".")[1]
            detail = (
                event.data.get("error") or f"incarnation {event.data['incarnation']}"
            )
            elapsed = time.monotonic() - started
            print(f"{elapsed:7.3f}s  {event.data['name']} {step}: {detail}")

    supervisor = create_supervisor(
        clock=clock,
        emit=lifecycle,
        max_restarts=5,
        within=30,
        backoff=Backoff(initial=0.25, maximum=2.0),
        seed=seed,
    )
    gateway = SandboxGateway(clock, latency=0.05)
    gateway.fail_next(2)  # the gateway is down: the worker will give up once
    store = SqliteStore(path)
    events = EventStore(store, clock=clock)
    service = SaasService(
        events,
        supervisor,
        gateway=gateway,
        billing=BillingOptions(
            charge_retry=RetryPolicy(
                max_attempts=2, base_delay=0.2, retry_on=GatewayError
            )
        ),
    )
    await service.start()

    rng = random.Random(seed)
    deadline = time.monotonic() + seconds

    async def client(tenant: str, every: float) -> None:
        sent = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(every / 2, every * 1.5))
            sent += 1
            key = f"live-{sent}"
            try:
                await service.record_usage(tenant, rng.randint(50, 5_000), key=key)
                if rng.random() < 0.2:  # a client that lost the answer sends again
                    await service.record_usage(tenant, 1, key=key)
            except CommandRejected as refused:
                print(f"            {tenant}: {refused}")

    async with asyncio.TaskGroup() as clients:
        for tenant, every in (("acme", 0.6), ("globex", 0.9), ("initech", 0.8)):
            clients.create_task(client(tenant, every))
    try:
        await service.live("acme").wait_for(
            lambda acme: (
                acme is not None and acme.billed > acme_period and not acme.unpaid
            ),
            timeout=SETTLE,
        )
    except TimeoutError:
        print(f"acme's period {acme_period} was not paid within {SETTLE:g}s more")

    states = {}
    for tenant in events.tenants():
        state = await service.state(tenant)
        assert state is not None
        states[tenant] = state
    print()
    print("tenant    plan       status      members  unbilled calls  invoiced    paid")
    for view in service.projection.directory.views.values():
        print(
            f"{view.tenant:<9} {view.plan:<10} {view.status:<11} {view.members:>7}"
            f"  {view.unbilled_calls:>14,}  {format_cents(view.invoiced):>9}"
            f"  {format_cents(view.paid):>9}"
        )
    charged = ", ".join(
        f"{c.invoice} {format_cents(c.amount)}" for c in gateway.charges
    )
    print(
        f"\nthe gateway was called {gateway.calls} times and charged "
        f"{len(gateway.charges)} time(s): {charged or 'nothing'}"
    )
    service.close()
    await supervisor.shutdown()
    events.close()
    store.close()
    return states


def main(seconds: float, seed: int) -> None:
    """Write the past, run the present, check the replay."""
    started = time.monotonic()
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(ContextLogFilter("tenant_id", "request_id"))
    handler.setFormatter(
        logging.Formatter(
            "%(relative)7.3fs  [%(tenant_id)s %(request_id)s] %(message)s"
        )
    )
    handler.addFilter(_Relative(started))
    log = logging.getLogger("examples.event_sourced_saas")
    # Crashes are printed from the supervisor's events (see run_live); keep
    # the library's own error log, with its traceback, out of the way.
    logging.getLogger("phyxius").addHandler(logging.NullHandler())

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "saas.sqlite3"
        now = datetime.now(UTC).replace(microsecond=0)
        # Acme's billing period ends halfway through the live run.
        period_end = now + timedelta(seconds=1 + seconds / 2)
        acme_anchor, acme_period = anchor_for(period_end)
        past = ControlledClock(now - timedelta(days=70))
        with SqliteStore(path, synchronous="normal") as history:
            events = EventStore(history, clock=past)
            run(write_the_past(events, past, acme_anchor, now), clock=past)
            events.close()
        took = time.monotonic() - started
        print(f"the past, on virtual time ({took:.2f}s of real time):")
        with SqliteStore(path) as store:
            reader = EventStore(store)
            for tenant in reader.tenants():
                state = reader.replay(tenant)
                assert state is not None
                print(
                    f"  {tenant}: {len(reader.stream(tenant))} events since "
                    f"{iso(state.anchor_ns)}, on {state.plan.name}, "
                    f"{state.billed} invoice(s), {len(state.users)} member(s)"
                )
            reader.close()
        print(
            f"\nlive, on the system clock, for {seconds:g}s; acme's period "
            f"{acme_period} ends at {period_end:%H:%M:%S} UTC"
        )
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        try:
            states = asyncio.run(run_live(path, seconds, seed, started, acme_period))
        finally:
            log.removeHandler(handler)

        with SqliteStore(path) as store:
            reader = EventStore(store)
            for tenant, live in states.items():
                assert reader.replay(tenant) == live, f"{tenant}: replay differs"
            reader.close()
        print(
            f"replayed {len(states)} tenants from {path.name} with a fresh reader: "
            "equal to what the workers held"
        )
        print()
        print(_invoice(path, acme_period))


def _invoice(path: Path, period: int) -> str:
    """Acme's invoice for ``period``, rendered, rebuilt from the file."""
    with SqliteStore(path) as store:
        reader = EventStore(store)
        for entry in reader.stream("acme"):
            if (
                entry.data["type"] == "invoice.issued"
                and entry.data["invoice"]["period"] == period
            ):
                before = reader.replay("acme", stop=entry.sequence)
                assert before is not None
                reader.close()
                return compute_invoice(before).render()
        reader.close()
    return "(acme's period had not been billed yet)"


class _Relative(logging.Filter):
    """Stamp seconds since the start on each record, as ``relative``."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self._started = started

    def filter(self, record: logging.LogRecord) -> bool:
        record.relative = time.monotonic() - self._started
        return True


def _seconds(text: str) -> float:
    """``--seconds``: a number of seconds longer than zero."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(
            f"--seconds={text!r} is not a duration; pass a number of seconds "
            "above zero, such as 4 or 0.5"
        )
    return seconds


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m examples.event_sourced_saas",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--seconds",
        type=_seconds,
        default=4.0,
        help="how long the clients send usage on the real clock (default: 4)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=7,
        help="seeds the clients' choices and the restart back-off (default: 7)",
    )
    options = parser.parse_args()
    main(options.seconds, options.seed)
