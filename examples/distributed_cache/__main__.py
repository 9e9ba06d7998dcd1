"""Run the cache for a few seconds on the real clock and print what happened.

``python -m examples.distributed_cache`` starts three nodes (two replicas per
key, cleanup every quarter second) and three clients that set, read and
delete a handful of keys at random moments, each operation under a request
id set at the edge, as a web handler would. A third of the way through, the
primary of the ``config`` key crashes; two thirds through, both of its
replicas crash at once. The supervisor restarts them, they rejoin (from a
peer, or from the journal when no peer holds their keys), and the clients'
timeouts and retries carry them over the gaps. It prints every operation,
every expiry, every membership change, every restart and every retry, then
checks that the live replicas agree on every key and that ``config``
survived; it exits with status 1 if they do not.

``--seconds`` and ``--seed`` change the length and the clients' choices;
``--journal PATH`` keeps the journal in a SQLite file instead of in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from examples.distributed_cache import (
    CacheClient,
    CacheCluster,
    CacheUnavailableError,
)
from phyxius import (
    Backoff,
    Clock,
    Entry,
    Event,
    SystemClock,
    create_journal,
    create_supervisor,
)
from phyxius.effect import ContextLogFilter

CLIENTS = ("web", "api", "worker")
KEYS = tuple(f"user:{n}" for n in range(1, 9))
TTLS = (None, 0.5, 0.5, 1.0, 2.0)
SURVIVOR = "config"


class Printer:
    """Prints one line per happening, stamped with the seconds since the start."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.start_ns = clock.now().mono_ns

    def elapsed(self) -> str:
        """The time since the start, as the first column of a line."""
        return f"{(self.clock.now().mono_ns - self.start_ns) / 1e9:7.3f}s"

    def line(self, text: str) -> None:
        """Print ``text`` after the time column."""
        print(f"{self.elapsed()}  {text}", flush=True)

    def entry(self, entry: Entry) -> None:
        """Print a journal entry about membership or expiry (operations print below)."""
        data = entry.data
        kind = data["type"]
        if kind == "cluster.started":
            nodes = ", ".join(data["nodes"])
            self.line(f"cluster started: {nodes}; {data['replicas']} replicas per key")
        elif kind == "cluster.member_joined":
            sources = ", ".join(data["synced_from"]) or "nobody"
            self.line(
                f"{data['node']} joined (incarnation {data['incarnation']}) with "
                f"{data['keys']} keys, synced from {sources}"
            )
        elif kind == "cluster.member_left":
            self.line(
                f"{data['node']} left (incarnation {data['incarnation']}): "
                f"{data['reason']}"
            )
        elif kind == "cache.expired" and (data["keys"] or data["tombstones"]):
            purged = f"; purged tombstones of {', '.join(data['tombstones'])}"
            self.line(
                f"{data['node']} cleanup: expired {', '.join(data['keys']) or '-'}"
                f"{purged if data['tombstones'] else ''}"
            )

    def event(self, event: Event, who: str = "") -> None:
        """Print the supervisor's restarts and the retries of the request ``who``.

        A write retries each replica on its own, so a write to two nodes that
        are both down shows two retries at each step.
        """
        data = event.data
        if event.type == "process.restart_scheduled":
            self.line(
                f"supervisor restarts {data['name']} in "
                f"{data['delay_ns'] / 1e9:.3f}s (attempt {data['attempt']})"
            )
        elif event.type == "effect.retry":
            error = str(data.get("error_type", "error")).rsplit(".", 1)[-1]
            self.line(
                f"{who} retry after {error}: attempt {data['attempt'] + 1} in "
                f"{data['delay_ns'] / 1e9:.3f}s"
            )


class Elapsed(logging.Formatter):
    """Puts the printer's time column in front of each log record."""

    def __init__(self, elapsed: Callable[[], str]) -> None:
        super().__init__("[%(request_id)s] %(levelname)s %(message)s")
        self._elapsed = elapsed

    def format(self, record: logging.LogRecord) -> str:
        """The record, after the time column."""
        return f"{self._elapsed()}  {super().format(record)}"


