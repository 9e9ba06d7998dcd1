"""Real OS threads: no lost update, one compare-and-set winner, ordered watchers.

The plain tests run a few thousand writes with a tiny switch interval so that
threads interleave inside every write; the ``slow`` ones are the same checks
at a size that takes seconds.
"""

from __future__ import annotations

import operator
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from phyxius.atom import Atom, Change, create_atom
from phyxius.clock import ControlledClock

# Generous: only a deadlock could take this long, and then the test fails
# instead of hanging the suite.
_HANG_GUARD = 120.0


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _run_threads(count: int, work: Callable[[int], None]) -> None:
    """Start ``count`` threads at once on ``work(index)`` and join them all."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_HANG_GUARD)
    assert not any(thread.is_alive() for thread in threads), "threads deadlocked"
    if errors:
        raise errors[0]


class _Recorder:
    """A watcher that records the versions it sees and checks each change."""

    def __init__(self) -> None:
        self.versions: list[int] = []
        self.concurrent_calls = 0
        self._inside = False

    def __call__(self, change: Change[int]) -> None:
        if self._inside:
            self.concurrent_calls += 1
        self._inside = True
        assert change.version_to == change.version_from + 1
        assert change.new == change.old + 1
        self.versions.append(change.version_to)
        self._inside = False


def _increments(threads: int, each: int, *, clock: Any = None) -> None:
    atom = create_atom(0, clock=clock)
    watchers = [_Recorder(), _Recorder()]
    for watcher in watchers:
        atom.watch(watcher)

    def work(_: int) -> None:
        for _ in range(each):
            atom.update(operator.add, 1)

    _run_threads(threads, work)

    total = threads * each
    assert atom.get() == total
    assert atom.version == total
    for watcher in watchers:
        assert watcher.versions == list(range(1, total + 1))
        assert watcher.concurrent_calls == 0


def test_threads_lose_no_update_and_watchers_see_every_version_in_order() -> None:
    _increments(4, 500)


def test_threads_on_a_controlled_clock_lose_no_update() -> None:
    _increments(4, 250, clock=ControlledClock())


def _compare_and_set_rounds(threads: int, rounds: int) -> None:
    atom = create_atom(0)
    for round_ in range(rounds):
        wins: list[int] = []
        lock = threading.Lock()

        def work(
            index: int,
            round_: int = round_,
            wins: list[int] = wins,
            lock: threading.Lock = lock,
        ) -> None:
            if atom.compare_and_set(round_ * threads, round_ * threads + index + 1):
                with lock:
                    wins.append(index)

        _run_threads(threads, work)
        assert len(wins) == 1
        assert atom.get() == round_ * threads + wins[0] + 1
        atom.set((round_ + 1) * threads)


def test_exactly_one_concurrent_compare_and_set_wins() -> None:
    _compare_and_set_rounds(4, 50)


def test_the_update_function_runs_once_per_update_under_contention() -> None:
    atom = create_atom(0)
    calls = [0] * 4

    def work(index: int) -> None:
        def bump(value: int) -> int:
            calls[index] += 1
            return value + 1

        for _ in range(300):
            atom.update(bump)

    _run_threads(4, work)

    assert calls == [300] * 4
    assert atom.get() == 1_200


def _mutual_derivation(each: int) -> tuple[Atom[int], Atom[int]]:
    """Two atoms that derive from each other, written from two threads.

    Each watcher derives from the other atom's current value, as the README
    advises for cycles across threads: a change may reach a watcher after the
    atom has moved on, and re-deriving from such an older ``change.new``
    could undo the newer value.
    """
    a = create_atom(0, name="a")
    b = create_atom(0, name="b")
    a.watch(lambda change: b.set(a.get() * 2))
    b.watch(lambda change: a.set(b.get() // 2))

    def work(index: int) -> None:
        for _ in range(each):
            if index == 0:
                a.update(operator.add, 1)
            else:
                b.update(operator.add, 2)

    _run_threads(2, work)
    return a, b


def test_atoms_deriving_from_each_other_in_two_threads_do_not_deadlock() -> None:
    a, b = _mutual_derivation(300)

    assert b.get() == 2 * a.get()


def test_a_watcher_writing_to_another_atom_from_many_threads() -> None:
    source = create_atom(0)
    mirror = create_atom(0, history=None)
    source.watch(lambda change: mirror.set(change.new))

    def work(_: int) -> None:
        for _ in range(250):
            source.update(operator.add, 1)

    _run_threads(4, work)

    assert mirror.get() == 1_000
    values = [s.value for s in mirror.get_history()]
    assert values == sorted(values)


@pytest.mark.slow
def test_stress_sixteen_threads_times_ten_thousand_increments() -> None:
    _increments(16, 10_000)


@pytest.mark.slow
def test_stress_compare_and_set_rounds() -> None:
    _compare_and_set_rounds(8, 1_000)


@pytest.mark.slow
def test_stress_mutual_derivation() -> None:
    a, b = _mutual_derivation(20_000)

    assert b.get() == 2 * a.get()
