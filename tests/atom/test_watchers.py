"""Watchers: called after each commit, in order; errors kept, never swallowed."""

from __future__ import annotations

import asyncio
import logging
import operator
from collections.abc import Callable
from typing import Any

import pytest

from phyxius import Event, InvalidArgumentError
from phyxius.atom import (
    Atom,
    AtomReentrancyError,
    Change,
    WatchHandle,
    create_atom,
)
from phyxius.clock import ControlledClock
from pytest_phyxius import CallbackErrors


def test_watchers_are_called_in_registration_order() -> None:
    atom = create_atom(0, clock=ControlledClock())
    calls: list[tuple[str, int]] = []

    def labelled(label: str) -> Callable[[Change[int]], None]:
        return lambda change: calls.append((label, change.new))

    for label in ["first", "second", "third"]:
        atom.watch(labelled(label))

    atom.set(1)
    atom.set(2)

    assert calls == [
        ("first", 1),
        ("second", 1),
        ("third", 1),
        ("first", 2),
        ("second", 2),
        ("third", 2),
    ]


def test_watchers_have_run_when_the_write_returns() -> None:
    atom = create_atom(0, clock=ControlledClock())
    seen: list[int] = []
    atom.watch(lambda change: seen.append(change.version_to))

    atom.update(operator.add, 1)
    assert seen == [1]
    atom.set(5)
    assert seen == [1, 2]


def test_a_watcher_sees_only_changes_committed_after_it_registered() -> None:
    atom = create_atom(0, clock=ControlledClock())
    atom.set(1)
    changes: list[Change[int]] = []

    atom.watch(changes.append)
    atom.set(2)

    assert [(c.old, c.new, c.version_from, c.version_to) for c in changes] == [
        (1, 2, 1, 2)
    ]


def test_unsubscribing_stops_the_calls() -> None:
    atom = create_atom(0, clock=ControlledClock())
    seen: list[int] = []
    handle = atom.watch(lambda change: seen.append(change.new))
    atom.set(1)
    active_before = handle.active

    assert handle() is True
    atom.set(2)

    assert seen == [1]
    assert (active_before, handle.active) == (True, False)
    assert handle() is False


def test_watch_returns_a_handle_naming_its_function() -> None:
    def on_change(change: Change[int]) -> None:
        pass

    atom = create_atom(0, clock=ControlledClock())
    handle = atom.watch(on_change)

    assert isinstance(handle, WatchHandle)
    assert handle.fn is on_change
    assert repr(handle).startswith("<WatchHandle active ")
    assert repr(handle).endswith("on_change>")
    handle()
    assert repr(handle).startswith("<WatchHandle removed ")


def test_the_same_function_watched_twice_is_called_twice() -> None:
    atom = create_atom(0, clock=ControlledClock())
    seen: list[int] = []
    first = atom.watch(lambda change: seen.append(change.new))
    atom.watch(first.fn)

    atom.set(1)
    first()
    atom.set(2)

    assert seen == [1, 1, 2]


def test_a_watcher_removed_by_an_earlier_watcher_misses_that_change() -> None:
    atom = create_atom(0, clock=ControlledClock())
    seen: list[str] = []
    later: list[WatchHandle] = []

    def remover(change: Change[int]) -> None:
        seen.append("remover")
        later[0]()

    atom.watch(remover)
    later.append(atom.watch(lambda change: seen.append("removed")))
    atom.set(1)

    assert seen == ["remover"]


def test_a_watcher_added_by_a_watcher_starts_with_the_next_change() -> None:
    atom = create_atom(0, clock=ControlledClock())
    added: list[int] = []

    def adder(change: Change[int]) -> None:
        if change.new == 1:
            atom.watch(lambda inner: added.append(inner.new))

    atom.watch(adder)
    atom.set(1)
    atom.set(2)

    assert added == [2]


def test_watch_refuses_something_not_callable() -> None:
    atom = create_atom(0, clock=ControlledClock())

    with pytest.raises(
        InvalidArgumentError,
        match=r"^fn='log' \(type=str\) is not callable; pass a function that takes "
        r"one Change$",
    ):
        atom.watch("log")  # type: ignore[arg-type]

    atom.set(1)
    assert atom.version == 1


