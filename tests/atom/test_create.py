"""Creating an atom: defaults, options, and every bad option refused up front."""

from __future__ import annotations

import operator
from typing import Any

import pytest

import phyxius
import phyxius.atom
from phyxius import InvalidArgumentError, PhyxiusError
from phyxius.atom import (
    OPTION_NAMES,
    Atom,
    AtomSnapshot,
    AtomValidationError,
    create_atom,
)
from phyxius.clock import ControlledClock, SystemClock, default_clock


def test_public_names_are_exactly_the_documented_ones() -> None:
    assert sorted(phyxius.atom.__all__) == sorted(
        [
            "OPTION_NAMES",
            "Atom",
            "AtomReentrancyError",
            "AtomSnapshot",
            "AtomTimeoutError",
            "AtomValidationError",
            "Change",
            "WatchHandle",
            "create_atom",
        ]
    )
    for name in [
        "Atom",
        "AtomReentrancyError",
        "AtomSnapshot",
        "AtomTimeoutError",
        "AtomValidationError",
        "Change",
        "create_atom",
    ]:
        assert getattr(phyxius, name) is getattr(phyxius.atom, name)
        assert name in phyxius.__all__


def test_errors_subclass_phyxius_error_and_the_matching_builtin() -> None:
    assert issubclass(phyxius.AtomValidationError, PhyxiusError)
    assert issubclass(phyxius.AtomValidationError, ValueError)
    assert issubclass(phyxius.AtomReentrancyError, PhyxiusError)
    assert issubclass(phyxius.AtomReentrancyError, RuntimeError)
    assert issubclass(phyxius.AtomTimeoutError, phyxius.ClockTimeoutError)
    assert issubclass(phyxius.AtomTimeoutError, TimeoutError)


def test_a_new_atom_holds_its_initial_value_at_version_zero() -> None:
    clock = ControlledClock()
    atom = create_atom({"n": 1}, clock=clock)

    assert atom.get() == {"n": 1}
    assert atom.version == 0
    assert atom.snapshot() == AtomSnapshot({"n": 1}, 0, clock.now())
    assert atom.get_history() == [AtomSnapshot({"n": 1}, 0, clock.now())]
    assert atom.clock is clock
    assert atom.name is None


def test_the_default_clock_is_the_shared_system_clock() -> None:
    atom = create_atom(0)

    assert atom.clock is default_clock()
    assert isinstance(atom.clock, SystemClock)


def test_commits_on_the_system_clock_are_stamped_with_real_time() -> None:
    clock = SystemClock()
    before = clock.now()
    atom = create_atom(0, clock=clock, history=3)
    atom.set(1)
    after = clock.now()

    stamps = [snapshot.at for snapshot in atom.get_history()]
    assert [before.mono_ns <= at.mono_ns <= after.mono_ns for at in stamps] == [
        True,
        True,
    ]
    assert stamps[0].mono_ns <= stamps[1].mono_ns
    assert before.wall_ns - 10**9 <= stamps[1].wall_ns <= after.wall_ns + 10**9


def test_initial_version_sets_the_version_of_the_initial_value() -> None:
    atom = create_atom("restored", clock=ControlledClock(), initial_version=41)

    atom.set("next")

    assert atom.version == 42
    assert [s.version for s in atom.get_history()] == [42]


def test_the_constructor_takes_the_same_arguments_as_create_atom() -> None:
    atom = Atom(3, clock=ControlledClock(), name="direct", history=2)

    atom.update(operator.add, 1)

    assert repr(atom) == "<Atom 'direct' version=1 value=4>"
    assert [s.value for s in atom.get_history()] == [3, 4]


def test_repr_shortens_a_long_value() -> None:
    atom = create_atom("x" * 500, clock=ControlledClock())

    assert len(repr(atom)) < 100
    assert repr(atom).startswith("<Atom version=0 value='xxx")


def test_the_validator_checks_the_initial_value() -> None:
    def positive(value: int) -> bool:
        return value > 0

    with pytest.raises(
        AtomValidationError,
        match=r"^atom 'n': the validator .*positive rejected the initial value -1; "
        r"pass an initial value it accepts$",
    ) as caught:
        create_atom(-1, clock=ControlledClock(), validator=positive, name="n")
    assert caught.value.value == -1
    assert caught.value.atom_name == "n"


def _options(**options: Any) -> dict[str, Any]:
    return options


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            _options(history=0),
            r"^history=0 \(type=int\) is not a history size; pass an int of 1 or "
            r"more \(the snapshots to keep\), or None to keep every snapshot$",
            id="history-zero",
        ),
        pytest.param(
            _options(history=-3),
            r"^history=-3 \(type=int\) is not a history size",
            id="history-negative",
        ),
        pytest.param(
            _options(history=2.5),
            r"^history=2\.5 \(type=float\) is not a history size",
            id="history-float",
        ),
        pytest.param(
            _options(history=True),
            r"^history=True \(type=bool\) is not a history size",
            id="history-bool",
        ),
        pytest.param(
            _options(equals=None),
            r"^equals=None \(type=NoneType\) is not callable; pass a function "
            r"equals\(old, new\) -> bool, such as operator\.eq$",
            id="equals-none",
        ),
        pytest.param(
            _options(validator=42),
            r"^validator=42 \(type=int\) is not callable; pass a function "
            r"validator\(value\) -> bool, or None$",
            id="validator-not-callable",
        ),
        pytest.param(
            _options(emit="log"),
            r"^emit='log' \(type=str\) is not callable; pass a function taking one "
            r"Event, or None$",
            id="emit-not-callable",
        ),
        pytest.param(
            _options(name=7),
            r"^name=7 \(type=int\) is not a name; pass a str, or None$",
            id="name-not-str",
        ),
        pytest.param(
            _options(initial_version=-1),
            r"^initial_version=-1 \(type=int\) is not a version; pass an int of 0 "
            r"or more$",
            id="initial-version-negative",
        ),
        pytest.param(
            _options(initial_version="1"),
            r"^initial_version='1' \(type=str\) is not a version",
            id="initial-version-str",
        ),
        pytest.param(
            _options(clock="now"),
            r"^clock='now' \(type=str\) is not a Clock; pass a SystemClock or a "
            r"ControlledClock, or leave it out for the default$",
            id="clock-not-a-clock",
        ),
        pytest.param(
            _options(histroy=3),
            r"^histroy=3 is not an option of create_atom; did you mean 'history'\? "
            r"the options are clock, emit, equals, history, initial_version, name, "
            r"validator$",
            id="unknown-close-to-history",
        ),
        pytest.param(
            _options(colour="red"),
            r"^colour='red' is not an option of create_atom; the options are clock,",
            id="unknown-option",
        ),
    ],
)
def test_bad_options_raise_a_clear_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        create_atom(0, **options)


def test_option_names_lists_every_keyword_of_create_atom() -> None:
    import inspect

    parameters = inspect.signature(create_atom).parameters
    keywords = {
        name
        for name, parameter in parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert set(OPTION_NAMES) == keywords


def test_history_none_is_accepted_as_unbounded() -> None:
    atom = create_atom(0, clock=ControlledClock(), history=None)
    for _ in range(1_000):
        atom.update(operator.add, 1)

    assert len(atom.get_history()) == 1_001


def test_a_validation_error_message_names_an_unnamed_atom_plainly() -> None:
    with pytest.raises(
        AtomValidationError,
        match=r"^atom: the validator builtins\.bool rejected the initial value 0;",
    ):
        create_atom(0, clock=ControlledClock(), validator=bool)
