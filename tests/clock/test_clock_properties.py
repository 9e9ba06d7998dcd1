"""Properties of `ControlledClock`, checked against a small reference model.

The model is the specification written as plainly as possible: a list of
pending entries, and an advance that repeatedly takes the one with the
smallest (due time, scheduling order), moves "now" to it and runs it. Every
schedule, including an interval's next tick (scheduled just before its
callback runs) and a timer scheduled by a callback, takes the next number in
one scheduling order. Durations are whole milliseconds written as float
seconds, so the clock's float parsing is exercised too.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TypeAlias

from hypothesis import given, settings
from hypothesis import strategies as st

from phyxius.clock import ControlledClock, ControlledInterval, ControlledTimer

MS = 1_000_000

# -- programs -----------------------------------------------------------------

CallLater: TypeAlias = tuple[str, int]  # ("call_later", delay_ms)
Op: TypeAlias = tuple[object, ...]

delays = st.integers(min_value=0, max_value=50)
periods = st.integers(min_value=1, max_value=20)

schedule_ops = st.one_of(
    st.tuples(st.just("call_later"), delays),
    st.tuples(st.just("interval"), periods),
    # A timer whose callback schedules another timer.
    st.tuples(st.just("spawn"), delays, delays),
    # A timer whose callback cancels one handle created before it.
    st.tuples(st.just("canceller"), delays, st.integers(min_value=0)),
    # Many timers due together, then one that cancels everything before it:
    # enough cancellations to make the clock compact its heap mid-advance.
    st.tuples(st.just("bulk"), st.integers(min_value=1, max_value=80), delays),
    st.tuples(st.just("purge"), delays),
)
control_ops = st.one_of(
    st.tuples(st.just("cancel"), st.integers(min_value=0)),
    st.tuples(st.just("advance"), st.integers(min_value=0, max_value=60)),
)
programs = st.lists(st.one_of(schedule_ops, control_ops), max_size=40)


# -- the reference model --------------------------------------------------------


@dataclass
class Entry:
    label: str
    due: int
    seq: int
    every: int | None = None
    start: int = 0
    ticks: int = 0
    cancelled: bool = False
    fired: bool = False
    action: Op | None = None
    targets: list[int] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return not self.cancelled and not self.fired


class Model:
    """What the clock must do, without heaps, handles or events."""

    def __init__(self) -> None:
        self.now = 0
        self.entries: list[Entry] = []
        self.order = itertools.count()
        self.fired: list[tuple[str, int]] = []
        self.cancel_results: list[bool] = []

    def schedule(self, label: str, delay: int, action: Op | None = None) -> int:
        entry = Entry(label, self.now + delay, next(self.order), action=action)
        self.entries.append(entry)
        return len(self.entries) - 1

    def interval(self, label: str, every: int) -> int:
        entry = Entry(label, self.now + every, next(self.order), every, self.now)
        self.entries.append(entry)
        return len(self.entries) - 1

    def cancel(self, index: int) -> bool:
        entry = self.entries[index]
        if not entry.pending:
            return False
        entry.cancelled = True
        return True

    def advance(self, by: int) -> None:
        target = self.now + by
        while True:
            due = [e for e in self.entries if e.pending and e.due <= target]
            if not due:
                break
            entry = min(due, key=lambda e: (e.due, e.seq))
            self.now = max(self.now, entry.due)
            if entry.every is None:
                entry.fired = True
            else:
                entry.ticks += 1
                entry.due = entry.start + (entry.ticks + 1) * entry.every
                entry.seq = next(self.order)
            self.fired.append((entry.label, self.now))
            self.run_action(entry)
        self.now = target

    def run_action(self, entry: Entry) -> None:
        if entry.action is None:
            return
        if entry.action[0] == "spawn":
            self.schedule(f"{entry.label}.child", int(entry.action[1]))  # type: ignore[call-overload]
        else:
            for index in entry.targets:
                self.cancel_results.append(self.cancel(index))

    def pending_count(self) -> int:
        return sum(1 for entry in self.entries if entry.pending)


# -- driving the real clock and the model side by side ---------------------------


class Harness:
    def __init__(self) -> None:
        self.clock = ControlledClock()
        self.model = Model()
        # handles[i] is the clock's handle for the model's entries[entries_of[i]]
        # (timers spawned by callbacks have an entry but no handle).
        self.handles: list[ControlledTimer | ControlledInterval] = []
        self.entries_of: list[int] = []
        self.fired: list[tuple[str, int]] = []
        self.cancel_results: list[bool] = []

    def record(self, label: str) -> None:
        self.fired.append((label, self.clock.monotonic_ns()))

    def schedule(self, op: Op) -> None:
        kind = op[0]
        label = f"h{len(self.handles)}"
        if kind == "call_later":
            delay = int(op[1])  # type: ignore[call-overload]
            self.handles.append(self.clock.call_later(delay / 1000, self.record, label))
            self.entries_of.append(self.model.schedule(label, delay * MS))
        elif kind == "interval":
            every = int(op[1])  # type: ignore[call-overload]
            self.handles.append(self.clock.interval(every / 1000, self.record, label))
            self.entries_of.append(self.model.interval(label, every * MS))
        elif kind == "spawn":
            delay, child = int(op[1]), int(op[2])  # type: ignore[call-overload]

            def spawn(label: str = label, child: int = child) -> None:
                self.record(label)
                self.clock.call_later(child / 1000, self.record, f"{label}.child")

            self.handles.append(self.clock.call_later(delay / 1000, spawn))
            self.entries_of.append(
                self.model.schedule(label, delay * MS, ("spawn", child * MS))
            )
        elif kind in ("canceller", "purge"):
            delay = int(op[1])  # type: ignore[call-overload]
            if kind == "canceller":
                targets = (
                    [int(op[2]) % len(self.handles)] if self.handles else []  # type: ignore[call-overload]
                )
            else:
                targets = list(range(len(self.handles)))
            victims = [self.handles[index] for index in targets]

            def cancel_them(label: str = label) -> None:
                self.record(label)
                self.cancel_results.extend(victim.cancel() for victim in victims)

            self.handles.append(self.clock.call_later(delay / 1000, cancel_them))
            index = self.model.schedule(label, delay * MS, ("cancel",))
            self.entries_of.append(index)
            self.model.entries[index].targets = [self.entries_of[i] for i in targets]
        elif kind == "bulk":
            count, delay = int(op[1]), int(op[2])  # type: ignore[call-overload]
            for _ in range(count):
                self.schedule(("call_later", delay))

    def control(self, op: Op) -> None:
        if op[0] == "cancel":
            if self.handles:
                index = int(op[1]) % len(self.handles)  # type: ignore[call-overload]
                self.cancel_results.append(self.handles[index].cancel())
                self.model.cancel_results.append(
                    self.model.cancel(self.entries_of[index])
                )
        elif op[0] == "advance":
            by = int(op[1])  # type: ignore[call-overload]
            self.clock.advance(by / 1000)
            self.model.advance(by * MS)
        else:
            self.schedule(op)

    def check(self) -> None:
        assert self.fired == self.model.fired
        assert self.cancel_results == self.model.cancel_results
        assert self.clock.monotonic_ns() == self.model.now
        assert len(self.clock.pending()) == self.model.pending_count()


@settings(max_examples=300)
@given(programs, st.integers(min_value=0, max_value=200))
def test_any_program_fires_what_the_model_fires_when_it_fires_it(
    program: list[Op], final_advance: int
) -> None:
    harness = Harness()

    for op in program:
        harness.control(op)
        harness.check()
    harness.control(("advance", final_advance))

    harness.check()


@given(
    st.lists(schedule_ops, max_size=25),
    st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=12),
)
def test_advancing_in_pieces_equals_advancing_at_once(
    schedule: list[Op], pieces: list[int]
) -> None:
    whole, split = Harness(), Harness()
    for op in schedule:
        whole.schedule(op)
        split.schedule(op)

    whole.clock.advance(sum(pieces) / 1000)
    for piece in pieces:
        split.clock.advance(piece / 1000)

    assert split.fired == whole.fired
    assert split.cancel_results == whole.cancel_results
    assert split.clock.now() == whole.clock.now()
    assert split.clock.pending() == whole.clock.pending()


@given(
    st.lists(schedule_ops, max_size=20),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=30),
            st.integers(min_value=-(10**6), max_value=10**6),
        ),
        max_size=15,
    ),
)
def test_wall_jumps_change_neither_monotonic_time_nor_what_fires(
    schedule: list[Op], steps: list[tuple[int, int]]
) -> None:
    steady, jumpy = Harness(), Harness()
    for op in schedule:
        steady.schedule(op)
        jumpy.schedule(op)
    start_wall = jumpy.clock.wall_ns()
    jumped = 0
    monotonic = [jumpy.clock.monotonic_ns()]

    for advance_ms, jump_ms in steps:
        steady.clock.advance(advance_ms / 1000)
        jumpy.clock.advance(advance_ms / 1000)
        monotonic.append(jumpy.clock.monotonic_ns())
        jumpy.clock.jump_wall(by=jump_ms / 1000)
        jumped += jump_ms * MS
        monotonic.append(jumpy.clock.monotonic_ns())

    assert monotonic == sorted(monotonic)
    assert jumpy.clock.monotonic_ns() == steady.clock.monotonic_ns()
    assert jumpy.clock.wall_ns() == start_wall + jumpy.clock.monotonic_ns() + jumped
    assert jumpy.fired == steady.fired