# -- errors in watchers -----------------------------------------------------------


def _explode(change: Change[int]) -> None:
    raise KeyError(f"no handler for {change.new}")


def test_a_raising_watcher_undoes_nothing_and_stops_no_other_watcher(
    callback_errors: CallbackErrors, caplog: pytest.LogCaptureFixture
) -> None:
    atom = create_atom(0, clock=ControlledClock(), name="orders")
    before: list[int] = []
    after: list[int] = []
    atom.watch(lambda change: before.append(change.new))
    atom.watch(_explode)
    atom.watch(lambda change: after.append(change.new))

    with caplog.at_level(logging.ERROR, logger="phyxius.atom"):
        atom.set(1)
        atom.set(2)

    assert (atom.get(), atom.version) == (2, 2)
    assert before == after == [1, 2]
    events = callback_errors.take()
    assert [e.type for e in events] == ["atom.error", "atom.error"]
    assert dict(events[0].data) == {
        "callback": f"{__name__}._explode",
        "error_type": "KeyError",
        "error": "'no handler for 1'",
        "atom": "orders",
        "version": 1,
    }
    assert [r.name for r in caplog.records] == ["phyxius.atom", "phyxius.atom"]


def test_a_watcher_writing_to_its_own_atom_gets_reentrancy_error(
    callback_errors: CallbackErrors,
) -> None:
    atom = create_atom(0, clock=ControlledClock(), name="loop")
    caught: list[BaseException] = []

    def echo(change: Change[int]) -> None:
        try:
            atom.set(change.new + 100)
        except AtomReentrancyError as error:
            caught.append(error)
            raise

    atom.watch(echo)
    atom.set(1)

    assert (atom.get(), atom.version) == (1, 1)
    assert len(caught) == 1
    assert str(caught[0]) == (
        "atom 'loop'.set() was called from one of its own watchers; an atom cannot "
        "be written while it is computing or reporting a change. Fold the step into "
        "the update function, or write to another atom"
    )
    [event] = callback_errors.take()
    assert event.data["error_type"] == "phyxius.atom._errors.AtomReentrancyError"


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda atom: atom.update(operator.add, 1), id="update"),
        pytest.param(lambda atom: atom.compare_and_set(1, 50), id="compare_and_set"),
    ],
)
def test_every_kind_of_write_from_an_own_watcher_is_refused(
    write: Any, callback_errors: CallbackErrors
) -> None:
    atom = create_atom(0, clock=ControlledClock())
    atom.watch(lambda change: write(atom))

    atom.set(1)

    assert (atom.get(), atom.version) == (1, 1)
    assert [e.data["error_type"] for e in callback_errors.take()] == [
        "phyxius.atom._errors.AtomReentrancyError"
    ]


def test_a_watcher_returning_a_coroutine_is_reported(
    callback_errors: CallbackErrors,
) -> None:
    atom = create_atom(0, clock=ControlledClock())

    async def async_watcher(change: Change[int]) -> None:
        await asyncio.sleep(0)

    atom.watch(async_watcher)
    atom.set(1)

    [event] = callback_errors.take()
    assert event.type == "atom.error"
    assert event.data["error_type"] == "TypeError"
    assert str(event.data["error"]).startswith(
        "atom watchers must be plain functions, but this one returned a coroutine"
    )


# -- derived state --------------------------------------------------------------


def test_a_watcher_derives_another_atom() -> None:
    clock = ControlledClock()
    cart: Atom[tuple[tuple[str, int], ...]] = create_atom((), clock=clock)
    total = create_atom(0, clock=clock)
    cart.watch(lambda change: total.set(sum(price for _, price in change.new)))

    cart.update(lambda items: (*items, ("tea", 3)))
    cart.update(lambda items: (*items, ("cake", 4)))

    assert total.get() == 7
    assert total.version == 2


