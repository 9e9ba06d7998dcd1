"""Virtual time for asyncio: Phyxius's loop against looptime, and freezing wall time.

Three measurements, each against a baseline measured in the same run:

1. **Sleepers**: 10,000 tasks, each sleeping a seeded random virtual duration
   (whole milliseconds up to an hour), on Phyxius's `VirtualTimeEventLoop`
   with autojump, and on a looptime loop (looptime's defaults, as its pytest
   plugin makes them) running the same coroutine. Target: Phyxius at least as
   fast (ratio <= 1). Plain asyncio running the same tasks with zero-length
   sleeps is shown as the floor: the cost of the tasks alone.
2. **Periodic**: one virtual hour of 1,000 periodic tasks (each ticking every
   5 to 60 seconds, seeded), on both loops. Target: under 2 s of real time.
   The floor is plain asyncio making the same wake-ups with zero sleeps.
3. **Freeze**: the cost of entering and leaving `clock.freeze_wall_time()`
   once (what the plugin does per test), with freezegun (the default) and
   with time-machine, in a process that has loaded what a test session loads.

Each side runs several rounds, alternately; the best round counts, so a
noisy machine moves both figures together. Times are the process's CPU time
(``--clock wall`` for wall-clock time): nothing here waits for anything
real, so on an idle machine the two agree, and CPU time stays put when other
processes compete for the CPU. Run it with
``.venv/bin/python benchmarks/bench_virtual_time.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

import looptime

from phyxius.clock import ControlledClock, run

PERIODIC_TARGET_SECONDS = 2.0
"""One virtual hour of periodic tasks must take less real time than this."""

# The stopwatch, in a list so that `--clock` can choose it and a frozen wall
# clock never replaces it. Every workload here is CPU-bound (neither loop
# waits for anything real), so the process's CPU time is the real time an idle
# machine would take, and stays put when other processes compete for the CPU.
_STOPWATCH: list[Callable[[], float]] = [time.process_time]


def stopwatch() -> float:
    return _STOPWATCH[0]()


# -- workloads ------------------------------------------------------------------


def sleeper_durations(count: int, seed: int) -> list[float]:
    """Whole milliseconds up to an hour, as a program would write them."""
    rng = random.Random(seed)
    return [rng.randrange(1, 3_600_000) / 1000 for _ in range(count)]


def sleepers(durations: list[float], woke: list[float]) -> Coroutine[Any, Any, None]:
    async def sleeper(seconds: float) -> None:
        await asyncio.sleep(seconds)
        woke.append(asyncio.get_running_loop().time())

    async def main() -> None:
        await asyncio.gather(*(sleeper(seconds) for seconds in durations))

    return main()


def zero_sleepers(count: int, woke: list[float]) -> Coroutine[Any, Any, None]:
    async def sleeper() -> None:
        await asyncio.sleep(0)
        woke.append(0.0)

    async def main() -> None:
        await asyncio.gather(*(sleeper() for _ in range(count)))

    return main()


def periods(count: int, seed: int) -> list[int]:
    """Each task's period in whole seconds, 5 to 60."""
    rng = random.Random(seed)
    return [rng.randrange(5, 61) for _ in range(count)]


def periodic(
    every: list[int], horizon: float, ticks: list[int]
) -> Coroutine[Any, Any, None]:
    async def task(index: int, period: int) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() + period <= horizon:
            await asyncio.sleep(period)
            ticks[index] += 1

    async def main() -> None:
        await asyncio.gather(*(task(i, period) for i, period in enumerate(every)))

    return main()


