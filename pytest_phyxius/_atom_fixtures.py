"""The ``atom`` fixture: a factory of atoms on the test's controlled clock."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, final

import pytest

from phyxius.atom import Atom, create_atom
from phyxius.clock import ControlledClock

__all__ = ["AtomFactory", "atom"]

_T = TypeVar("_T")


class AtomFactory(Protocol):
    """The ``atom`` fixture: call it like `phyxius.atom.create_atom`."""

    def __call__(self, initial: _T, /, **options: Any) -> Atom[_T]:
        """Create an atom on the test's clock, keeping its full history by default."""
        ...


@final
class _Factory:
    __slots__ = ("_clock",)

    def __init__(self, clock: ControlledClock) -> None:
        self._clock = clock

    def __call__(self, initial: _T, /, **options: Any) -> Atom[_T]:
        options.setdefault("clock", self._clock)
        options.setdefault("history", None)
        atom: Atom[_T] = create_atom(initial, **options)
        return atom

    def __repr__(self) -> str:
        return f"<atom factory on {self._clock!r}>"


@pytest.fixture
def atom(controlled_clock: ControlledClock) -> AtomFactory:
    """A factory of atoms: ``atom(initial, **options)``, as `create_atom`.

    The atoms it makes run on the test's ``controlled_clock``, so their
    commit times and `Atom.wait_for` timeouts follow virtual time, and keep
    their whole history (``history=None``), so a test can assert every value
    an atom went through::

        def test_counts(atom):
            counter = atom(0)
            counter.update(lambda n: n + 1)
            assert [s.value for s in counter.get_history()] == [0, 1]

    Any option of `create_atom` may be given, ``clock`` and ``history``
    included. Requesting it makes an ``async def`` test run on the virtual-time
    loop.
    """
    return _Factory(controlled_clock)
