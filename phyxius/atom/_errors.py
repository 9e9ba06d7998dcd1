"""The errors an atom raises."""

from __future__ import annotations

from typing import Any

from phyxius._errors import PhyxiusError
from phyxius.clock import ClockTimeoutError

__all__ = [
    "AtomReentrancyError",
    "AtomTimeoutError",
    "AtomValidationError",
    "describe_atom",
    "reentrancy_error",
]


class AtomValidationError(PhyxiusError, ValueError):
    """The atom's validator rejected a value; nothing was changed.

    ``value`` is the rejected value and ``atom_name`` the atom's name (None
    when it has none). The atom's value, version and history are exactly what
    they were before the write.
    """

    def __init__(self, message: str, *, value: Any, atom_name: str | None) -> None:
        super().__init__(message)
        self.value = value
        self.atom_name = atom_name


class AtomReentrancyError(PhyxiusError, RuntimeError):
    """A write reached an atom from inside that same atom's own write.

    Raised for a write from one of the atom's watchers (while it is being
    told about a change) and for a write from the atom's update function,
    ``equals`` or validator. Nothing is changed by the refused write; the
    change already in progress stands.
    """


class AtomTimeoutError(ClockTimeoutError):
    """`Atom.wait_for` ran out of time before the predicate held.

    It subclasses `phyxius.clock.ClockTimeoutError` and so the builtin
    `TimeoutError`. The time is measured on the atom's clock.
    """


def describe_atom(name: str | None) -> str:
    """How messages name an atom: ``atom 'counter'``, or ``atom`` with no name."""
    return "atom" if name is None else f"atom {name!r}"


def reentrancy_error(
    name: str | None, operation: str, *, busy: bool
) -> AtomReentrancyError:
    """The error for a write that reached an atom from inside its own write."""
    source = (
        "its own update function, equals or validator"
        if busy
        else "one of its own watchers"
    )
    return AtomReentrancyError(
        f"{describe_atom(name)}.{operation}() was called from {source}; an atom "
        "cannot be written while it is computing or reporting a change. Fold the "
        "step into the update function, or write to another atom"
    )
