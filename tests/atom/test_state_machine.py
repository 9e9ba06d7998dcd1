"""A hypothesis state machine checks an atom against a plain model of it.

The model is a value, a version, a list of snapshots and, per watcher, the
changes it should have received. Every rule applies one operation to both;
the invariants compare them after each step.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from phyxius.atom import Atom, AtomValidationError, Change, WatchHandle, create_atom
from phyxius.clock import ControlledClock

_LIMIT = 1_000
_values = st.integers(-1_200, 1_200)


def _within_limit(value: int) -> bool:
    return abs(value) <= _LIMIT


@dataclass(frozen=True)
class _Op:
    """An update function with a readable name for hypothesis' output."""

    name: str
    fn: Callable[..., int]
    args: tuple[int, ...]

    def __repr__(self) -> str:
        return f"{self.name}{self.args}"


_ops = st.one_of(
    st.builds(_Op, st.just("add"), st.just(operator.add), st.tuples(_values)),
    st.builds(
        _Op, st.just("mul"), st.just(operator.mul), st.tuples(st.integers(-3, 3))
    ),
    st.builds(
        _Op, st.just("const"), st.just(lambda _old, new: new), st.tuples(_values)
    ),
    st.just(_Op("same", lambda old: old, ())),
)


@dataclass
class _Watcher:
    handle: WatchHandle
    received: list[tuple[int, int, int, int, int, object]] = field(default_factory=list)
    expected: list[tuple[int, int, int, int, int, object]] = field(default_factory=list)


class AtomMachine(RuleBasedStateMachine):
    """Drive update, set, compare_and_set, watch, unwatch and clear_history."""

    watchers = Bundle("watchers")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ControlledClock()
        self.active: list[_Watcher] = []
        self.removed: list[_Watcher] = []
        self.atom: Atom[int]
        self.history_size: int | None
        self.value = 0
        self.version = 0
        self.history: list[tuple[int, int, int]] = []

    @initialize(
        initial=st.integers(-_LIMIT, _LIMIT),
        history=st.sampled_from([1, 2, 5, None]),
        start_version=st.integers(0, 10),
    )
    def create(self, initial: int, history: int | None, start_version: int) -> None:
        self.atom = create_atom(
            initial,
            clock=self.clock,
            history=history,
            validator=_within_limit,
            initial_version=start_version,
        )
        self.history_size = history
        self.value = initial
        self.version = start_version
        self.history = [(initial, start_version, 0)]

    # -- the model ----------------------------------------------------------------

    def _write(self, new: int, cause: object) -> None:
        """Apply an accepted, non-equal write to the model."""
        old, self.value = self.value, new
        self.version += 1
        now = self.clock.monotonic_ns()
        self.history.append((new, self.version, now))
        if self.history_size is not None:
            del self.history[: -self.history_size]
        for watcher in self.active:
            watcher.expected.append(
                (old, new, self.version - 1, self.version, now, cause)
            )

    def _attempt(self, new: int, cause: object, write: Callable[[], Any]) -> Any:
        if new == self.value:
            return write()
        if not _within_limit(new):
            with pytest.raises(AtomValidationError):
                write()
            return None
        result = write()
        self._write(new, cause)
        return result

    # -- rules ----------------------------------------------------------------------

    @rule(op=_ops, cause=st.none() | st.text(max_size=3))
    def update(self, op: _Op, cause: str | None) -> None:
        new = op.fn(self.value, *op.args)
        result = self._attempt(
            new, cause, lambda: self.atom.update(op.fn, *op.args, cause=cause)
        )
        if _within_limit(new):
            assert result == new

    @rule(value=_values, cause=st.none() | st.integers(0, 3))
    def set(self, value: int, cause: int | None) -> None:
        self._attempt(value, cause, lambda: self.atom.set(value, cause=cause))

    @rule(data=st.data(), new=_values)
    def compare_and_set(self, data: st.DataObject, new: int) -> None:
        expected = data.draw(st.sampled_from([self.value, self.value + 1]))
        if expected != self.value:
            assert self.atom.compare_and_set(expected, new) is False
            return
        result = self._attempt(
            new, "cas", lambda: self.atom.compare_and_set(expected, new, cause="cas")
        )
        if _within_limit(new):
            assert result is True

    @rule(target=watchers)
    def watch(self) -> _Watcher:
        received: list[tuple[int, int, int, int, int, object]] = []

        def record(change: Change[int]) -> None:
            received.append(
                (
                    change.old,
                    change.new,
                    change.version_from,
                    change.version_to,
                    change.at.mono_ns,
                    change.cause,
                )
            )

        watcher = _Watcher(self.atom.watch(record), received)
        self.active.append(watcher)
        return watcher

    @rule(watcher=consumes(watchers))
    def unwatch(self, watcher: _Watcher) -> None:
        assert watcher.handle() is True
        assert watcher.handle() is False
        self.active.remove(watcher)
        self.removed.append(watcher)

    @rule()
    def clear_history(self) -> None:
        self.atom.clear_history()
        self.history = self.history[-1:]

    @rule(seconds=st.integers(0, 5))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def value_and_version_match(self) -> None:
        assert self.atom.get() == self.value
        assert self.atom.version == self.version
        snapshot = self.atom.snapshot()
        assert (snapshot.value, snapshot.version) == (self.value, self.version)

    @invariant()
    def history_matches(self) -> None:
        history = [(s.value, s.version, s.at.mono_ns) for s in self.atom.get_history()]
        assert history == self.history

    @invariant()
    def every_watcher_received_exactly_its_changes(self) -> None:
        for watcher in self.active + self.removed:
            assert watcher.received == watcher.expected


AtomMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None
)
test_atom_matches_its_model = AtomMachine.TestCase
