"""Telling watchers about changes: watch handles and the delivery of one change.

Each atom has an `Outbox`: its watchers, and the changes committed but not
yet reported to them. Whichever thread finds nobody delivering becomes the
deliverer and reports every queued change, in version order, with no lock
held while a watcher runs. The module also remembers, per thread, whose
watchers are running, which is how a watcher writing to its own atom is
recognised.
"""

from __future__ import annotations

import asyncio
import collections
import reprlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypeAlias, final

from phyxius._events import (
    Emit,
    NowSource,
    describe_callable,
    emit_event,
    report_callback_error,
)
from phyxius._time import Instant
from phyxius.atom._records import Change

__all__ = [
    "Outbox",
    "Pending",
    "WatchHandle",
    "innermost_delivery",
    "plain",
    "short_repr",
]

# The atom whose watchers this thread is calling right now (the innermost
# one when watchers of several atoms are nested), or nothing. A write to
# exactly that atom comes from one of its own watchers and is refused.
_delivering_here = threading.local()

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60

_PLAIN_DEPTH: Final = 4


class _Watched(Protocol):
    def _unwatch(self, handle: WatchHandle) -> bool: ...


@final
class WatchHandle:
    """What `Atom.watch` returns: call it to stop watching.

    Calling it again is harmless; it returns True only the first time. Once
    it has returned, the watcher is not called again, except for a call that
    was already running on another thread.
    """

    __slots__ = ("_active", "_atom", "_fn")

    def __init__(self, atom: _Watched, fn: Callable[[Change[Any]], object]) -> None:
        self._atom = atom
        self._fn = fn
        # Invariant: True exactly while the handle is in its atom's watcher
        # tuple; changed only under the atom's lock.
        self._active = True

    def __call__(self) -> bool:
        """Stop watching; True when the watcher was still registered."""
        return self._atom._unwatch(self)

    @property
    def active(self) -> bool:
        """True until the watcher is removed."""
        return self._active

    @property
    def fn(self) -> Callable[[Change[Any]], object]:
        """The watcher function."""
        return self._fn

    def __repr__(self) -> str:
        state = "active" if self._active else "removed"
        return f"<WatchHandle {state} {describe_callable(self._fn)}>"


Pending: TypeAlias = tuple[Any, Any, int, int, int, object, tuple[WatchHandle, ...]]
"""A committed change waiting for delivery.

``(old, new, version_to, mono_ns, wall_ns, cause, watchers)``, where
``watchers`` are those registered when it was committed.
"""


def innermost_delivery() -> Outbox | None:
    """The outbox whose watchers this thread is calling (the innermost), or None."""
    outbox: Outbox | None = getattr(_delivering_here, "outbox", None)
    return outbox


@final
class Outbox:
    """An atom's watchers, and its committed changes on their way to them.

    The atom calls `enqueue` with its lock held, right after a commit, and
    `deliver` after releasing it when `enqueue` said so. The thread running
    `deliver` is the deliverer: it reports every queued change, in version
    order, until the queue is empty, so changes committed by other threads
    meanwhile are reported by it, after the earlier ones.
    """

    __slots__ = ("_clock", "_emit", "_name", "delivering", "pending", "watchers")

    def __init__(
        self, *, name: str | None, emit: Emit | None, clock: NowSource
    ) -> None:
        self._name = name
        self._emit = emit
        self._clock = clock
        # Replaced, never mutated, so a queued change can keep the tuple of
        # watchers registered when it was committed. Changed under the lock.
        self.watchers: tuple[WatchHandle, ...] = ()
        # Invariant: changes enter `pending` in version order under the
        # atom's lock and only the deliverer takes them out. `delivering` is
        # True exactly while some thread is the deliverer; it is set and
        # cleared under the lock, so no change is ever left with nobody to
        # deliver it.
        self.pending: collections.deque[Pending] = collections.deque()
        self.delivering = False

    def enqueue(
        self,
        old: object,
        new: object,
        version: int,
        mono_ns: int,
        wall_ns: int,
        cause: object,
    ) -> bool:
        """Queue a committed change; True when the caller must `deliver`.

        Called with the atom's lock held.
        """
        self.pending.append((old, new, version, mono_ns, wall_ns, cause, self.watchers))
        if self.delivering:
            # Another thread, or a call further up this thread's stack, is
            # delivering; it reaches this change after the earlier ones.
            return False
        self.delivering = True
        return True

    def deliver(self, lock: threading.RLock) -> None:
        """As the deliverer, report every queued change in version order.

        Called without the atom's ``lock``, which guards the queue.
        """
        pending = self.pending
        previous = getattr(_delivering_here, "outbox", None)
        _delivering_here.outbox = self
        try:
            while True:
                with lock:
                    if not pending:
                        self.delivering = False
                        return
                    entry = pending.popleft()
                self._notify(entry)
        except BaseException:
            # Only a BaseException (KeyboardInterrupt, ...) gets here: step
            # down, so that the next write delivers what is left.
            with lock:
                self.delivering = False
            raise
        finally:
            _delivering_here.outbox = previous

    def _notify(self, entry: Pending) -> None:
        """Emit ``atom.changed`` for one change, then call each of its watchers.

        A watcher that raises, or returns a coroutine, is reported as an
        ``atom.error`` event and logged; the other watchers still run.
        """
        old, new, version, mono_ns, wall_ns, cause, watchers = entry
        at = Instant(mono_ns=mono_ns, wall_ns=wall_ns)
        change = Change(old, new, version - 1, version, at, cause)

        if self._emit is not None:
            emit_event(
                self._emit,
                "atom.changed",
                _FixedNow(at),
                {
                    "atom": self._name,
                    "version_from": version - 1,
                    "version_to": version,
                    "value": plain(new),
                    "cause": plain(cause),
                },
            )

        for handle in watchers:
            # A watcher removed after this change was committed is skipped.
            if not handle._active:
                continue
            fn = handle._fn
            try:
                result = fn(change)
            except Exception as error:
                self._report(fn, error, version)
                continue
            if result is not None and asyncio.iscoroutine(result):
                result.close()
                self._report(
                    fn,
                    TypeError(
                        "atom watchers must be plain functions, but this one "
                        "returned a coroutine that nothing would await; start the "
                        "work with asyncio.ensure_future() from a plain function "
                        "instead"
                    ),
                    version,
                )

    def _report(self, fn: object, error: BaseException, version: int) -> None:
        report_callback_error(
            self._emit,
            "atom.error",
            self._clock,
            fn,
            error,
            {"atom": self._name, "version": version},
        )


def plain(value: object, depth: int = 0) -> object:
    """``value`` as plain data for an event, so the event can be journaled as JSON.

    Scalars are kept, lists, tuples and string-keyed mappings are copied
    (four levels deep), and anything else becomes a short repr.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth < _PLAIN_DEPTH:
        if isinstance(value, list | tuple):
            return [plain(item, depth + 1) for item in value]
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            return {k: plain(v, depth + 1) for k, v in value.items()}
    return _short.repr(value)


def short_repr(value: object) -> str:
    """A repr cut to a readable length, for messages."""
    return _short.repr(value)


@final
class _FixedNow:
    """Reads one fixed instant, so an event carries its commit's time."""

    __slots__ = ("_at",)

    def __init__(self, at: Instant) -> None:
        self._at = at

    def now(self) -> Instant:
        return self._at
