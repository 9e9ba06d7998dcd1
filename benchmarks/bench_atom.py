"""Atom's hot paths against the least a thread-safe value can do.

* ``update`` (history 1, no watchers) against ``with lock: value = fn(value)``
  written out in the loop, the literal baseline, and against the same
  statement inside a method of a small class (a call, as ``update`` is).
  Target: at most 2.5x the literal baseline.
* ``get`` against reading a plain attribute, and against a plain getter
  method (the same call ``get`` is). Target: at most 2x.
* One million updates with history 1 keep memory flat: the peak traced by
  `tracemalloc` while they run, which must stay below a small bound.

Each pair runs alternately, several rounds, in one process; the best round of
each side is compared, so a noisy machine moves both figures together. Time
is this process's CPU time, so other processes competing for the machine
slow neither side. Run it
with ``.venv/bin/python benchmarks/bench_atom.py`` (``--calls N``,
``--rounds R`` to change the size).
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
import tracemalloc
from collections.abc import Callable

from phyxius.atom import create_atom
from phyxius.clock import ControlledClock

UPDATE_TARGET = 2.5
"""`Atom.update` may take at most this multiple of the literal baseline."""

GET_TARGET = 2.0
"""`Atom.get` may take at most this multiple of its baseline."""

MEMORY_BOUND = 64 * 1024
"""Peak bytes traced during a million updates with history 1 (flat: no growth)."""


def increment(value: int) -> int:
    """The update function every side applies."""
    return value + 1


class LockedBox:
    """A value behind a lock: the baseline for ``update`` with a method call."""

    __slots__ = ("_lock", "value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def update(self, fn: Callable[[int], int]) -> int:
        """Apply ``fn`` under the lock, as `Atom.update` does."""
        with self._lock:
            self.value = fn(self.value)
            return self.value

    def get(self) -> int:
        """Return the value: the baseline for ``get`` with a method call."""
        return self.value


# -- the timed loops: each returns seconds for `calls` operations -------------


def literal_update(calls: int) -> float:
    """``with lock: value = fn(value)``, written out."""
    lock = threading.Lock()
    fn = increment
    value = 0
    started = time.process_time()
    for _ in range(calls):
        with lock:
            value = fn(value)
    elapsed = time.process_time() - started
    assert value == calls
    return elapsed


def method_update(calls: int) -> float:
    """The same statement inside a method."""
    box = LockedBox()
    update, fn = box.update, increment
    started = time.process_time()
    for _ in range(calls):
        update(fn)
    elapsed = time.process_time() - started
    assert box.value == calls
    return elapsed


def atom_update(calls: int) -> float:
    """`Atom.update` with history 1 and no watchers, on the system clock."""
    atom = create_atom(0)
    update, fn = atom.update, increment
    started = time.process_time()
    for _ in range(calls):
        update(fn)
    elapsed = time.process_time() - started
    assert atom.version == calls
    return elapsed


def controlled_atom_update(calls: int) -> float:
    """`Atom.update` on a `ControlledClock` (what tests run)."""
    atom = create_atom(0, clock=ControlledClock())
    update, fn = atom.update, increment
    started = time.process_time()
    for _ in range(calls):
        update(fn)
    elapsed = time.process_time() - started
    assert atom.version == calls
    return elapsed


def attribute_read(calls: int) -> float:
    """Read a plain attribute."""
    box = LockedBox()
    started = time.process_time()
    for _ in range(calls):
        box.value  # noqa: B018 - the read is what is timed
    return time.process_time() - started


def getter_call(calls: int) -> float:
    """Call a plain getter method."""
    box = LockedBox()
    started = time.process_time()
    for _ in range(calls):
        box.get()
    return time.process_time() - started


def atom_get(calls: int) -> float:
    """Call `Atom.get`."""
    atom = create_atom(0)
    started = time.process_time()
    for _ in range(calls):
        atom.get()
    return time.process_time() - started


def best_of(
    runners: list[Callable[[int], float]], calls: int, rounds: int
) -> list[float]:
    """Run the runners alternately; the best time of each, per operation."""
    best = [float("inf")] * len(runners)
    for _ in range(rounds):
        for index, runner in enumerate(runners):
            gc.collect()
            best[index] = min(best[index], runner(calls) / calls)
    return best


def memory_of_updates(updates: int) -> tuple[int, int]:
    """Peak and final bytes traced across ``updates`` updates with history 1."""
    atom = create_atom(0)
    update, fn = atom.update, increment
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for _ in range(updates):
            update(fn)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert atom.version == updates
    return peak, current


def _row(label: str, seconds: float, baseline: float | None = None) -> str:
    ratio = "" if baseline is None else f"{seconds / baseline:>7.2f}x"
    return f"  {label:<44}{seconds * 1e9:>8.0f} ns{ratio}"


def main() -> None:
    """Measure every pair and print the ratios and the memory peak."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--memory-updates", type=int, default=1_000_000)
    options = parser.parse_args()
    calls, rounds = options.calls, options.rounds
    print(f"{calls:,} calls per round, best of {rounds} rounds")

    literal, method, atom, controlled = best_of(
        [literal_update, method_update, atom_update, controlled_atom_update],
        calls,
        rounds,
    )
    print("update (history 1, no watchers), per call:")
    print(_row("with lock: value = fn(value)   [baseline]", literal))
    print(_row("the same inside a method", method, literal))
    print(_row("atom.update(fn), SystemClock", atom, literal))
    print(_row("atom.update(fn), ControlledClock", controlled, literal))

    attribute, getter, get = best_of(
        [attribute_read, getter_call, atom_get], calls, rounds
    )
    print("get, per call:")
    print(_row("box.value   [plain attribute read]", attribute))
    print(_row("box.get()   [plain getter method, baseline]", getter, attribute))
    print(_row("atom.get()", get, attribute))

    peak, current = memory_of_updates(options.memory_updates)
    print(f"memory across {options.memory_updates:,} updates with history 1:")
    print(f"  peak traced {peak:,} bytes, {current:,} bytes still held at the end")

    update_ratio = atom / literal
    get_ratio = get / getter
    print()
    print(
        f"update: {update_ratio:.2f}x the literal baseline, "
        f"{'within' if update_ratio <= UPDATE_TARGET else 'OVER'} the "
        f"{UPDATE_TARGET}x target ({atom / method:.2f}x the method baseline)"
    )
    print(
        f"get: {get_ratio:.2f}x a plain getter, "
        f"{'within' if get_ratio <= GET_TARGET else 'OVER'} the {GET_TARGET:.0f}x "
        f"target ({get / attribute:.2f}x a bare attribute read: a Python call "
        "costs more than a read)"
    )
    print(
        f"memory: peak {peak:,} bytes, "
        f"{'flat' if peak <= MEMORY_BOUND else 'GROWING'} (bound {MEMORY_BOUND:,})"
    )


if __name__ == "__main__":
    main()
