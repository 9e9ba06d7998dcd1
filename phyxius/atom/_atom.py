"""`Atom`: one value, changed only by atomic writes; versions, history, watchers.

How it works (the contract users rely on is in the package docstring):

* State. ``_value``, ``_version`` and the commit time (``_mono_ns``,
  ``_wall_ns``) change only while ``_lock`` is held. `Atom.get` and
  `Atom.version` read them without it: one attribute read each. The commit
  time is kept as two integers and becomes an `Instant` only when read,
  because building one on every write would cost more than the write.
* Writes hold ``_lock`` while they compute and commit, so an update function
  runs exactly once per write and no write is lost. The lock is reentrant
  only so that a write from the atom's own update function is refused with
  `AtomReentrancyError` instead of hanging.
* Watchers are never called with ``_lock`` held. A commit queues its change
  in the atom's `Outbox`; the thread that finds nobody delivering becomes the
  deliverer and reports every queued change, in version order, until the
  queue is empty. A thread committing meanwhile only queues, and the
  deliverer reaches its change after the earlier ones. Watchers therefore
  see versions in strictly increasing order, one call at a time, and may
  write to other atoms, even in cycles across threads, without deadlock.
"""

from __future__ import annotations

import collections
import operator
import threading
from collections.abc import Callable
from time import monotonic_ns as _monotonic_ns
from time import time_ns as _time_ns
from typing import Any, Generic, Never, TypeVar, TypeVarTuple, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import Emit, describe_callable, emit_event
from phyxius._time import Duration, Instant
from phyxius.atom._errors import (
    AtomValidationError,
    describe_atom,
    reentrancy_error,
)
from phyxius.atom._notify import (
    Outbox,
    WatchHandle,
    innermost_delivery,
    plain,
    short_repr,
)
from phyxius.atom._options import check_options
from phyxius.atom._records import AtomSnapshot, Change
from phyxius.atom._wait import wait_for
from phyxius.clock import Clock, SystemClock

