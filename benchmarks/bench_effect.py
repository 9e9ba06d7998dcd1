"""Effect overhead: a chain of awaits, and race and gather of 10, against plain asyncio.

Four comparisons, each against a baseline measured in the same run:

* chain, async steps: ten coroutines that each suspend once (``await
  asyncio.sleep(0)``, as any real I/O call does), run as
  ``effect(first).flat_map(step)...`` and ``.run()``, against the bare
  ``value = await step(value)`` of the same coroutines. Target: at most 3x.
* chain, pure steps: the same with coroutines that never suspend, so only
  the interpreter's own cost is left: its fixed cost per run (a fiber, its
  context and result) and per step. This is the worst case, reported as is.
* race of 10 effects against the same race built with `asyncio.TaskGroup`
  (the first result wins, the others are cancelled and awaited before the
  group exits). Target: at most 1.5x.
* gather of 10 effects against `asyncio.TaskGroup`. Target: at most 1.5x.

Both sides run on the standard asyncio event loop with the system clock,
alternately, for several rounds, timed in CPU time; the best round of each is
compared, so a noisy machine moves both figures together. A last line shows what virtual
time buys: a five-attempt retry whose back-off totals 1.5 s of virtual time,
measured in real time on a `ControlledClock`.

Run it with ``.venv/bin/python benchmarks/bench_effect.py`` (``--rounds R``
to change the number of rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable

from phyxius.clock import ControlledClock, run
from phyxius.effect import Effect, Env, RetryPolicy, effect, gather, race

CHAIN_TARGET = 3.0
"""A chain of effects may take at most this multiple of the bare awaits."""

FAN_OUT_TARGET = 1.5
"""race and gather may take at most this multiple of the TaskGroup version."""

STEPS = 10
BRANCHES = 10


# -- the chain ----------------------------------------------------------------------


async def async_step(value: int) -> int:
    """One trivial step that suspends once, as an I/O call would."""
    await asyncio.sleep(0)
    return value + 1


async def pure_step(value: int) -> int:
    """One trivial step that never suspends."""
    return value + 1


def chain_of(step: Callable[[int], Awaitable[int]]) -> Effect[int]:
    """``effect(first).flat_map(step)`` for ``STEPS`` steps in all."""
    chain: Effect[int] = effect(lambda env: step(0))
    for _ in range(STEPS - 1):
        chain = chain.flat_map(step)
    return chain


def bare_chain_of(
    step: Callable[[int], Awaitable[int]],
) -> Callable[[], Awaitable[int]]:
    async def bare() -> int:
        value = await step(0)
        for _ in range(STEPS - 1):
            value = await step(value)
        return value

    return bare


# -- race and gather ----------------------------------------------------------------


async def branch_work(index: int) -> int:
    """Branch ``index`` suspends ``index + 1`` times, so branch 0 finishes first."""
    for _ in range(index + 1):
        await asyncio.sleep(0)
    return index


def branch_effects() -> list[Effect[int]]:
    def make(index: int) -> Effect[int]:
        return effect(lambda env: branch_work(index))

    return [make(index) for index in range(BRANCHES)]


async def taskgroup_race() -> int:
    """The race written with a TaskGroup: first result wins, the rest are cancelled."""
    first: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_done(task: asyncio.Task[int]) -> None:
        if not first.done() and not task.cancelled() and task.exception() is None:
            first.set_result(task.result())

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(branch_work(index)) for index in range(BRANCHES)]
        for task in tasks:
            task.add_done_callback(on_done)
        value = await first
        for task in tasks:
            task.cancel()
    return value


async def taskgroup_gather() -> list[int]:
    """gather written with a TaskGroup: every result, in order."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(branch_work(index)) for index in range(BRANCHES)]
    return [task.result() for task in tasks]


# -- measuring ----------------------------------------------------------------------


async def per_call(fn: Callable[[], Awaitable[object]], calls: int) -> float:
    """CPU seconds per call of ``fn`` over ``calls`` calls, after a collection.

    CPU time of this thread, not wall time: on a shared machine, time spent
    descheduled would otherwise land on whichever side was running.
    """
    gc.collect()
    started = time.thread_time()
    for _ in range(calls):
        await fn()
    return (time.thread_time() - started) / calls


async def compare(
    baseline: Callable[[], Awaitable[object]],
    candidate: Callable[[], Awaitable[object]],
    calls: int,
    rounds: int,
) -> tuple[float, float]:
    """Best per-call time of each side over ``rounds`` alternating rounds."""
    if await baseline() != await candidate():
        raise SystemExit("the two sides disagree on the result")
    best_base = best_candidate = float("inf")
    for _ in range(rounds):
        best_base = min(best_base, await per_call(baseline, calls))
        best_candidate = min(best_candidate, await per_call(candidate, calls))
    return best_base, best_candidate


async def measure(rounds: int) -> list[tuple[str, str, float, float, float | None]]:
    rows: list[tuple[str, str, float, float, float | None]] = []

    for label, step, calls, target in (
        ("chain of 10, async steps", async_step, 300, CHAIN_TARGET),
        ("chain of 10, pure steps", pure_step, 3000, None),
    ):
        chain = chain_of(step)
        base, mine = await compare(
            bare_chain_of(step), chain.run_or_raise, calls, rounds
        )
        rows.append((label, "bare await", base, mine, target))

    raced = race(branch_effects())
    base, mine = await compare(taskgroup_race, raced.run_or_raise, 100, rounds)
    rows.append(("race of 10", "TaskGroup", base, mine, FAN_OUT_TARGET))

    gathered = gather(branch_effects())
    base, mine = await compare(taskgroup_gather, gathered.run_or_raise, 100, rounds)
    rows.append(("gather of 10", "TaskGroup", base, mine, FAN_OUT_TARGET))
    return rows


def retry_in_real_time() -> tuple[float, float]:
    """Real seconds for a five-attempt retry on a ControlledClock; virtual seconds."""
    clock = ControlledClock()
    attempts = 0

    async def flaky(env: Env) -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 5:
            raise ConnectionError("refused")
        return "ok"

    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=0.8)
    retried = effect(flaky).retry(policy)
    started = time.perf_counter()
    run(retried.run_or_raise(clock=clock), clock=clock)
    return time.perf_counter() - started, clock.now().mono


def main() -> None:
    """Measure every comparison and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    options = parser.parse_args()

    rows = asyncio.run(measure(options.rounds))

    print(f"best of {options.rounds} rounds, CPU time, standard asyncio loop")
    print(f"{'case':<28}{'baseline':<12}{'base':>10}{'effect':>10}{'ratio':>8}  target")
    failures = 0
    for label, against, base, mine, target in rows:
        ratio = mine / base
        if target is None:
            verdict = "(worst case, no target)"
        elif ratio <= target:
            verdict = f"<= {target:g}x, met"
        else:
            verdict = f"<= {target:g}x, MISSED"
            failures += 1
        print(
            f"{label:<28}{against:<12}{base * 1e6:>8.1f}us{mine * 1e6:>8.1f}us"
            f"{ratio:>7.2f}x  {verdict}"
        )
    real_s, virtual_s = retry_in_real_time()
    print(
        f"five-attempt retry on a ControlledClock: {virtual_s:g}s of virtual "
        f"back-off in {real_s * 1e3:.1f}ms of real time"
    )
    if failures:
        raise SystemExit(f"{failures} target(s) missed")


if __name__ == "__main__":
    main()
