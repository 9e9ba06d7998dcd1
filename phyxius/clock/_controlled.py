"""`ControlledClock`: a clock that moves only when a test moves it.

Time is two integers: monotonic nanoseconds, starting at 0, and an offset that
turns them into wall time. Every timer lives in one heap keyed by
``(due_ns, sequence)``, so timers due at the same instant fire in the order
they were scheduled. The heap also holds the timers of a
`VirtualTimeEventLoop` attached to this clock, which is how plain
``asyncio.sleep`` follows the controlled clock.

Thread safety: `now` may be read from any thread. Scheduling, cancelling and
advancing belong to one thread at a time (the thread running the test or its
event loop), as with an asyncio loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import (
    Emit,
    check_emit,
    describe_callable,
    emit_event,
    report_callback_error,
)
from phyxius._time import (
    Duration,
    Instant,
    WallTime,
    format_seconds,
    to_nanoseconds,
    wall_to_nanoseconds,
)
from phyxius.clock._base import (
    ClockError,
    DeadlineResult,
    Timeout,
    invoke_callback,
    reject_coroutine_result,
    require_callable,
)

if TYPE_CHECKING:
    from phyxius.clock._freeze import WallTimeFreeze
    from phyxius.clock._loop import VirtualTimeEventLoop

__all__ = [
    "DEFAULT_START",
    "ControlledClock",
    "ControlledInterval",
    "ControlledTimer",
    "PendingTimer",
    "create_controlled_clock",
]

DEFAULT_START: Final = datetime(2024, 1, 1, tzinfo=UTC)
"""Wall time at which a `ControlledClock` starts unless told otherwise."""

# Compact the heap once this many cancelled timers are in it and they make up
# more than half of it; below that, lazy deletion at the head is cheaper.
_COMPACT_MIN_CANCELLED = 64


@final
class ControlledTimer:
    """A callback scheduled on a `ControlledClock`; cancel it with `cancel`."""

    __slots__ = ("_args", "_callback", "_cancelled", "_clock", "_fired", "_public")

    def __init__(
        self,
        clock: ControlledClock,
        callback: Callable[..., object],
        args: tuple[object, ...],
        public: bool,
    ) -> None:
        self._clock = clock
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._fired = False
        # Only handles given to users report their cancellation as an event;
        # the clock's own sleeps and timeouts would drown the stream.
        self._public = public

    def cancel(self) -> bool:
        """Stop the callback from firing; True when it was still pending."""
        if self._cancelled or self._fired:
            return False
        self._cancelled = True
        self._clock._note_cancelled()
        if self._public:
            emit_event(
                self._clock._emit,
                "clock.cancelled",
                self._clock,
                {"callback": describe_callable(self._callback), "kind": "timer"},
            )
        return True

    @property
    def cancelled(self) -> bool:
        """True once `cancel` was called before the timer fired."""
        return self._cancelled

    @property
    def fired(self) -> bool:
        """True once the callback has been called."""
        return self._fired

    def _fire(self) -> None:
        self._fired = True
        # invoke_callback inlined for the common case: no error, no result.
        try:
            result = self._callback(*self._args)
        except Exception as error:
            clock = self._clock
            report_callback_error(
                clock._emit, "clock.error", clock, self._callback, error
            )
            return
        if result is not None:
            reject_coroutine_result(
                self._clock, self._clock._emit, self._callback, result
            )

    def __repr__(self) -> str:
        state = (
            "cancelled" if self._cancelled else "fired" if self._fired else "pending"
        )
        return f"<ControlledTimer {state} {describe_callable(self._callback)}>"


@final
class ControlledInterval:
    """A callback repeating on a `ControlledClock` at start + k * every.

    Each tick is scheduled from the interval's start, never from when the
    previous tick ran, so the cadence never drifts; an advance across several
    periods fires every missed tick, one by one, each at its own due time.
    """

    __slots__ = (
        "_args",
        "_callback",
        "_cancelled",
        "_clock",
        "_every_ns",
        "_next",
        "_start_ns",
        "_ticks",
    )

    def __init__(
        self,
        clock: ControlledClock,
        every_ns: int,
        callback: Callable[..., object],
        args: tuple[object, ...],
    ) -> None:
        self._clock = clock
        self._every_ns = every_ns
        self._callback = callback
        self._args = args
        self._start_ns = clock.monotonic_ns()
        self._ticks = 0
        self._cancelled = False
        self._next = self._schedule_next()

    @property
    def ticks(self) -> int:
        """How many times the callback has been called."""
        return self._ticks

    @property
    def cancelled(self) -> bool:
        """True once `cancel` was called."""
        return self._cancelled

    def cancel(self) -> bool:
        """Stop all future ticks; True when the interval was still running."""
        if self._cancelled:
            return False
        self._cancelled = True
        self._next.cancel()
        emit_event(
            self._clock._emit,
            "clock.cancelled",
            self._clock,
            {"callback": describe_callable(self._callback), "kind": "interval"},
        )
        return True

    def _schedule_next(self) -> ControlledTimer:
        due_ns = self._start_ns + (self._ticks + 1) * self._every_ns
        return self._clock._schedule_at(due_ns, self._tick, (), public=False)

    def _tick(self) -> None:
        self._ticks += 1
        # Schedule the next tick before running the callback, so that a
        # callback that raises does not end the interval.
        self._next = self._schedule_next()
        emit_event(
            self._clock._emit,
            "clock.tick",
            self._clock,
            {"callback": describe_callable(self._callback), "tick": self._ticks},
        )
        invoke_callback(self._clock, self._clock._emit, self._callback, self._args)

    def __repr__(self) -> str:
        return (
            f"<ControlledInterval every={format_seconds(self._every_ns)} "
            f"ticks={self._ticks} {describe_callable(self._callback)}>"
        )


@final
@dataclass(frozen=True, slots=True)
class PendingTimer:
    """A read-only view of one pending timer, as listed by `ControlledClock.pending`."""

    due: Instant
    """When it will fire (wall time as the clock reads it now)."""

    callback: str
    """The qualified name of the callback that will run (for an interval, the
    interval's callback; for a sleep or a loop timer, what it will wake)."""

    kind: str = "timer"
    """What scheduled it: ``"timer"`` (`call_later`), ``"interval"``,
    ``"sleep"``, ``"deadline"``, ``"timeout"`` or ``"loop"`` (a timer of an
    attached `VirtualTimeEventLoop`, such as a plain ``asyncio.sleep``)."""


_HeapItem = ControlledTimer | asyncio.TimerHandle

_heappush = heapq.heappush
_heappop = heapq.heappop
_HeapEntry = tuple[int, int, _HeapItem]


@final
class ControlledClock:
    """A clock for tests: time stands still until the test moves it.

    ``start`` is the wall time at creation (epoch seconds or an aware
    `datetime`, default `DEFAULT_START`); monotonic time starts at 0. The
    interface is the `Clock` one, plus the controls. Callbacks scheduled with
    `call_later` and `interval` run synchronously inside the advance that
    reaches them, each seeing `now` equal to its own due time. Timers of a
    `VirtualTimeEventLoop` attached to the clock share its heap: when they
    come due, their callbacks are queued on that loop, as asyncio would.
    """

    def __init__(
        self, start: WallTime = DEFAULT_START, *, emit: Emit | None = None
    ) -> None:
        self._start_wall_ns = wall_to_nanoseconds(start, name="start")
        check_emit(emit)
        self._mono_ns = 0
        self._wall_offset_ns = 0
        self._emit = emit

        # Invariant: every entry is (due_ns, sequence, item); the heap holds
        # each pending item exactly once, plus cancelled items not yet popped,
        # of which there are exactly `_cancelled_count`.
        self._heap: list[_HeapEntry] = []
        self._sequence = itertools.count()
        self._cancelled_count = 0

        # True while an advance is firing callbacks, to refuse a nested one.
        self._advancing = False
        self._loop: VirtualTimeEventLoop | None = None
        self._deadline_waiters: set[asyncio.Future[Instant]] = set()

    # -- reading --------------------------------------------------------------

    def now(self) -> Instant:
        """The current reading: wall and monotonic time."""
        mono = self._mono_ns
        return Instant(
            mono_ns=mono, wall_ns=self._start_wall_ns + mono + self._wall_offset_ns
        )

    def monotonic_ns(self) -> int:
        """Monotonic time in nanoseconds (0 at creation)."""
        return self._mono_ns

    def wall_ns(self) -> int:
        """Wall time in nanoseconds since the epoch."""
        return self._start_wall_ns + self._mono_ns + self._wall_offset_ns

    # -- scheduling -----------------------------------------------------------

    def call_later(
        self, delay: Duration, callback: Callable[..., object], *args: object
    ) -> ControlledTimer:
        """Call ``callback(*args)`` once, when the clock has moved ``delay`` on."""
        # The hot path of every test that schedules many timers: the push is
        # inlined rather than going through _schedule_at.
        delay_ns = to_nanoseconds(delay, name="delay")
        if not callable(callback):
            # Typed callers never get here; untyped ones get a clear error.
            require_callable(callback)  # type: ignore[unreachable]
        timer = ControlledTimer(self, callback, args, True)
        _heappush(self._heap, (self._mono_ns + delay_ns, next(self._sequence), timer))
        return timer

    def interval(
        self, every: Duration, callback: Callable[..., object], *args: object
    ) -> ControlledInterval:
        """Call ``callback(*args)`` at now + k * ``every`` for k = 1, 2, ..."""
        every_ns = to_nanoseconds(every, name="every")
        if every_ns == 0:
            raise InvalidArgumentError(
                f"every={every!r} is zero; an interval needs a positive period"
            )
        require_callable(callback)
        handle = ControlledInterval(self, every_ns, callback, args)
        emit_event(
            self._emit,
            "clock.interval_set",
            self,
            {"callback": describe_callable(callback), "every_ns": every_ns},
        )
        return handle

    def timeout(self, duration: Duration) -> Timeout:
        """Cancel the enclosed block once this clock has moved ``duration`` on."""
        delay_ns = to_nanoseconds(duration, name="duration")
        return Timeout(
            self,
            duration,
            lambda fire: self._schedule_at(
                self._mono_ns + delay_ns, fire, (), public=False
            ),
        )

    async def sleep(self, duration: Duration) -> None:
        """Wait until this clock has moved ``duration`` on.

        ``sleep(0)`` yields to the event loop once, like ``asyncio.sleep(0)``.
        """
        duration_ns = to_nanoseconds(duration, name="duration")
        emit_event(
            self._emit, "clock.sleep_started", self, {"duration_ns": duration_ns}
        )
        if duration_ns == 0:
            await asyncio.sleep(0)
        else:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            timer = self._schedule_at(
                self._mono_ns + duration_ns, _resolve, (waiter, None), public=False
            )
            try:
                await waiter
            finally:
                timer.cancel()
        emit_event(
            self._emit, "clock.sleep_finished", self, {"duration_ns": duration_ns}
        )

    async def deadline(
        self, wall: WallTime, *, tolerance: Duration | None = None
    ) -> DeadlineResult:
        """Wait until wall time reaches ``wall`` and report how late that was.

        The wait follows wall time: a `jump_wall` forward past the deadline
        ends it at once (late by the overshoot), one backwards makes it longer.
        ``tolerance`` (default 0) is the lateness still counted as on time.
        """
        target_ns = wall_to_nanoseconds(wall, name="wall")
        tolerance_ns = (
            0 if tolerance is None else to_nanoseconds(tolerance, name="tolerance")
        )
        loop = asyncio.get_running_loop()

        fired_at = self.now()
        while fired_at.wall_ns < target_ns:
            waiter: asyncio.Future[Instant] = loop.create_future()
            timer = self._schedule_at(
                self._mono_ns + (target_ns - fired_at.wall_ns),
                self._resolve_with_now,
                (waiter,),
                public=False,
            )
            self._deadline_waiters.add(waiter)
            try:
                fired_at = await waiter
            finally:
                self._deadline_waiters.discard(waiter)
                timer.cancel()
            if fired_at.wall_ns < target_ns:
                # Woken by a backward wall jump: time may have moved on since
                # the jump, so wait from the current reading, not the jump's.
                fired_at = self.now()

        result = DeadlineResult(
            target_ns, fired_at, fired_at.wall_ns - target_ns, tolerance_ns
        )
        emit_event(
            self._emit,
            "clock.deadline_late" if result.late else "clock.deadline_on_time",
            self,
            {"target_wall_ns": target_ns, "late_ns": result.late_ns},
        )
        return result

    # -- moving time ----------------------------------------------------------

    def advance(self, duration: Duration) -> None:
        """Move time forward by ``duration``, firing every timer due on the way.

        Timers fire in due-time order (ties in scheduling order), each seeing
        `now` equal to its own due time; timers scheduled by a callback within
        the window fire in the same advance. ``advance(0)`` fires what is due
        now. Works with no event loop; tasks woken by the timers run once the
        calling code yields (use `advance_async` to let them run at each step).
        """
        self._advance_to_ns(self._mono_ns + to_nanoseconds(duration, name="duration"))

    def advance_to(self, when: Instant | Duration) -> None:
        """Move monotonic time forward to ``when`` (an `Instant` or seconds since 0).

        Raises `InvalidArgumentError` when ``when`` is before now: monotonic
        time never goes backwards (use `jump_wall` to correct wall time).
        """
        self._advance_to_ns(self._target_ns(when))

    async def advance_async(self, duration: Duration) -> None:
        """Like `advance`, but let every woken task run before time moves on.

        At each due time the clock fires the timers, then yields to the event
        loop until nothing is left to run at that instant, so a task that
        sleeps 1 s three times wakes at 1, 2 and 3 within one ``advance_async(3)``.
        On a `VirtualTimeEventLoop` "nothing left" is exact; on another loop the
        clock yields a fixed number of times (`FOREIGN_LOOP_YIELDS`).
        """
        await self._advance_async_to_ns(
            self._mono_ns + to_nanoseconds(duration, name="duration")
        )

    async def advance_to_async(self, when: Instant | Duration) -> None:
        """`advance_to`, letting woken tasks run at each due time (`advance_async`)."""
        await self._advance_async_to_ns(self._target_ns(when))

    def jump_wall(
        self, to: WallTime | None = None, *, by: Duration | float | None = None
    ) -> None:
        """Move wall time, as an NTP correction would; monotonic time stays put.

        Give either ``to`` (epoch seconds or an aware `datetime`) or ``by``
        (seconds or a `timedelta`, negative to go back). Pending
        `deadline` waits re-check the new wall time.
        """
        if (to is None) == (by is None):
            raise InvalidArgumentError(
                f"jump_wall(to={to!r}, by={by!r}): give exactly one of `to` "
                "(a wall time) or `by` (a signed number of seconds)"
            )
        before = self.wall_ns()
        if to is not None:
            after = wall_to_nanoseconds(to, name="to")
        else:
            after = before + _signed_nanoseconds(by, name="by")
        self._wall_offset_ns += after - before

        emit_event(
            self._emit,
            "clock.wall_jumped",
            self,
            {"from_wall_ns": before, "to_wall_ns": after, "by_ns": after - before},
        )
        now = self.now()
        for waiter in list(self._deadline_waiters):
            if not waiter.done():
                waiter.set_result(now)

    # -- wall time for code that reads it directly ----------------------------

    def freeze_wall_time(
        self, *, backend: str = "freezegun", ignore: Iterable[str] = ()
    ) -> WallTimeFreeze:
        """Make ``datetime.now()``, ``time.time()`` and friends read this clock.

        Returns a context manager: inside ``with clock.freeze_wall_time():``,
        ``datetime.now()``, ``datetime.now(tz)``, ``datetime.utcnow()``,
        ``date.today()``, ``time.time()``, ``time.time_ns()``,
        ``time.localtime()`` and ``time.gmtime()`` return this clock's wall
        time, in every thread, following every advance and `jump_wall`.
        ``backend`` is ``"freezegun"`` (default) or ``"time-machine"``;
        ``ignore`` adds module-name prefixes whose calls keep real time
        (freezegun only). See `phyxius.clock.WallTimeFreeze`.
        """
        from phyxius.clock._freeze import WallTimeFreeze

        return WallTimeFreeze(self, backend=backend, ignore=ignore)

    # -- inspecting -----------------------------------------------------------

    def pending(self) -> list[PendingTimer]:
        """Every timer still to fire, in firing order."""
        offset = self._start_wall_ns + self._wall_offset_ns
        return [
            PendingTimer(
                Instant(mono_ns=due, wall_ns=offset + due), *_describe_item(item)
            )
            for due, _, item in sorted(self._heap)
            if not item._cancelled
        ]

    def next_due(self) -> Instant | None:
        """When the next pending timer fires, or None when nothing is pending."""
        due = self._next_due_ns()
        if due is None:
            return None
        return Instant(
            mono_ns=due, wall_ns=self._start_wall_ns + self._wall_offset_ns + due
        )

    def __repr__(self) -> str:
        return f"<ControlledClock now={self.now()!r} pending={len(self.pending())}>"

    # -- machinery shared with the virtual-time loop --------------------------

    def _schedule_at(
        self,
        due_ns: int,
        callback: Callable[..., object],
        args: tuple[object, ...],
        *,
        public: bool,
    ) -> ControlledTimer:
        timer = ControlledTimer(self, callback, args, public)
        _heappush(self._heap, (due_ns, next(self._sequence), timer))
        return timer

    def _schedule_loop_handle(self, due_ns: int, handle: asyncio.TimerHandle) -> None:
        _heappush(self._heap, (due_ns, next(self._sequence), handle))

    def _note_cancelled(self) -> None:
        self._cancelled_count += 1
        heap = self._heap
        if (
            self._cancelled_count >= _COMPACT_MIN_CANCELLED
            and self._cancelled_count * 2 > len(heap)
        ):
            for _, _, item in heap:
                if item._cancelled and isinstance(item, asyncio.TimerHandle):
                    item._scheduled = False  # type: ignore[attr-defined]
            # In place: an advance in progress holds this very list, and a
            # callback may have cancelled the timers that trigger this.
            heap[:] = [entry for entry in heap if not entry[2]._cancelled]
            heapq.heapify(heap)
            self._cancelled_count = 0

    def _next_due_ns(self) -> int | None:
        heap = self._heap
        while heap and heap[0][2]._cancelled:
            self._drop_head()
        return heap[0][0] if heap else None

    def _drop_head(self) -> None:
        _, _, item = _heappop(self._heap)
        self._cancelled_count -= 1
        if isinstance(item, asyncio.TimerHandle):
            item._scheduled = False  # type: ignore[attr-defined]

    def _fire_due(self) -> None:
        """Fire everything due at or before now, without moving time."""
        heap = self._heap
        now = self._mono_ns
        while heap and heap[0][0] <= now:
            _, _, item = _heappop(heap)
            if item._cancelled:
                self._cancelled_count -= 1
                continue
            self._dispatch(item)

    def _dispatch(self, item: _HeapItem) -> None:
        if type(item) is ControlledTimer:
            item._fire()
            return
        # An asyncio timer of the attached loop: queue it as the loop would.
        assert self._loop is not None, "loop timer in a clock with no loop"
        private: Any = item
        private._scheduled = False
        self._loop._ready.append(item)

    def _advance_to_ns(self, target_ns: int) -> None:
        if self._advancing:
            raise ClockError(
                "advance() was called from inside a timer callback of the same "
                "clock; schedule the move from outside the callback instead"
            )
        start_ns = self._mono_ns
        self._advancing = True
        try:
            # The hot loop of every advance: names are local and a timer's
            # callback is called here rather than through ControlledTimer._fire.
            heap = self._heap
            pop = _heappop
            timer_type = ControlledTimer
            # Only this loop moves time while it runs (a nested advance is
            # refused above), so "now" can live in a local.
            now_ns = self._mono_ns
            while heap and heap[0][0] <= target_ns:
                due_ns, _, item = pop(heap)
                if item._cancelled:
                    self._cancelled_count -= 1
                    continue
                if due_ns > now_ns:
                    self._mono_ns = now_ns = due_ns
                if type(item) is not timer_type:
                    self._dispatch(item)
                    continue
                item._fired = True
                try:
                    result = item._callback(*item._args)
                except Exception as error:
                    report_callback_error(
                        self._emit, "clock.error", self, item._callback, error
                    )
                else:
                    if result is not None:
                        reject_coroutine_result(
                            self, self._emit, item._callback, result
                        )
            self._mono_ns = target_ns
        finally:
            self._advancing = False
        self._emit_advanced(start_ns, autojump=False)

    async def _advance_async_to_ns(self, target_ns: int) -> None:
        start_ns = self._mono_ns
        while True:
            self._fire_due()
            await self._settle()
            due_ns = self._next_due_ns()
            if due_ns is None or due_ns > target_ns:
                break
            self._mono_ns = max(self._mono_ns, due_ns)
        # Another task may have moved the clock further while we yielded.
        self._mono_ns = max(self._mono_ns, target_ns)
        self._emit_advanced(start_ns, autojump=False)

    async def _settle(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            # Our own loop: yield until nothing else is ready at this instant.
            # Tasks that keep rescheduling themselves get SETTLE_LIMIT turns
            # per instant before time moves on anyway.
            for _ in range(SETTLE_LIMIT):
                await asyncio.sleep(0)
                due = self._next_due_ns()
                if not loop._ready and (due is None or due > self._mono_ns):
                    return
            return
        for _ in range(FOREIGN_LOOP_YIELDS):
            await asyncio.sleep(0)
            self._fire_due()

    def _advance_by_autojump(self, due_ns: int) -> None:
        start_ns = self._mono_ns
        if due_ns > start_ns:
            self._mono_ns = due_ns
            self._emit_advanced(start_ns, autojump=True)

    def _emit_advanced(self, start_ns: int, *, autojump: bool) -> None:
        if self._emit is not None:
            emit_event(
                self._emit,
                "clock.advanced",
                self,
                {"by_ns": self._mono_ns - start_ns, "autojump": autojump},
            )

    def _target_ns(self, when: Instant | Duration) -> int:
        if isinstance(when, Instant):
            target_ns = when.mono_ns
        else:
            target_ns = to_nanoseconds(when, name="when")
        if target_ns < self._mono_ns:
            raise InvalidArgumentError(
                f"when={when!r} is {format_seconds(self._mono_ns - target_ns)} before "
                f"now (monotonic {format_seconds(self._mono_ns)}); monotonic time "
                "never goes backwards: use jump_wall() to move wall time back"
            )
        return target_ns

    def _resolve_with_now(self, waiter: asyncio.Future[Instant]) -> None:
        if not waiter.done():
            waiter.set_result(self.now())

    def _attach(self, loop: VirtualTimeEventLoop) -> None:
        if (
            self._loop is not None
            and self._loop is not loop
            and not self._loop.is_closed()
        ):
            raise ClockError(
                "this ControlledClock already drives another open event loop; "
                "close that loop first or give each loop its own clock"
            )
        self._loop = loop

    def _detach(self, loop: VirtualTimeEventLoop) -> None:
        if self._loop is loop:
            self._heap = [
                entry for entry in self._heap if type(entry[2]) is ControlledTimer
            ]
            heapq.heapify(self._heap)
            self._cancelled_count = sum(
                1 for entry in self._heap if entry[2]._cancelled
            )
            self._loop = None


SETTLE_LIMIT: Final = 10_000
"""Most event-loop turns `advance_async` waits for woken tasks at one instant."""

FOREIGN_LOOP_YIELDS: Final = 20
"""Turns `advance_async` yields at each instant on a loop that is not virtual-time."""


def create_controlled_clock(
    start: WallTime = DEFAULT_START, *, emit: Emit | None = None
) -> ControlledClock:
    """Create a `ControlledClock` starting at wall time ``start``."""
    return ControlledClock(start, emit=emit)


def _resolve(waiter: asyncio.Future[Any], value: object) -> None:
    if not waiter.done():
        waiter.set_result(value)


def _signed_nanoseconds(value: object, *, name: str) -> int:
    if isinstance(value, timedelta):
        negative = value < timedelta(0)
        return (
            -to_nanoseconds(-value, name=name)
            if negative
            else to_nanoseconds(value, name=name)
        )
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return -to_nanoseconds(-value, name=name)
    return to_nanoseconds(value, name=name)


def _describe_item(item: _HeapItem) -> tuple[str, str]:
    """Name what a heap entry will run, and what kind of wait scheduled it."""
    if not isinstance(item, ControlledTimer):
        return describe_callable(item._callback), "loop"  # type: ignore[attr-defined]
    callback = item._callback
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, ControlledInterval):
        return describe_callable(owner._callback), "interval"
    if isinstance(owner, Timeout):
        return describe_callable(callback), "timeout"
    if callback is _resolve:
        return "sleep", "sleep"
    if getattr(callback, "__func__", None) is ControlledClock._resolve_with_now:
        return "deadline", "deadline"
    return describe_callable(callback), "timer"