def test_two_atoms_derived_from_each_other_settle() -> None:
    clock = ControlledClock()
    celsius = create_atom(0, clock=clock, history=None)
    tenths = create_atom(0, clock=clock, history=None)
    celsius.watch(lambda change: tenths.set(change.new * 10))
    tenths.watch(lambda change: celsius.set(change.new // 10))

    celsius.set(21)
    assert (celsius.get(), tenths.get()) == (21, 210)
    tenths.set(370)
    assert (celsius.get(), tenths.get()) == (37, 370)
    assert [s.value for s in celsius.get_history()] == [0, 21, 37]
    assert [s.value for s in tenths.get_history()] == [0, 210, 370]


def test_a_write_that_comes_back_through_another_atom_is_delivered_in_order() -> None:
    clock = ControlledClock()
    a = create_atom(0, clock=clock)
    b = create_atom(0, clock=clock)
    a_seen: list[int] = []
    a.watch(lambda change: a_seen.append(change.version_to))
    a.watch(lambda change: b.set(change.new + 1))
    b.watch(lambda change: a.set(min(change.new, 5)))
    a.watch(lambda change: a_seen.append(-change.version_to))

    a.set(1)

    assert (a.get(), b.get()) == (5, 6)
    assert a_seen == [1, -1, 2, -2, 3, -3, 4, -4, 5, -5]


# -- events ---------------------------------------------------------------------


def test_emit_receives_changed_rejected_and_error_events(
    callback_errors: CallbackErrors,
) -> None:
    clock = ControlledClock()
    events: list[Event] = []
    atom: Atom[Any] = create_atom(
        {"n": 0},
        clock=clock,
        emit=events.append,
        name="state",
        validator=lambda value: value["n"] >= 0,
    )
    clock.advance(1)
    atom.set({"n": 1}, cause=("api", 3))
    committed_at = clock.now()
    clock.advance(1)
    with pytest.raises(ValueError, match=r"^atom 'state': the validator"):
        atom.set({"n": -1})
    atom.watch(_explode)
    atom.set({"n": 2})
    callback_errors.take()

    assert [e.type for e in events] == [
        "atom.changed",
        "atom.rejected",
        "atom.changed",
        "atom.error",
    ]
    changed = events[0]
    assert changed.at == committed_at
    assert dict(changed.data) == {
        "atom": "state",
        "version_from": 0,
        "version_to": 1,
        "value": {"n": 1},
        "cause": ["api", 3],
    }
    assert dict(events[1].data) == {"atom": "state", "version": 1, "value": {"n": -1}}


def test_event_data_holds_plain_values_only() -> None:
    events: list[Event] = []
    atom: Atom[Any] = create_atom(None, clock=ControlledClock(), emit=events.append)

    atom.set({"when": ControlledClock, "items": [object], 3: "int key"})

    value = events[0].data["value"]
    assert isinstance(value, str)
    assert value.startswith("{")


def test_an_emit_that_raises_is_logged_and_stops_nothing(
    callback_errors: CallbackErrors,
) -> None:
    def broken_emit(event: Event) -> None:
        raise RuntimeError("telemetry down")

    atom = create_atom(0, clock=ControlledClock(), emit=broken_emit)
    seen: list[int] = []
    atom.watch(lambda change: seen.append(change.new))

    atom.set(1)

    assert seen == [1]
    assert [e.type for e in callback_errors.take()] == ["atom.changed"]


class _Interrupt(BaseException):
    """Stands for KeyboardInterrupt, which a watcher must not swallow."""


def test_a_base_exception_from_a_watcher_propagates_and_delivery_resumes() -> None:
    atom = create_atom(0, clock=ControlledClock())
    seen: list[int] = []

    def interrupt_once(change: Change[int]) -> None:
        if change.new == 1:
            raise _Interrupt

    atom.watch(interrupt_once)
    atom.watch(lambda change: seen.append(change.new))

    with pytest.raises(_Interrupt):
        atom.set(1)
    assert (atom.get(), atom.version) == (1, 1)

    atom.set(2)
    assert seen == [2]


def test_changes_and_snapshots_are_frozen_records() -> None:
    atom = create_atom(0, clock=ControlledClock())
    changes: list[Change[int]] = []
    atom.watch(changes.append)
    atom.set(1)

    for record in (changes[0], atom.snapshot()):
        with pytest.raises(AttributeError):
            record.at = None  # type: ignore[misc, assignment]
        assert not hasattr(record, "__dict__")
