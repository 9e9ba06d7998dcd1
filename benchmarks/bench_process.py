"""Process message throughput and ask round trips, against asyncio and pykka.

* Messages handled per second by one process: a burst of ``send`` calls, then
  one ask that waits until all were handled. Baselines, in the same run: a
  bare `asyncio.Queue` consumer task calling the same handler (target: the
  process reaches at least 0.5x its rate), and a pykka ``ThreadingActor``
  told the same messages (target: at least 2x pykka's rate).
* Ask round trips per second: one caller awaiting ``ref.ask`` in a loop,
  against a queue consumer answering futures and a blocking pykka ``ask``.
  Reported with ``timeout=None`` (what the queue baseline does) and with the
  default timeout (one timer per ask on the clock); no target is set.

Every side runs several rounds, alternately, on the standard asyncio loop
with the real `SystemClock`; the best round of each side is compared, so a
noisy machine moves both figures together. Run it with
``.venv/bin/python benchmarks/bench_process.py`` (``--messages N``,
``--asks N``, ``--rounds R`` to change the size).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

import pykka

from phyxius.process import create_supervisor

THROUGHPUT_VS_QUEUE = 0.5
"""The process must handle at least this fraction of the queue consumer's rate."""

THROUGHPUT_VS_PYKKA = 2.0
"""The process must handle at least this multiple of pykka's rate."""

_STOP = object()


class Counter:
    """The handler every side runs: count the messages, answer with the count."""

    def __init__(self) -> None:
        self.count = 0

    def handle(self, msg: object) -> int:
        self.count += 1
        return self.count


# -- messages handled per second ------------------------------------------------


async def phyxius_throughput(messages: int) -> float:
    """Seconds for one process to take a burst of ``messages`` sends."""
    async with create_supervisor() as supervisor:
        counter = Counter()
        ref = await supervisor.spawn(counter, name="counter")
        send = ref.send
        started = time.perf_counter()
        for number in range(messages):
            send(number)
        await ref.ask("last", timeout=None)
        elapsed = time.perf_counter() - started
    assert counter.count == messages + 1
    return elapsed


async def queue_throughput(messages: int) -> float:
    """Seconds for a bare `asyncio.Queue` consumer to take the same burst."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    counter = Counter()
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def consume() -> None:
        handle = counter.handle
        while True:
            item = await queue.get()
            if item is _STOP:
                done.set_result(counter.count)
                return
            handle(item)

    consumer = asyncio.create_task(consume())
    put = queue.put_nowait
    started = time.perf_counter()
    for number in range(messages):
        put(number)
    put(_STOP)
    await done
    elapsed = time.perf_counter() - started
    await consumer
    assert counter.count == messages
    return elapsed


class PykkaCounter(pykka.ThreadingActor):
    """The same handler as a pykka actor."""

    def __init__(self) -> None:
        super().__init__()
        self.counter = Counter()

    def on_receive(self, message: Any) -> Any:
        return self.counter.handle(message)


def pykka_throughput(messages: int) -> float:
    """Seconds for a pykka actor to take the same burst of ``tell`` calls."""
    ref = PykkaCounter.start()
    try:
        tell = ref.tell
        started = time.perf_counter()
        for number in range(messages):
            tell(number)
        count = ref.ask("last")
        elapsed = time.perf_counter() - started
    finally:
        ref.stop()
    assert count == messages + 1
    return elapsed


# -- ask round trips per second ------------------------------------------------


async def phyxius_asks(asks: int, *, timeout: float | None) -> float:
    """Seconds for ``asks`` sequential asks to one process."""
    async with create_supervisor() as supervisor:
        ref = await supervisor.spawn(Counter(), name="counter")
        ask = ref.ask
        started = time.perf_counter()
        for number in range(asks):
            await ask(number, timeout=timeout)
        elapsed = time.perf_counter() - started
    return elapsed


async def queue_asks(asks: int) -> float:
    """Seconds for the same asks through a queue consumer that answers futures."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    counter = Counter()
    loop = asyncio.get_running_loop()

    async def consume() -> None:
        handle = counter.handle
        while True:
            item, reply = await queue.get()
            if item is _STOP:
                return
            reply.set_result(handle(item))

    consumer = asyncio.create_task(consume())
    put = queue.put_nowait
    started = time.perf_counter()
    for number in range(asks):
        reply = loop.create_future()
        put((number, reply))
        await reply
    elapsed = time.perf_counter() - started
    put((_STOP, None))
    await consumer
    return elapsed


def pykka_asks(asks: int) -> float:
    """Seconds for the same asks to a pykka actor (a blocking ``ask``)."""
    ref = PykkaCounter.start()
    try:
        ask = ref.ask
        started = time.perf_counter()
        for number in range(asks):
            ask(number)
        elapsed = time.perf_counter() - started
    finally:
        ref.stop()
    return elapsed


# -- running -----------------------------------------------------------------------


def best(runs: list[float]) -> float:
    """The fastest round."""
    return min(runs)


def measure(sides: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Run every side ``rounds`` times, alternately; return each side's best."""
    results: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, run in sides.items():
            gc.collect()
            results[name].append(run())
    return {name: best(times) for name, times in results.items()}


def main() -> int:
    """Measure, print the rates and ratios, and exit non-zero if a target fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--asks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    messages, asks = options.messages, options.asks

    throughput = measure(
        {
            "phyxius": lambda: asyncio.run(phyxius_throughput(messages)),
            "asyncio.Queue": lambda: asyncio.run(queue_throughput(messages)),
            "pykka": lambda: pykka_throughput(messages),
        },
        options.rounds,
    )
    round_trips = measure(
        {
            "phyxius": lambda: asyncio.run(phyxius_asks(asks, timeout=None)),
            "phyxius (default timeout)": lambda: asyncio.run(
                phyxius_asks(asks, timeout=5.0)
            ),
            "asyncio.Queue": lambda: asyncio.run(queue_asks(asks)),
            "pykka": lambda: pykka_asks(asks),
        },
        options.rounds,
    )

    rounds = options.rounds
    print(f"messages handled per second ({messages:,} sends, best of {rounds}):")
    for name, seconds in throughput.items():
        print(f"  {name:<28} {messages / seconds:>12,.0f} /s")
    vs_queue = throughput["asyncio.Queue"] / throughput["phyxius"]
    vs_pykka = throughput["pykka"] / throughput["phyxius"]
    print(f"  phyxius / asyncio.Queue: {vs_queue:.2f}x (target >= 0.5x)")
    print(f"  phyxius / pykka:         {vs_pykka:.2f}x (target >= 2x)")

    print(f"ask round trips per second ({asks:,} asks, best of {rounds}):")
    for name, seconds in round_trips.items():
        print(f"  {name:<28} {asks / seconds:>12,.0f} /s")
    for name in ("phyxius", "phyxius (default timeout)"):
        print(
            f"  {name} / asyncio.Queue: "
            f"{round_trips['asyncio.Queue'] / round_trips[name]:.2f}x, "
            f"/ pykka: {round_trips['pykka'] / round_trips[name]:.2f}x"
        )

    failed = vs_queue < THROUGHPUT_VS_QUEUE or vs_pykka < THROUGHPUT_VS_PYKKA
    print("targets:", "FAILED" if failed else "met")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
