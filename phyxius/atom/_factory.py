"""`create_atom`, the factory the README uses."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Never, TypeVar

from phyxius._events import Emit
from phyxius.atom._atom import Atom
from phyxius.clock import Clock

__all__ = ["create_atom"]

_T = TypeVar("_T")


def create_atom(
    initial: _T,
    *,
    clock: Clock | None = None,
    equals: Callable[[_T, _T], object] = operator.eq,
    history: int | None = 1,
    validator: Callable[[_T], object] | None = None,
    emit: Emit | None = None,
    name: str | None = None,
    initial_version: int = 0,
    **unknown: Never,
) -> Atom[_T]:
    """Create an `Atom` holding ``initial`` at version ``initial_version``.

    Args:
        initial: the first value (checked by ``validator``, if given).
        clock: timestamps commits and times `Atom.wait_for`; default the
            shared `SystemClock`.
        equals: ``equals(old, new)`` says whether a write changes nothing;
            default ``operator.eq``.
        history: how many snapshots `Atom.get_history` keeps, the current one
            included: 1 or more, or None to keep them all.
        validator: ``validator(value)`` returns false to refuse a value with
            `AtomValidationError`.
        emit: receives an ``atom.changed`` event per change, ``atom.rejected``
            per refused value and ``atom.error`` per failed watcher.
        name: names the atom in events, messages and its repr.
        initial_version: the version of ``initial``, 0 or more (for an atom
            restored from storage).

    Raises:
        InvalidArgumentError: an unknown option, or an option of the wrong
            kind; the message names it.
        AtomValidationError: ``validator`` rejected ``initial``.
    """
    return Atom(
        initial,
        clock=clock,
        equals=equals,
        history=history,
        validator=validator,
        emit=emit,
        name=name,
        initial_version=initial_version,
        **unknown,
    )