__all__ = ["Atom"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

# Stands for "any value" as the expectation of a plain `Atom.set`.
_ANY: Any = object()


@final
class Atom(Generic[_T]):
    """One value that changes only through atomic writes.

    `create_atom` takes the same arguments and documents them. Every committed write
    moves `version` up by one, records a snapshot in the history ring and
    tells the watchers, in registration order, with a `Change`. A write
    whose new value equals the current one (by ``equals``) changes nothing
    and tells nobody. Safe to share between OS threads and asyncio tasks;
    the package documentation states the exact guarantees.
    """

    __slots__ = (
        "__weakref__",
        "_busy",
        "_clock",
        "_emit",
        "_equals",
        "_listening",
        "_lock",
        "_mono_ns",
        "_name",
        "_outbox",
        "_ring",
        "_system_time",
        "_validator",
        "_value",
        "_version",
        "_wall_ns",
    )

    def __init__(
        self,
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
    ) -> None:
        options = check_options(
            clock=clock,
            equals=equals,
            history=history,
            validator=validator,
            emit=emit,
            name=name,
            initial_version=initial_version,
            unknown=unknown,
        )
        self._clock = options.clock
        self._equals = options.equals
        self._validator = options.validator
        self._emit = options.emit
        self._name = options.name
        if self._validator is not None and not self._validator(initial):
            raise AtomValidationError(
                f"{describe_atom(self._name)}: the validator "
                f"{describe_callable(self._validator)} rejected the initial value "
                f"{short_repr(initial)}; pass an initial value it accepts",
                value=initial,
                atom_name=self._name,
            )

        # SystemClock.now() reads these two counters; reading them here skips
        # building an Instant on every write.
        self._system_time = type(self._clock) is SystemClock
        self._lock = threading.RLock()
        # Invariant: True exactly while a thread holding `_lock` runs this
        # atom's update function, equals or validator.
        self._busy = False

        self._value = initial
        self._version = options.initial_version
        self._mono_ns, self._wall_ns = self._read_clock()

        # Invariant: with history=1 there is no ring (the current state is the
        # whole history); otherwise the ring's last entry is always the
        # current (value, version, mono_ns, wall_ns).
        self._ring: collections.deque[tuple[Any, int, int, int]] | None = None
        if options.history != 1:
            self._ring = collections.deque(maxlen=options.history)
            self._ring.append((initial, self._version, self._mono_ns, self._wall_ns))

        self._outbox = Outbox(name=self._name, emit=self._emit, clock=self._clock)
        # Invariant: True exactly when the outbox has watchers or there is an
        # emit callable, that is when a commit has someone to tell.
        self._listening = self._emit is not None

    # -- reading --------------------------------------------------------------

    def get(self) -> _T:
        """The current value. Never blocks, never waits for a writer."""
        return self._value

    @property
    def version(self) -> int:
        """The version of the current value: one more for every committed change."""
        return self._version

    @property
    def name(self) -> str | None:
        """The name given at creation, used in events and messages."""
        return self._name

    @property
    def clock(self) -> Clock:
        """The clock that timestamps commits and times `wait_for`."""
        return self._clock

    def snapshot(self) -> AtomSnapshot[_T]:
        """The current value, its version and its commit time, from one commit."""
        with self._lock:
            value, version = self._value, self._version
            mono_ns, wall_ns = self._mono_ns, self._wall_ns
        return AtomSnapshot(value, version, Instant(mono_ns=mono_ns, wall_ns=wall_ns))

    def get_history(self) -> list[AtomSnapshot[_T]]:
        """The last ``history`` snapshots, oldest first, ending with the current one.

        Never empty: it always ends with the current snapshot, which is all it
        holds with ``history=1`` or right after `clear_history`.
        """
        with self._lock:
            if self._ring is None:
                entries = [(self._value, self._version, self._mono_ns, self._wall_ns)]
            else:
                entries = list(self._ring)
        return [
            AtomSnapshot(value, version, Instant(mono_ns=mono_ns, wall_ns=wall_ns))
            for value, version, mono_ns, wall_ns in entries
        ]

    def clear_history(self) -> None:
        """Forget every snapshot but the current one; value and version stay."""
        with self._lock:
            if self._ring is not None:
                self._ring.clear()
                self._ring.append(
                    (self._value, self._version, self._mono_ns, self._wall_ns)
                )

    # -- writing --------------------------------------------------------------

    def update(
        self, fn: Callable[[_T, *_Ts], _T], /, *args: *_Ts, cause: object = None
    ) -> _T:
        """Replace the value with ``fn(value, *args)`` atomically; return the new value.

        ``fn`` runs exactly once, with the atom locked, so no other write can
        come between reading the value and committing the result. It must be
        quick and must not block or write to this atom (that raises
        `AtomReentrancyError`); it may read any atom. When the result equals
        the current value nothing changes and the current value is returned.
        An exception from ``fn``, ``equals`` or the validator propagates and
        changes nothing. ``cause`` is passed on to the watchers in the
        `Change`.

        Raises:
            AtomValidationError: the validator rejected the result.
            AtomReentrancyError: called from this atom's own update function
                or watcher.
        """
        lock = self._lock
        lock.acquire()
        if self._busy or (
            self._outbox.delivering and innermost_delivery() is self._outbox
        ):
            lock.release()
            raise reentrancy_error(self._name, "update", busy=self._busy)
        self._busy = True
        try:
            old = self._value
            try:
                # A call spreading an empty tuple costs as much as the rest
                # of the commit, and most updates pass no extra arguments.
                new = fn(old, *args) if args else fn(old)  # type: ignore[call-arg]
            except TypeError:
                if not callable(fn):
                    raise InvalidArgumentError(
                        f"fn={fn!r} (type={type(fn).__name__}) is not callable; "
                        "pass a function that takes the current value and "
                        "returns the new one"
                    ) from None
                raise
            if self._equals(old, new):
                return old
            validator = self._validator
            if validator is not None and not validator(new):
                rejected = True
            else:
                rejected = False
                # `_commit`, written out: this is the hot path.
                version = self._version + 1
                if self._system_time:
                    mono_ns = _monotonic_ns()
                    wall_ns = _time_ns()
                else:
                    now = self._clock.now()
                    mono_ns = now.mono_ns
                    wall_ns = now.wall_ns
                self._value = new
                self._version = version
                self._mono_ns = mono_ns
                self._wall_ns = wall_ns
                if self._ring is not None:
                    self._ring.append((new, version, mono_ns, wall_ns))
                deliver = self._listening and self._outbox.enqueue(
                    old, new, version, mono_ns, wall_ns, cause
                )
        finally:
            self._busy = False
            lock.release()

        if rejected:
            raise self._rejected(new)
        if deliver:
            self._outbox.deliver(lock)
        return new

    def set(self, value: _T, *, cause: object = None) -> None:
        """Replace the value with ``value``; nothing changes if they are equal.

        Raises:
            AtomValidationError: the validator rejected ``value``.
            AtomReentrancyError: called from this atom's own update function
                or watcher.
        """
        self._put("set", _ANY, value, cause)

    def compare_and_set(self, expected: _T, new: _T, *, cause: object = None) -> bool:
        """Set ``new`` only if the value equals ``expected``; return whether it does.

        Equality is the atom's ``equals``. When the value equals ``expected``
        and ``new`` equals the value too, nothing changes and the result is
        True: the atom holds what was asked for. Of several threads calling
        this at once with the same ``expected`` (and different ``new``),
        exactly one gets True.

        Raises:
            AtomValidationError: the value matched, but the validator rejected
                ``new``.
            AtomReentrancyError: called from this atom's own update function
                or watcher.
        """
        return self._put("compare_and_set", expected, new, cause)

    # -- watching and waiting ---------------------------------------------------

    def watch(self, fn: Callable[[Change[_T]], object]) -> WatchHandle:
        """Call ``fn(change)`` after every change committed from now on.

        Watchers run synchronously after the commit, in registration order,
        one call at a time, and see versions in strictly increasing order
        whichever thread wrote. ``fn`` may write to other atoms; a write to
        this atom from inside it raises `AtomReentrancyError`, and the change
        being reported stands. An exception from ``fn`` undoes nothing and
        stops no other watcher: it is emitted as an ``atom.error`` event and
        logged to ``phyxius.atom`` (under pytest, the test fails).

        Returns a `WatchHandle`: call it to stop watching. Watching the same
        function twice registers it twice.
        """
        if not callable(fn):
            raise InvalidArgumentError(
                f"fn={fn!r} (type={type(fn).__name__}) is not callable; pass a "
                "function that takes one Change"
            )
        return self._watch_and_read(fn)[0]

    async def wait_for(
        self, predicate: Callable[[_T], object], *, timeout: Duration | None = None
    ) -> _T:
        """Wait until the value satisfies ``predicate``; return that value.

        The current value is checked first. After that, ``predicate`` gets
        the value of every committed change, in the writing thread (so it must
        be quick and must not block), and the first value it accepts is
        returned, even if a later write has replaced it since. Writes may come
        from other tasks or other OS threads. An exception from ``predicate``
        is raised here.

        ``timeout`` (seconds or a `timedelta`; None waits without limit) is
        measured on the atom's clock: on a `ControlledClock` that drives the
        event loop, it passes without real time. On that loop, a write that
        will come from a thread the loop cannot see must be announced with
        ``loop.real_work()``, or virtual time may jump past the timeout first.

        Raises:
            AtomTimeoutError: ``timeout`` passed first.
        """
        return await wait_for(self, predicate, timeout)

    # -- machinery ------------------------------------------------------------

    def _watch_and_read(
        self, fn: Callable[[Change[_T]], object]
    ) -> tuple[WatchHandle, _T]:
        """Register a watcher and read the value at the same instant."""
        handle = WatchHandle(self, fn)
        with self._lock:
            self._outbox.watchers = (*self._outbox.watchers, handle)
            self._listening = True
            return handle, self._value

    def _unwatch(self, handle: WatchHandle) -> bool:
        with self._lock:
            if not handle._active:
                return False
            handle._active = False
            outbox = self._outbox
            outbox.watchers = tuple(w for w in outbox.watchers if w is not handle)
            self._listening = bool(outbox.watchers) or self._emit is not None
            return True

    def _put(self, operation: str, expected: object, new: _T, cause: object) -> bool:
        """`set` (``expected`` is `_ANY`) and `compare_and_set`."""
        lock = self._lock
        lock.acquire()
        if self._busy or (
            self._outbox.delivering and innermost_delivery() is self._outbox
        ):
            lock.release()
            raise reentrancy_error(self._name, operation, busy=self._busy)
        self._busy = True
        try:
            old = self._value
            if expected is not _ANY and not self._equals(old, expected):
                return False
            if self._equals(old, new):
                return True
            rejected = self._validator is not None and not self._validator(new)
            if not rejected:
                deliver = self._commit(old, new, cause)
        finally:
            self._busy = False
            lock.release()

        if rejected:
            raise self._rejected(new)
        if deliver:
            self._outbox.deliver(lock)
        return True

    def _read_clock(self) -> tuple[int, int]:
        if self._system_time:
            return _monotonic_ns(), _time_ns()
        now = self._clock.now()
        return now.mono_ns, now.wall_ns

    def _commit(self, old: _T, new: _T, cause: object) -> bool:
        """Make ``new`` the value; True when the caller must then deliver.

        Called with `_lock` held, after the equality and validity checks.
        """
        version = self._version + 1
        mono_ns, wall_ns = self._read_clock()

        self._value = new
        self._version = version
        self._mono_ns = mono_ns
        self._wall_ns = wall_ns
        if self._ring is not None:
            self._ring.append((new, version, mono_ns, wall_ns))

        return self._listening and self._outbox.enqueue(
            old, new, version, mono_ns, wall_ns, cause
        )

    def _rejected(self, value: object) -> AtomValidationError:
        """Report a refused write as ``atom.rejected`` and build its error."""
        assert self._validator is not None
        emit_event(
            self._emit,
            "atom.rejected",
            self._clock,
            {"atom": self._name, "version": self._version, "value": plain(value)},
        )
        return AtomValidationError(
            f"{describe_atom(self._name)}: the validator "
            f"{describe_callable(self._validator)} rejected {short_repr(value)}; "
            f"value, version ({self._version}) and history are unchanged",
            value=value,
            atom_name=self._name,
        )

    def __repr__(self) -> str:
        name = "" if self._name is None else f" {self._name!r}"
        return f"<Atom{name} version={self._version} value={short_repr(self._value)}>"
