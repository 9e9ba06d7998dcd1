"""History: a ring of the last snapshots, with commit times on the atom's clock."""

from __future__ import annotations

import operator

import pytest

from phyxius.atom import AtomSnapshot, AtomValidationError, create_atom
from phyxius.clock import ControlledClock


def test_history_one_holds_only_the_current_snapshot() -> None:
    clock = ControlledClock()
    atom = create_atom(0, clock=clock)
    clock.advance(3)

    atom.set(1)

    assert atom.get_history() == [AtomSnapshot(1, 1, clock.now())]


def test_the_ring_keeps_the_last_n_snapshots_oldest_first() -> None:
    clock = ControlledClock()
    atom = create_atom(0, clock=clock, history=3)
    for _ in range(5):
        clock.advance(1)
        atom.update(operator.add, 1)

    history = atom.get_history()

    assert [(s.value, s.version, s.at.mono) for s in history] == [
        (3, 3, 3.0),
        (4, 4, 4.0),
        (5, 5, 5.0),
    ]


def test_the_initial_value_is_the_first_snapshot() -> None:
    clock = ControlledClock()
    atom = create_atom("start", clock=clock, history=10)
    clock.advance(1)
    atom.set("next")

    assert atom.get_history() == [
        AtomSnapshot("start", 0, ControlledClock().now()),
        AtomSnapshot("next", 1, clock.now()),
    ]


def test_history_none_keeps_every_snapshot() -> None:
    atom = create_atom(0, clock=ControlledClock(), history=None)
    for n in range(1, 51):
        atom.set(n)

    assert [s.value for s in atom.get_history()] == list(range(51))


def test_equal_and_rejected_writes_leave_no_snapshot() -> None:
    atom = create_atom(1, clock=ControlledClock(), history=None, validator=bool)
    atom.set(2)
    atom.set(2)
    atom.compare_and_set(7, 8)
    with pytest.raises(AtomValidationError):
        atom.set(0)

    assert [s.value for s in atom.get_history()] == [1, 2]


def test_clear_history_keeps_only_the_current_snapshot() -> None:
    clock = ControlledClock()
    atom = create_atom(0, clock=clock, history=None)
    atom.set(1)
    clock.advance(1)
    atom.set(2)
    current = atom.snapshot()

    atom.clear_history()

    assert atom.get_history() == [current]
    assert (atom.get(), atom.version) == (2, 2)
    atom.set(3)
    assert [s.value for s in atom.get_history()] == [2, 3]


def test_clear_history_with_history_one_changes_nothing() -> None:
    atom = create_atom(0, clock=ControlledClock())
    atom.set(5)
    before = atom.get_history()

    atom.clear_history()

    assert atom.get_history() == before


def test_snapshot_matches_the_last_history_entry() -> None:
    clock = ControlledClock()
    atom = create_atom("a", clock=clock, history=4)
    clock.advance(7)
    atom.set("b")

    assert atom.snapshot() == atom.get_history()[-1]
    assert atom.snapshot().at == clock.now()


def test_get_history_returns_a_fresh_list() -> None:
    atom = create_atom(0, clock=ControlledClock(), history=3)
    first = atom.get_history()
    first.clear()

    assert len(atom.get_history()) == 1


def test_snapshots_record_wall_time_jumps_separately_from_monotonic_time() -> None:
    clock = ControlledClock(start=1_000)
    atom = create_atom(0, clock=clock, history=None)
    clock.jump_wall(by=-500)
    atom.set(1)

    old, new = atom.get_history()

    assert (old.at.wall, old.at.mono) == (1_000.0, 0.0)
    assert (new.at.wall, new.at.mono) == (500.0, 0.0)
