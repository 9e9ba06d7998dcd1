"""update, set and compare_and_set: what they commit, and what they refuse."""

from __future__ import annotations

import operator
from typing import Any

import pytest

from phyxius import InvalidArgumentError
from phyxius.atom import (
    Atom,
    AtomReentrancyError,
    AtomSnapshot,
    AtomValidationError,
    Change,
    create_atom,
)
from phyxius.clock import ControlledClock


def _recorded(atom: Atom[Any]) -> list[Change[Any]]:
    changes: list[Change[Any]] = []
    atom.watch(changes.append)
    return changes


def _state(atom: Atom[Any]) -> tuple[Any, int, list[AtomSnapshot[Any]]]:
    return atom.get(), atom.version, atom.get_history()


def test_update_applies_the_function_and_returns_the_new_value() -> None:
    atom = create_atom(1, clock=ControlledClock())

    assert atom.update(lambda n: n * 10) == 10
    assert atom.get() == 10
    assert atom.version == 1


def test_update_passes_extra_arguments_after_the_value() -> None:
    atom = create_atom([1], clock=ControlledClock())

    assert atom.update(lambda items, a, b: [*items, a, b], 2, 3) == [1, 2, 3]
    assert atom.update(operator.add, [4]) == [1, 2, 3, 4]


def test_update_calls_the_function_once_per_update() -> None:
    atom = create_atom(0, clock=ControlledClock())
    calls: list[int] = []

    def bump(n: int) -> int:
        calls.append(n)
        return n + 1

    for _ in range(5):
        atom.update(bump)

    assert calls == [0, 1, 2, 3, 4]


def test_set_replaces_the_value() -> None:
    atom = create_atom("a", clock=ControlledClock())

    atom.set("b")

    assert (atom.get(), atom.version) == ("b", 1)


def test_every_change_moves_the_version_by_exactly_one() -> None:
    atom = create_atom(0, clock=ControlledClock())

    atom.update(operator.add, 5)
    atom.set(9)
    atom.compare_and_set(9, 10)

    assert atom.version == 3


def test_equal_writes_change_nothing_and_notify_nobody() -> None:
    clock = ControlledClock()
    atom = create_atom((1, 2), clock=clock, history=5)
    changes = _recorded(atom)
    before = _state(atom)
    clock.advance(1)

    assert atom.update(lambda value: (1, 2)) == (1, 2)
    atom.set((1, 2))
    assert atom.compare_and_set((1, 2), (1, 2)) is True

    assert _state(atom) == before
    assert changes == []


def test_an_equal_update_returns_the_value_the_atom_keeps() -> None:
    kept = [1.0]
    atom = create_atom(kept, clock=ControlledClock())

    result = atom.update(lambda value: [1])

    assert result is kept


def test_equals_decides_what_counts_as_a_change() -> None:
    def same_id(old: dict[str, int], new: dict[str, int]) -> bool:
        return old["id"] == new["id"]

    atom = create_atom({"id": 1, "hits": 0}, clock=ControlledClock(), equals=same_id)

    atom.set({"id": 1, "hits": 5})
    assert (atom.get(), atom.version) == ({"id": 1, "hits": 0}, 0)

    atom.set({"id": 2, "hits": 0})
    assert (atom.get(), atom.version) == ({"id": 2, "hits": 0}, 1)


def test_compare_and_set_sets_when_the_value_matches() -> None:
    atom = create_atom(1, clock=ControlledClock())
    changes = _recorded(atom)

    assert atom.compare_and_set(1, 2, cause="cas") is True

    assert (atom.get(), atom.version) == (2, 1)
    assert [(c.old, c.new, c.cause) for c in changes] == [(1, 2, "cas")]


def test_compare_and_set_refuses_when_the_value_differs() -> None:
    atom = create_atom(1, clock=ControlledClock(), history=3)
    changes = _recorded(atom)
    before = _state(atom)

    assert atom.compare_and_set(5, 2) is False

    assert _state(atom) == before
    assert changes == []


def test_compare_and_set_compares_with_the_atoms_equals() -> None:
    atom = create_atom("Hello", clock=ControlledClock(), equals=_same_casefold)

    assert atom.compare_and_set("HELLO", "bye") is True
    assert atom.get() == "bye"


def _same_casefold(old: str, new: str) -> bool:
    return old.casefold() == new.casefold()


def test_cause_reaches_the_watchers() -> None:
    atom = create_atom(0, clock=ControlledClock())
    changes = _recorded(atom)

    atom.update(operator.add, 1, cause="click")
    atom.set(5, cause={"request": 7})
    atom.update(operator.add, 1)

    assert [c.cause for c in changes] == ["click", {"request": 7}, None]


def test_a_change_carries_old_new_versions_time_and_cause() -> None:
    clock = ControlledClock()
    atom = create_atom("a", clock=clock, initial_version=9)
    changes = _recorded(atom)
    clock.advance(2.5)

    atom.set("b", cause="because")

    assert changes == [Change("a", "b", 9, 10, clock.now(), "because")]


# -- validation ----------------------------------------------------------------


