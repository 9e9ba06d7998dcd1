"""The records an atom hands out: `Change` for watchers, `AtomSnapshot` for readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar, final

from phyxius._time import Instant

__all__ = ["AtomSnapshot", "Change"]

_T = TypeVar("_T")


@final
@dataclass(frozen=True, slots=True)
class Change(Generic[_T]):
    """One committed change of an atom, as its watchers receive it.

    ``old`` and ``new`` are the values before and after the write (the
    design's "from" and "to"; ``from`` is a Python keyword). Versions go up by
    exactly one per change, so ``version_to == version_from + 1``. ``at`` is
    the atom's clock reading at the commit, and ``cause`` is whatever the
    writer passed as ``cause=`` (None when it passed nothing).
    """

    old: _T
    """The value before the change."""

    new: _T
    """The value after the change: the atom's value at ``version_to``."""

    version_from: int
    """The version of ``old``."""

    version_to: int
    """The version of ``new``; one more than ``version_from``."""

    at: Instant
    """When the change was committed, on the atom's clock."""

    cause: object = None
    """The ``cause=`` given to the write, or None."""


@final
@dataclass(frozen=True, slots=True)
class AtomSnapshot(Generic[_T]):
    """An atom's value together with its version and when that version was made.

    Returned by `Atom.snapshot` and, oldest first, by `Atom.get_history`.
    The three fields always belong to the same commit, which two separate
    reads of `Atom.get` and `Atom.version` cannot promise while other
    threads write.
    """

    value: _T
    """The value."""

    version: int
    """The version the value had: 0 (or the starting version) for the initial one."""

    at: Instant
    """When this version was committed (or the atom created), on its clock."""
