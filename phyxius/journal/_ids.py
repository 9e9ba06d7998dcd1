"""Entry ids: unique, sortable by time, and reproducible under a seed.

`SortableIds` makes ULIDs (https://github.com/ulid/spec): 26 characters of
Crockford base32 that sort as strings in the order they were made. The first
10 characters are the wall time in milliseconds, the last 16 are 80 bits that
are random at each new millisecond and count up by one within it, so ids from
one generator sort in the order it gave them out, even when many share a
millisecond or the wall clock steps back (an id never sorts before the
previous one; it reuses the previous millisecond instead).

With ``seed=`` the random bits come from `random.Random(seed)`, so the same
program on a `ControlledClock` gets the same ids on every run. Without a
seed they come from the operating system's entropy, re-drawn in a forked
child so that parent and child never hand out the same ids.
"""

from __future__ import annotations

import os
import random
import threading
import weakref
from typing import Final, Protocol, final, runtime_checkable

from phyxius._errors import InvalidArgumentError
from phyxius._time import Instant

__all__ = ["IdGenerator", "SortableIds"]

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every 10-bit value as two base32 characters, so encoding takes one table
# lookup per two characters.
_PAIRS: Final = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_RANDOM_BITS: Final = 80
_RANDOM_LIMIT: Final = 1 << _RANDOM_BITS
_MAX_MILLIS: Final = (1 << 48) - 1


@runtime_checkable
class IdGenerator(Protocol):
    """Makes the id of each new entry from the instant it is appended at.

    Ids must be unique within a journal; a journal calls its generator with
    its write lock held, so calls never overlap within one journal.
    """

    def __call__(self, at: Instant) -> str:
        """Return a new id for an entry appended at ``at``."""
        ...


_unseeded: weakref.WeakSet[SortableIds] = weakref.WeakSet()


def _reseed_after_fork() -> None:
    for generator in list(_unseeded):
        generator._reseed()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_after_fork)


@final
class SortableIds:
    """ULID generator: unique, time-sortable, reproducible with ``seed``.

    See the module documentation for the layout. Thread-safe.
    """

    __slots__ = (
        "__weakref__",
        "_lock",
        "_millis",
        "_prefix",
        "_random",
        "_rng",
        "_seed",
    )

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidArgumentError(
                f"seed={seed!r} (type={type(seed).__name__}) is not an int; pass "
                "an integer seed, or None for ids from the system's entropy"
            )
        self._seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        # Invariant: `_prefix` is the first 22 characters of the id for
        # (`_millis`, `_random`): everything but the low 20 random bits, which
        # change on every call.
        self._millis = -1
        self._random = 0
        self._prefix = ""
        if seed is None:
            _unseeded.add(self)

    @property
    def seed(self) -> int | None:
        """The seed, or None when ids come from the system's entropy."""
        return self._seed

    def __call__(self, at: Instant) -> str:
        """Return the next id for an entry appended at ``at``."""
        with self._lock:
            return self._next(at)

    def _next(self, at: Instant) -> str:
        """`__call__` without the lock, for a caller that serialises its calls.

        A journal's own default generator is called only under the journal's
        write lock, so the journal calls this directly.
        """
        millis = at.wall_ns // 1_000_000
        if not 0 <= millis <= _MAX_MILLIS:
            millis = min(max(millis, 0), _MAX_MILLIS)
        if millis <= self._millis:
            value = self._random + 1
            self._random = value
            low = value & 0xFFFFF
            if low == 0:
                # The counter carried into the cached characters.
                self._new_prefix()
        else:
            self._millis = millis
            value = self._random = self._rng.getrandbits(_RANDOM_BITS)
            low = value & 0xFFFFF
            self._new_prefix()
        return f"{self._prefix}{_PAIRS[low >> 10]}{_PAIRS[low & 1023]}"

    def _new_prefix(self) -> None:
        if self._random >= _RANDOM_LIMIT:
            # 2**80 ids in one millisecond: borrow the next millisecond.
            self._millis += 1
            self._random = 0
        self._prefix = _encode(self._millis, 5) + _encode(self._random >> 20, 6)

    def _reseed(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._millis = -1

    def __repr__(self) -> str:
        return f"SortableIds(seed={self._seed!r})"


def _encode(value: int, pairs: int) -> str:
    """``value`` as ``2 * pairs`` base32 characters, most significant first."""
    return "".join(
        _PAIRS[(value >> (10 * index)) & 1023] for index in range(pairs - 1, -1, -1)
    )