def _non_negative(value: int) -> bool:
    return value >= 0


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda atom: atom.update(operator.sub, 10), id="update"),
        pytest.param(lambda atom: atom.set(-1), id="set"),
        pytest.param(lambda atom: atom.compare_and_set(3, -1), id="compare_and_set"),
    ],
)
def test_a_rejected_value_raises_and_changes_nothing(write: Any) -> None:
    clock = ControlledClock()
    atom = create_atom(0, clock=clock, validator=_non_negative, history=4, name="n")
    atom.set(3)
    changes = _recorded(atom)
    before = _state(atom)
    clock.advance(1)

    with pytest.raises(
        AtomValidationError,
        match=r"^atom 'n': the validator .*_non_negative rejected -\d+; value, "
        r"version \(1\) and history are unchanged$",
    ) as caught:
        write(atom)

    assert caught.value.value < 0
    assert caught.value.atom_name == "n"
    assert _state(atom) == before
    assert changes == []


def test_compare_and_set_with_a_stale_expectation_never_reaches_the_validator() -> None:
    seen: list[int] = []

    def record(value: int) -> bool:
        seen.append(value)
        return True

    atom = create_atom(0, clock=ControlledClock(), validator=record)
    seen.clear()

    assert atom.compare_and_set(1, 2) is False
    assert seen == []


def test_an_exception_in_the_update_function_propagates_and_changes_nothing() -> None:
    atom = create_atom(1, clock=ControlledClock(), history=3)
    changes = _recorded(atom)
    before = _state(atom)

    with pytest.raises(ZeroDivisionError):
        atom.update(lambda n: n // 0)

    assert _state(atom) == before
    assert changes == []
    atom.set(2)
    assert atom.version == 1


def test_an_exception_in_equals_propagates_and_changes_nothing() -> None:
    def broken(old: int, new: int) -> bool:
        raise LookupError("equals broke")

    atom = create_atom(1, clock=ControlledClock(), equals=broken)

    with pytest.raises(LookupError, match=r"^equals broke$"):
        atom.set(2)
    assert (atom.get(), atom.version) == (1, 0)


def test_an_exception_in_the_validator_propagates_and_changes_nothing() -> None:
    def strict(value: int) -> bool:
        if value > 5:
            raise OverflowError("too big to judge")
        return True

    atom = create_atom(1, clock=ControlledClock(), validator=strict)

    with pytest.raises(OverflowError, match=r"^too big to judge$"):
        atom.update(operator.add, 10)
    assert (atom.get(), atom.version) == (1, 0)


def test_update_with_something_not_callable_raises_a_clear_error() -> None:
    atom = create_atom(1, clock=ControlledClock())

    with pytest.raises(
        InvalidArgumentError,
        match=r"^fn=5 \(type=int\) is not callable; pass a function that takes the "
        r"current value and returns the new one$",
    ):
        atom.update(5)  # type: ignore[arg-type]
    assert (atom.get(), atom.version) == (1, 0)


def test_a_type_error_inside_the_update_function_is_not_disguised() -> None:
    atom = create_atom(1, clock=ControlledClock())

    with pytest.raises(TypeError, match=r"unsupported operand"):
        atom.update(lambda n: n + "x")  # type: ignore[operator]
    assert (atom.get(), atom.version) == (1, 0)


# -- reentrancy from inside a write ---------------------------------------------


@pytest.mark.parametrize(
    ("nested", "operation"),
    [
        pytest.param(lambda atom: atom.update(operator.add, 1), "update", id="update"),
        pytest.param(lambda atom: atom.set(100), "set", id="set"),
        pytest.param(
            lambda atom: atom.compare_and_set(0, 100),
            "compare_and_set",
            id="compare_and_set",
        ),
    ],
)
def test_a_write_from_the_update_function_raises_reentrancy_error(
    nested: Any, operation: str
) -> None:
    atom = create_atom(0, clock=ControlledClock(), name="self")

    def sneaky(value: int) -> int:
        nested(atom)
        return value + 1

    with pytest.raises(
        AtomReentrancyError,
        match=rf"^atom 'self'\.{operation}\(\) was called from its own update "
        r"function, equals or validator; an atom cannot be written while it is "
        r"computing or reporting a change\. Fold the step into the update "
        r"function, or write to another atom$",
    ):
        atom.update(sneaky)

    assert (atom.get(), atom.version) == (0, 0)
    assert atom.update(operator.add, 1) == 1


def test_a_write_from_the_validator_raises_reentrancy_error() -> None:
    target: list[Atom[int]] = []

    def validator(value: int) -> bool:
        if target:
            target[0].set(-5)
        return True

    atom = create_atom(0, clock=ControlledClock(), validator=validator)
    target.append(atom)

    with pytest.raises(AtomReentrancyError, match=r"^atom\.set\(\) was called"):
        atom.set(1)
    assert (atom.get(), atom.version) == (0, 0)


def test_the_update_function_may_read_the_atom_it_updates() -> None:
    atom = create_atom(2, clock=ControlledClock(), history=2)

    def double_with_a_look(value: int) -> int:
        assert atom.get() == value
        assert atom.snapshot().value == value
        assert atom.get_history()[-1].value == value
        return value * 2

    assert atom.update(double_with_a_look) == 4


def test_the_update_function_may_write_to_another_atom() -> None:
    clock = ControlledClock()
    audit = create_atom(0, clock=clock)
    atom = create_atom("a", clock=clock)

    def rename(value: str) -> str:
        audit.update(operator.add, 1)
        return value + "!"

    atom.update(rename)

    assert (atom.get(), audit.get()) == ("a!", 1)