def periodic_floor(
    every: list[int], horizon: float, ticks: list[int]
) -> Coroutine[Any, Any, None]:
    """The same tasks and wake-ups with zero-length sleeps: asyncio's own cost."""

    async def task(index: int, period: int) -> None:
        for _ in range(int(horizon // period)):
            await asyncio.sleep(0)
            ticks[index] += 1

    async def main() -> None:
        await asyncio.gather(*(task(i, period) for i, period in enumerate(every)))

    return main()


# -- runners --------------------------------------------------------------------


def on_phyxius(make: Callable[[], Coroutine[Any, Any, None]]) -> tuple[float, float]:
    """Real seconds to run the coroutine on Phyxius, and the final virtual time."""
    clock = ControlledClock()
    coroutine = make()
    started = stopwatch()
    run(coroutine, clock=clock)
    return stopwatch() - started, clock.now().mono


def on_looptime(make: Callable[[], Coroutine[Any, Any, None]]) -> tuple[float, float]:
    """The same on a looptime loop: asyncio's loop with looptime's patches."""
    loop = looptime.new_event_loop()
    coroutine = make()
    try:
        started = stopwatch()
        loop.run_until_complete(coroutine)
        elapsed = stopwatch() - started
        return elapsed, loop.time()
    finally:
        loop.close()


def on_asyncio(make: Callable[[], Coroutine[Any, Any, None]]) -> tuple[float, float]:
    """The same on plain asyncio (only for workloads that take no time)."""
    loop = asyncio.new_event_loop()
    coroutine = make()
    try:
        started = stopwatch()
        loop.run_until_complete(coroutine)
        return stopwatch() - started, 0.0
    finally:
        loop.close()


def best_of(
    rounds: int,
    sides: dict[str, Callable[[], tuple[float, float]]],
    check: Callable[[str, float], None],
) -> dict[str, float]:
    best = dict.fromkeys(sides, float("inf"))
    for _ in range(rounds):
        for name, side in sides.items():
            gc.collect()
            elapsed, virtual = side()
            check(name, virtual)
            best[name] = min(best[name], elapsed)
    return best


# -- 1. sleepers ----------------------------------------------------------------


def bench_sleepers(count: int, rounds: int, seed: int) -> None:
    durations = sleeper_durations(count, seed)
    last = max(durations)
    woke: list[float] = []

    def check(name: str, virtual: float) -> None:
        expected = sorted(durations) if name != "asyncio" else [0.0] * count
        if name != "asyncio" and abs(virtual - last) > 1e-6:
            raise SystemExit(f"{name} ended at {virtual}, not {last}")
        if len(woke) != count or (
            name == "phyxius" and woke != expected  # exact, in due order
        ):
            raise SystemExit(f"{name} woke {len(woke)} sleepers out of order")
        woke.clear()

    best = best_of(
        rounds,
        {
            "phyxius": lambda: on_phyxius(lambda: sleepers(durations, woke)),
            "looptime": lambda: on_looptime(lambda: sleepers(durations, woke)),
            "asyncio": lambda: on_asyncio(lambda: zero_sleepers(count, woke)),
        },
        check,
    )
    ratio = best["phyxius"] / best["looptime"]
    print(f"1. {count:,} tasks sleeping random virtual durations up to 1 h")
    print(f"   plain asyncio, zero sleeps (floor) {best['asyncio'] * 1e3:8.1f} ms")
    print(f"   looptime                           {best['looptime'] * 1e3:8.1f} ms")
    print(
        f"   phyxius (autojump)                 {best['phyxius'] * 1e3:8.1f} ms"
        f"   {ratio:.2f}x looptime ({'met' if ratio <= 1 else 'MISSED'}: target <= 1)"
    )


# -- 2. periodic ----------------------------------------------------------------


def bench_periodic(count: int, rounds: int, seed: int) -> None:
    every = periods(count, seed)
    horizon = 3600.0
    ticks = [0] * count
    expected = [int(horizon // period) for period in every]

    def check(name: str, virtual: float) -> None:
        if ticks != expected:
            raise SystemExit(f"{name} ticked {sum(ticks)} times, not {sum(expected)}")
        ticks[:] = [0] * count

    best = best_of(
        rounds,
        {
            "phyxius": lambda: on_phyxius(lambda: periodic(every, horizon, ticks)),
            "looptime": lambda: on_looptime(lambda: periodic(every, horizon, ticks)),
            "asyncio": lambda: on_asyncio(
                lambda: periodic_floor(every, horizon, ticks)
            ),
        },
        check,
    )
    ratio = best["phyxius"] / best["looptime"]
    print(
        f"2. one virtual hour of {count:,} periodic tasks "
        f"({sum(expected):,} wake-ups, periods 5-60 s)"
    )
    print(f"   plain asyncio, zero sleeps (floor) {best['asyncio'] * 1e3:8.1f} ms")
    print(f"   looptime                           {best['looptime'] * 1e3:8.1f} ms")
    print(
        f"   phyxius (autojump)                 {best['phyxius'] * 1e3:8.1f} ms"
        f"   {ratio:.2f}x looptime, {best['phyxius'] / best['asyncio']:.1f}x floor; "
        f"{'met' if best['phyxius'] < PERIODIC_TARGET_SECONDS else 'MISSED'}: "
        f"target < {PERIODIC_TARGET_SECONDS:.0f} s"
    )


# -- 3. freezing wall time --------------------------------------------------------


def load_a_test_sessions_modules() -> int:
    """Import what a pytest session with Phyxius's dev tools has loaded."""
    import sys

    import _pytest.python  # noqa: F401
    import hypothesis  # noqa: F401
    import pytest  # noqa: F401

    import phyxius  # noqa: F401
    import pytest_phyxius.plugin  # noqa: F401

    return len(sys.modules)


def bench_freeze(rounds: int, repeats: int) -> None:
    import freezegun
    import time_machine

    modules = load_a_test_sessions_modules()
    clock = ControlledClock()

    def phyxius_freeze(backend: str) -> Callable[[], None]:
        def enter_and_leave() -> None:
            with clock.freeze_wall_time(backend=backend):
                pass

        return enter_and_leave

    def plain_freezegun() -> None:
        with freezegun.freeze_time("2024-01-01"):
            pass

    def plain_time_machine() -> None:
        with time_machine.travel(0, tick=False):
            pass

    sides: dict[str, Callable[[], None]] = {
        "phyxius, freezegun": phyxius_freeze("freezegun"),
        "phyxius, time-machine": phyxius_freeze("time-machine"),
        "freezegun.freeze_time": plain_freezegun,
        "time_machine.travel": plain_time_machine,
    }
    best = dict.fromkeys(sides, float("inf"))
    for _ in range(rounds):
        for name, side in sides.items():
            side()  # warm freezegun's module cache, as a second test would
            started = stopwatch()
            for _ in range(repeats):
                side()
            best[name] = min(best[name], (stopwatch() - started) / repeats)

    ratio = best["phyxius, freezegun"] / best["phyxius, time-machine"]
    print(f"3. entering and leaving a wall-time freeze, {modules:,} modules loaded")
    for name, seconds in best.items():
        print(f"   {name:<34}{seconds * 1e6:9.1f} us per test")
    print(f"   freezegun costs {ratio:.0f}x time-machine per test")


def main() -> None:
    """Run the three measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleepers", type=int, default=10_000)
    parser.add_argument("--periodic", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--freeze-repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="measure the process's CPU time (default) or wall-clock time",
    )
    options = parser.parse_args()
    if options.clock == "wall":
        _STOPWATCH[0] = time.perf_counter

    print(
        f"best of {options.rounds} rounds, seed {options.seed}, "
        f"{'CPU' if options.clock == 'cpu' else 'wall-clock'} time"
    )
    bench_sleepers(options.sleepers, options.rounds, options.seed)
    bench_periodic(options.periodic, options.rounds, options.seed)
    bench_freeze(options.rounds, options.freeze_repeats)


if __name__ == "__main__":
    main()
