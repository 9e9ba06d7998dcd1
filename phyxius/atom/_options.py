"""Checking the options of `create_atom` before an atom exists.

Every option is checked up front, so a bad one raises a clear
`InvalidArgumentError` and no half-built atom is left behind.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import Emit
from phyxius.clock import Clock, default_clock

__all__ = ["OPTION_NAMES", "AtomOptions", "check_options"]

OPTION_NAMES: Final = (
    "clock",
    "emit",
    "equals",
    "history",
    "initial_version",
    "name",
    "validator",
)
"""The keyword options `create_atom` accepts."""


@final
@dataclass(frozen=True, slots=True)
class AtomOptions:
    """The checked options of one atom."""

    clock: Clock
    equals: Callable[[Any, Any], object]
    history: int | None
    validator: Callable[[Any], object] | None
    emit: Emit | None
    name: str | None
    initial_version: int


def check_options(
    *,
    clock: object,
    equals: object,
    history: object,
    validator: object,
    emit: object,
    name: object,
    initial_version: object,
    unknown: Mapping[str, object],
) -> AtomOptions:
    """Check the options of `create_atom`; raise `InvalidArgumentError` on a bad one."""
    if unknown:
        _reject_unknown(unknown)

    if clock is None:
        clock = default_clock()
    elif not isinstance(clock, Clock):
        raise InvalidArgumentError(
            f"clock={clock!r} (type={type(clock).__name__}) is not a Clock; pass "
            "a SystemClock or a ControlledClock, or leave it out for the default"
        )

    if not callable(equals):
        raise InvalidArgumentError(
            f"equals={equals!r} (type={type(equals).__name__}) is not callable; "
            "pass a function equals(old, new) -> bool, such as operator.eq"
        )
    _check_optional_callable(
        validator, "validator", "a function validator(value) -> bool"
    )
    _check_optional_callable(emit, "emit", "a function taking one Event")

    if history is not None and (
        isinstance(history, bool) or not isinstance(history, int) or history < 1
    ):
        raise InvalidArgumentError(
            f"history={history!r} (type={type(history).__name__}) is not a "
            "history size; pass an int of 1 or more (the snapshots to keep), "
            "or None to keep every snapshot"
        )

    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError(
            f"name={name!r} (type={type(name).__name__}) is not a name; pass a "
            "str, or None"
        )

    if (
        isinstance(initial_version, bool)
        or not isinstance(initial_version, int)
        or initial_version < 0
    ):
        raise InvalidArgumentError(
            f"initial_version={initial_version!r} "
            f"(type={type(initial_version).__name__}) is not a version; pass an "
            "int of 0 or more"
        )

    return AtomOptions(
        clock=clock,
        equals=equals,
        history=history,
        validator=validator,  # type: ignore[arg-type]
        emit=emit,  # type: ignore[arg-type]
        name=name,
        initial_version=initial_version,
    )


def _check_optional_callable(value: object, name: str, expected: str) -> None:
    if value is not None and not callable(value):
        raise InvalidArgumentError(
            f"{name}={value!r} (type={type(value).__name__}) is not callable; "
            f"pass {expected}, or None"
        )


def _reject_unknown(unknown: Mapping[str, object]) -> None:
    key = sorted(unknown)[0]
    close = difflib.get_close_matches(key, OPTION_NAMES, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise InvalidArgumentError(
        f"{key}={unknown[key]!r} is not an option of create_atom; {hint}"
        f"the options are {', '.join(OPTION_NAMES)}"
    )