def show_logs(printer: Printer) -> None:
    """Print the cache's warnings (failovers, missed replicas) with their request id.

    The injected crashes are printed as the journal and the supervisor report
    them; their tracebacks, which ``phyxius.process`` logs, would drown that.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(ContextLogFilter("request_id"))
    handler.setFormatter(Elapsed(printer.elapsed))
    cache_logger = logging.getLogger("examples.distributed_cache")
    cache_logger.addHandler(handler)
    cache_logger.setLevel(logging.WARNING)
    cache_logger.propagate = False
    logging.getLogger("phyxius.process").setLevel(logging.CRITICAL)


async def client_loop(
    client: CacheClient,
    clock: Clock,
    rng: random.Random,
    stop: asyncio.Event,
    printer: Printer,
    tally: Counter[str],
) -> None:
    """Set, read and delete random keys at random moments until ``stop`` is set."""
    while not stop.is_set():
        await clock.sleep(rng.uniform(0.05, 0.3))
        key = rng.choice(KEYS)
        request_id = f"req-{rng.getrandbits(24):06x}"
        edge = {"request_id": request_id}
        who = f"[{request_id}] {client.name:>6}"

        def report(event: Event, who: str = who) -> None:
            printer.event(event, who)

        choice = rng.random()
        try:
            if choice < 0.45:
                value = rng.randrange(100)
                ttl = rng.choice(TTLS)
                stored = await client.set(key, value, ttl=ttl).run_or_raise(
                    context=edge, emit=report
                )
                tally["set"] += 1
                lasting = "" if ttl is None else f" for {ttl}s"
                missed = f", missed {', '.join(stored.missed)}" if stored.missed else ""
                printer.line(
                    f"{who} set {key} = {value}{lasting} on "
                    f"{', '.join(stored.acked)}{missed}"
                )
            elif choice < 0.85:
                found = await client.lookup(key).run_or_raise(context=edge, emit=report)
                tally["hit" if found.found else "miss"] += 1
                what = f"{found.value}" if found.found else "(miss)"
                printer.line(f"{who} get {key} -> {what} from {found.served_by}")
            else:
                existed = await client.delete(key).run_or_raise(
                    context=edge, emit=report
                )
                tally["delete"] += 1
                printer.line(
                    f"{who} delete {key} ({'was set' if existed else 'was absent'})"
                )
        except CacheUnavailableError as error:
            tally["failed"] += 1
            printer.line(f"{who} failed: {error}")


async def chaos(cluster: CacheCluster, seconds: float, printer: Printer) -> None:
    """Crash the primary of ``config``, then both of its replicas at once."""
    owners = cluster.owners(SURVIVOR)
    started_ns = cluster.clock.now().mono_ns
    for fraction, victims in ((1 / 3, owners[:1]), (2 / 3, owners)):
        # Sleep until a fixed instant, not for a fixed time: the crashes
        # land at a third and two thirds of the run however long each step took.
        due_ns = started_ns + round(fraction * seconds * 1e9)
        await cluster.clock.sleep(max(0, due_ns - cluster.clock.now().mono_ns) / 1e9)
        printer.line(f"chaos: crashing {', '.join(victims)}")
        for node in victims:
            cluster.crash(node, reason="chaos")


def disagreements(cluster: CacheCluster) -> list[str]:
    """Every key whose replicas do not show the same value and version right now."""
    # One reading of the clock for every replica: a value whose TTL ends
    # between two readings would look like a disagreement otherwise.
    now_ns = cluster.clock.now().mono_ns
    stores = {node: cluster.store(node).get() for node in cluster.nodes}
    found = []
    for key in sorted({key for store in stores.values() for key in store}):
        shown = set()
        for node in cluster.owners(key):
            slot = stores[node].get(key)
            if slot is None or not slot.visible(now_ns):
                shown.add("(none)")
            else:
                shown.add(f"{slot.value!r} at {slot.version}")
        if len(shown) > 1:
            found.append(f"{key}: {' / '.join(sorted(shown))}")
    return found


async def main(seconds: float, seed: int, journal_path: Path | None) -> int:
    """Run the cache for ``seconds`` and return the exit status (0: replicas agree)."""
    clock = SystemClock()
    printer = Printer(clock)
    show_logs(printer)
    journal = create_journal(journal_path, name="distributed-cache", clock=clock)
    earlier = len(journal)  # a SQLite journal may hold earlier runs
    journal.subscribe(printer.entry)
    root = create_supervisor(clock=clock, seed=seed, emit=printer.event)
    rng = random.Random(seed)

    try:
        cluster = await CacheCluster.start(
            root,
            journal=journal,
            cleanup_every=0.25,
            tombstone_grace=2.0,
            request_timeout=0.2,
            backoff=Backoff(initial=0.3, maximum=1.0, jitter=0.2),
        )
        admin = cluster.client("admin")
        await admin.set(SURVIVOR, {"feature": "on"}).run_or_raise(
            context={"request_id": "req-boot"}
        )
        printer.line(
            f"[req-boot]  admin set {SURVIVOR} on {', '.join(cluster.owners(SURVIVOR))}"
        )

        stop = asyncio.Event()
        tally: Counter[str] = Counter()
        tasks = [
            asyncio.create_task(
                client_loop(
                    cluster.client(name),
                    clock,
                    random.Random(rng.random()),
                    stop,
                    printer,
                    tally,
                )
            )
            for name in CLIENTS
        ]
        tasks.append(asyncio.create_task(chaos(cluster, seconds, printer)))
        await clock.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)

        await cluster.settle()
        survivor = await admin.get(SURVIVOR).run_or_raise(
            context={"request_id": "req-check"}
        )
        split = disagreements(cluster)
        restarts = {node: cluster.incarnation(node) - 1 for node in cluster.nodes}
        await cluster.stop()
    finally:
        await root.shutdown()
        kinds = Counter(entry.data["type"] for entry in journal.read(earlier))
        journal.close()

    print()
    print(
        f"{tally['set']} sets, {tally['hit'] + tally['miss']} gets ({tally['hit']} "
        f"hits, {tally['miss']} misses), {tally['delete']} deletes, "
        f"{tally['failed']} failed"
    )
    print("restarts: " + ", ".join(f"{n} {k}" for n, k in restarts.items()))
    print("journal: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(f"{SURVIVOR} after the crashes: {survivor}")
    if split:
        print("replicas DISAGREE on: " + "; ".join(split))
        return 1
    if survivor != {"feature": "on"}:
        print(f"{SURVIVOR} was lost")
        return 1
    print("every live replica agrees on every key")
    return 0


def parse(arguments: list[str] | None = None) -> argparse.Namespace:
    """The command line: ``--seconds``, ``--seed`` and ``--journal``."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.distributed_cache",
        description=(__doc__ or "").splitlines()[0],
    )
    parser.add_argument("--seconds", type=positive, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--journal", type=Path, default=None, help="a SQLite file for the journal"
    )
    return parser.parse_args(arguments)


def positive(text: str) -> float:
    """A positive, finite number of seconds from the command line."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive number of seconds"
        )
    return value


def run(arguments: list[str] | None = None) -> int:
    """Parse the command line and run the cache; the process's exit status."""
    options = parse(arguments)
    return asyncio.run(main(options.seconds, options.seed, options.journal))


if __name__ == "__main__":
    sys.exit(run())
