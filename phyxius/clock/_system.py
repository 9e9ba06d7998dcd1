"""`SystemClock`: the real clock, for production.

Monotonic time comes from `time.monotonic_ns`, wall time from `time.time_ns`.
Scheduling goes through the running asyncio event loop, whose own time is
monotonic, so `call_later`, `interval` and `timeout` need a running loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import Emit, check_emit, describe_callable, emit_event
from phyxius._time import (
    NANOS_PER_SECOND,
    Duration,
    Instant,
    WallTime,
    to_nanoseconds,
    wall_to_nanoseconds,
)
from phyxius.clock._base import (
    ClockError,
    DeadlineResult,
    Timeout,
    invoke_callback,
    require_callable,
)

__all__ = [
    "DEADLINE_RECHECK",
    "SystemClock",
    "SystemInterval",
    "SystemTimer",
    "create_system_clock",
    "default_clock",
]

DEADLINE_RECHECK: Final = 1.0
"""Longest stretch, in seconds, `SystemClock.deadline` sleeps before re-reading
wall time, so an NTP correction is noticed within a second."""

_DEFAULT_TOLERANCE_NS: Final = 10_000_000


def _running_loop(operation: str) -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise ClockError(
            f"SystemClock.{operation}() schedules on the running asyncio event "
            "loop, and none is running; call it from async code (for example "
            "inside asyncio.run)"
        ) from None


@final
class SystemTimer:
    """A callback scheduled on the `SystemClock`; cancel it with `cancel`."""

    __slots__ = ("_callback", "_clock", "_fired", "_handle")

    def __init__(self, clock: SystemClock, callback: Callable[..., object]) -> None:
        self._clock = clock
        self._callback = callback
        self._fired = False
        self._handle: asyncio.TimerHandle | None = None

    def cancel(self) -> bool:
        """Stop the callback from firing; True when it was still pending."""
        assert self._handle is not None
        if self._handle.cancelled() or self._fired:
            return False
        self._handle.cancel()
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
        return self._handle is not None and self._handle.cancelled()

    @property
    def fired(self) -> bool:
        """True once the callback has been called."""
        return self._fired

    def _fire(self, args: tuple[object, ...]) -> None:
        self._fired = True
        invoke_callback(self._clock, self._clock._emit, self._callback, args)


@final
class SystemInterval:
    """A callback repeating on the `SystemClock` at start + k * every.

    Like the controlled interval, ticks are due at fixed points from the
    start; when the process falls behind (a blocked loop), the missed ticks
    run back to back rather than being skipped.
    """

    __slots__ = (
        "_args",
        "_callback",
        "_cancelled",
        "_clock",
        "_every_ns",
        "_handle",
        "_loop",
        "_start_ns",
        "_ticks",
    )

    def __init__(
        self,
        clock: SystemClock,
        loop: asyncio.AbstractEventLoop,
        every_ns: int,
        callback: Callable[..., object],
        args: tuple[object, ...],
    ) -> None:
        self._clock = clock
        self._loop = loop
        self._every_ns = every_ns
        self._callback = callback
        self._args = args
        self._start_ns = time.monotonic_ns()
        self._ticks = 0
        self._cancelled = False
        self._handle = self._schedule_next()

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
        self._handle.cancel()
        emit_event(
            self._clock._emit,
            "clock.cancelled",
            self._clock,
            {"callback": describe_callable(self._callback), "kind": "interval"},
        )
        return True

    def _schedule_next(self) -> asyncio.TimerHandle:
        due_ns = self._start_ns + (self._ticks + 1) * self._every_ns
        delay_ns = max(0, due_ns - time.monotonic_ns())
        return self._loop.call_later(delay_ns / NANOS_PER_SECOND, self._tick)

    def _tick(self) -> None:
        self._ticks += 1
        self._handle = self._schedule_next()
        emit_event(
            self._clock._emit,
            "clock.tick",
            self._clock,
            {"callback": describe_callable(self._callback), "tick": self._ticks},
        )
        invoke_callback(self._clock, self._clock._emit, self._callback, self._args)


@final
class SystemClock:
    """The real clock: `time.monotonic_ns` and `time.time_ns`, timers on asyncio.

    ``emit`` receives an `Event` for every sleep, deadline, interval tick,
    cancellation and callback error.
    """

    __slots__ = ("_emit",)

    def __init__(self, *, emit: Emit | None = None) -> None:
        check_emit(emit)
        self._emit = emit

    def now(self) -> Instant:
        """Read wall and monotonic time."""
        return Instant(mono_ns=time.monotonic_ns(), wall_ns=time.time_ns())

    async def sleep(self, duration: Duration) -> None:
        """Suspend the calling task for ``duration`` seconds of real time."""
        duration_ns = to_nanoseconds(duration, name="duration")
        emit_event(
            self._emit, "clock.sleep_started", self, {"duration_ns": duration_ns}
        )
        await asyncio.sleep(duration_ns / NANOS_PER_SECOND)
        emit_event(
            self._emit, "clock.sleep_finished", self, {"duration_ns": duration_ns}
        )

    async def deadline(
        self, wall: WallTime, *, tolerance: Duration | None = None
    ) -> DeadlineResult:
        """Wait until wall time reaches ``wall`` and report how late that was.

        Wall time is re-read at least every `DEADLINE_RECHECK` seconds, so a
        correction of the system clock shortens or lengthens the wait.
        ``tolerance`` (default 10 ms, since a real wake-up is never exact) is
        the lateness still counted as on time.
        """
        target_ns = wall_to_nanoseconds(wall, name="wall")
        tolerance_ns = (
            _DEFAULT_TOLERANCE_NS
            if tolerance is None
            else to_nanoseconds(tolerance, name="tolerance")
        )

        now = self.now()
        while now.wall_ns < target_ns:
            remaining_s = (target_ns - now.wall_ns) / NANOS_PER_SECOND
            await asyncio.sleep(min(remaining_s, DEADLINE_RECHECK))
            now = self.now()

        result = DeadlineResult(target_ns, now, now.wall_ns - target_ns, tolerance_ns)
        emit_event(
            self._emit,
            "clock.deadline_late" if result.late else "clock.deadline_on_time",
            self,
            {"target_wall_ns": target_ns, "late_ns": result.late_ns},
        )
        return result

    def timeout(self, duration: Duration) -> Timeout:
        """Cancel the enclosed block after ``duration`` seconds of real time."""
        delay_s = to_nanoseconds(duration, name="duration") / NANOS_PER_SECOND
        return Timeout(
            self,
            duration,
            lambda fire: _LoopHandle(
                _running_loop("timeout").call_later(delay_s, fire)
            ),
        )

    def call_later(
        self, delay: Duration, callback: Callable[..., object], *args: object
    ) -> SystemTimer:
        """Call ``callback(*args)`` once, ``delay`` seconds from now, on the loop."""
        delay_ns = to_nanoseconds(delay, name="delay")
        require_callable(callback)
        loop = _running_loop("call_later")
        timer = SystemTimer(self, callback)
        timer._handle = loop.call_later(delay_ns / NANOS_PER_SECOND, timer._fire, args)
        return timer

    def interval(
        self, every: Duration, callback: Callable[..., object], *args: object
    ) -> SystemInterval:
        """Call ``callback(*args)`` at now + k * ``every`` for k = 1, 2, ..."""
        every_ns = to_nanoseconds(every, name="every")
        if every_ns == 0:
            raise InvalidArgumentError(
                f"every={every!r} is zero; an interval needs a positive period"
            )
        require_callable(callback)
        handle = SystemInterval(
            self, _running_loop("interval"), every_ns, callback, args
        )
        emit_event(
            self._emit,
            "clock.interval_set",
            self,
            {"callback": describe_callable(callback), "every_ns": every_ns},
        )
        return handle

    def __repr__(self) -> str:
        return f"<SystemClock now={self.now()!r}>"


@final
class _LoopHandle:
    """Adapts an asyncio timer handle to the `Handle` protocol."""

    __slots__ = ("_handle",)

    def __init__(self, handle: asyncio.TimerHandle) -> None:
        self._handle = handle

    def cancel(self) -> bool:
        if self._handle.cancelled():
            return False
        self._handle.cancel()
        return True

    @property
    def cancelled(self) -> bool:
        return self._handle.cancelled()


_DEFAULT_CLOCK = SystemClock()


def default_clock() -> SystemClock:
    """The shared `SystemClock` every primitive uses when given no ``clock=``."""
    return _DEFAULT_CLOCK


def create_system_clock(*, emit: Emit | None = None) -> SystemClock:
    """Create a `SystemClock`; ``emit`` receives its events."""
    return SystemClock(emit=emit)
