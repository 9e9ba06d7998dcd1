"""Advancing a ControlledClock through 100,000 timers, against a bare heapq loop.

The baseline is the least a timer wheel can do in pure Python: convert each
delay to integer nanoseconds, push ``(due, sequence, callback)`` on a heap,
then pop every entry in order, set "now" to its due time and call it. The
clock does the same work behind its public API (`call_later` then one
`advance`), plus what makes it a clock: duration validation, cancellable
handles, error capture around every callback.

Both sides run in the same process, alternately, several rounds, timed in
CPU time (nothing here waits for anything); the best round of each is
compared, so a noisy machine moves both figures together.
Run it with ``.venv/bin/python benchmarks/bench_clock.py`` (``--timers N``,
``--rounds R`` to change the size).
"""

from __future__ import annotations

import argparse
import gc
import heapq
import itertools
import random
import time
from collections.abc import Callable

from phyxius.clock import ControlledClock

TARGET_RATIO = 2.0
"""The clock's total time may be at most this multiple of the baseline's."""


def make_delays(count: int, seed: int) -> list[float]:
    """Delays in whole milliseconds up to an hour, as a program would write them."""
    rng = random.Random(seed)
    return [rng.randrange(1, 3_600_000) / 1000 for _ in range(count)]


def run_baseline(delays: list[float]) -> tuple[float, float, int]:
    """Push every delay on a bare heap, then pop and call them all in order."""
    fired = 0

    def callback() -> None:
        nonlocal fired
        fired += 1

    heap: list[tuple[int, int, Callable[[], None]]] = []
    sequence = itertools.count()
    now_ns = 0
    push, pop = heapq.heappush, heapq.heappop

    started = time.process_time()
    for delay in delays:
        push(heap, (now_ns + round(delay * 1e9), next(sequence), callback))
    scheduled = time.process_time()
    while heap:
        now_ns, _, fn = pop(heap)
        fn()
    finished = time.process_time()

    return scheduled - started, finished - scheduled, fired


def run_clock(delays: list[float]) -> tuple[float, float, int]:
    """Schedule every delay with `call_later`, then fire them all in one `advance`."""
    fired = 0

    def callback() -> None:
        nonlocal fired
        fired += 1

    clock = ControlledClock()
    call_later = clock.call_later

    started = time.process_time()
    for delay in delays:
        call_later(delay, callback)
    scheduled = time.process_time()
    clock.advance(3600)
    finished = time.process_time()

    return scheduled - started, finished - scheduled, fired


def main() -> None:
    """Measure both sides and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2024)
    options = parser.parse_args()

    delays = make_delays(options.timers, options.seed)
    best_base = [float("inf")] * 3
    best_clock = [float("inf")] * 3
    for _ in range(options.rounds):
        for runner, best in ((run_baseline, best_base), (run_clock, best_clock)):
            gc.collect()
            schedule_s, advance_s, fired = runner(delays)
            if fired != len(delays):
                raise SystemExit(f"{runner.__name__} fired {fired} of {len(delays)}")
            best[0] = min(best[0], schedule_s)
            best[1] = min(best[1], advance_s)
            best[2] = min(best[2], schedule_s + advance_s)

    print(f"{options.timers:,} timers, best of {options.rounds} rounds")
    print(f"{'phase':<22}{'heapq':>10}{'clock':>10}{'ratio':>8}")
    for label, index in (("schedule (push)", 0), ("advance (pop, fire)", 1)):
        base, clock = best_base[index], best_clock[index]
        print(
            f"{label:<22}{base * 1e3:>8.1f}ms{clock * 1e3:>8.1f}ms{clock / base:>7.2f}x"
        )
    ratio = best_clock[2] / best_base[2]
    print(
        f"{'total':<22}{best_base[2] * 1e3:>8.1f}ms{best_clock[2] * 1e3:>8.1f}ms"
        f"{ratio:>7.2f}x"
    )
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"ratio {ratio:.2f}x, {verdict} the {TARGET_RATIO:.0f}x target")


if __name__ == "__main__":
    main()
