"""What every clock offers, and the parts both clocks share.

A `Clock` reads wall and monotonic time, sleeps, waits for a wall-clock
deadline, bounds a block with a timeout and schedules callbacks. Code that
takes a `Clock` runs unchanged on the `SystemClock` in production and on a
`ControlledClock` in tests.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, final, runtime_checkable

from phyxius._errors import InvalidArgumentError, PhyxiusError
from phyxius._events import report_callback_error
from phyxius._time import (
    Duration,
    Instant,
    WallTime,
    format_seconds,
    to_nanoseconds,
)

__all__ = [
    "Clock",
    "ClockError",
    "ClockTimeoutError",
    "DeadlineResult",
    "Handle",
    "Timeout",
    "invoke_callback",
    "reject_coroutine_result",
    "require_callable",
]


class ClockError(PhyxiusError, RuntimeError):
    """A clock was used in a way it cannot support (for example, moved backwards)."""


class ClockTimeoutError(PhyxiusError, TimeoutError):
    """A `Clock.timeout` block ran past its duration on that clock."""


@runtime_checkable
class Handle(Protocol):
    """A scheduled callback or interval that can be cancelled."""

    def cancel(self) -> bool:
        """Stop it from firing again; True when it was still pending."""
        ...

    @property
    def cancelled(self) -> bool:
        """True once `cancel` has been called."""
        ...


@final
@dataclass(frozen=True, slots=True)
class DeadlineResult:
    """How a wall-clock deadline was met.

    ``late_ns`` is how far past the deadline the clock was when the wait
    ended (zero when it ended exactly on time). A wait counts as on time when
    its lateness is within the ``tolerance`` given to `Clock.deadline`.
    """

    target_wall_ns: int
    """The deadline, in nanoseconds since the epoch."""

    fired_at: Instant
    """The clock's reading when the wait ended."""

    late_ns: int
    """Nanoseconds past the deadline; never negative."""

    tolerance_ns: int
    """Lateness up to this many nanoseconds still counts as on time."""

    @property
    def late(self) -> bool:
        """True when the deadline was missed by more than the tolerance."""
        return self.late_ns > self.tolerance_ns

    @property
    def on_time(self) -> bool:
        """True when the deadline was met within the tolerance."""
        return not self.late

    @property
    def lateness(self) -> float:
        """Lateness in seconds."""
        return self.late_ns / 1_000_000_000

    def __repr__(self) -> str:
        verdict = "late" if self.late else "on time"
        return (
            f"DeadlineResult({verdict}, late by {format_seconds(self.late_ns)}, "
            f"fired_at={self.fired_at!r})"
        )


@runtime_checkable
class Clock(Protocol):
    """The interface shared by `SystemClock` and `ControlledClock`.

    Code under test takes a ``Clock`` and never knows which one it got.
    """

    def now(self) -> Instant:
        """Read wall and monotonic time together."""
        ...

    async def sleep(self, duration: Duration) -> None:
        """Suspend the calling task for ``duration`` of monotonic time."""
        ...

    async def deadline(
        self, wall: WallTime, *, tolerance: Duration | None = None
    ) -> DeadlineResult:
        """Wait until wall time reaches ``wall``; report whether that was on time."""
        ...

    def timeout(self, duration: Duration) -> Timeout:
        """An async context manager that cancels its block after ``duration``."""
        ...

    def call_later(
        self, delay: Duration, callback: Callable[..., object], *args: object
    ) -> Handle:
        """Call ``callback(*args)`` once, ``delay`` from now."""
        ...

    def interval(
        self, every: Duration, callback: Callable[..., object], *args: object
    ) -> Handle:
        """Call ``callback(*args)`` at now + k * ``every`` for k = 1, 2, ..."""
        ...


class _TimeoutState(enum.Enum):
    CREATED = "created"
    ENTERED = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    EXITED = "finished"


@final
class Timeout:
    """Async context manager returned by `Clock.timeout`.

    It follows `asyncio.timeout` closely, with the deadline measured on the
    clock that created it: when the clock reaches the deadline, the task
    running the block is cancelled and the block raises `ClockTimeoutError`.
    A cancellation that did not come from this timeout (an outer cancel, or
    one already requested when the block began) is never turned into a
    timeout: it propagates as `asyncio.CancelledError`.
    """

    __slots__ = (
        "_cancelling",
        "_clock",
        "_delay",
        "_handle",
        "_schedule",
        "_state",
        "_task",
    )

    def __init__(
        self,
        clock: Clock,
        delay: Duration,
        schedule: Callable[[Callable[[], None]], Handle],
    ) -> None:
        self._clock = clock
        self._delay = delay
        self._schedule = schedule
        self._state = _TimeoutState.CREATED
        self._task: asyncio.Task[object] | None = None
        self._handle: Handle | None = None
        self._cancelling = 0

    def expired(self) -> bool:
        """True when the deadline passed and the block was cancelled for it."""
        return self._state in (_TimeoutState.EXPIRING, _TimeoutState.EXPIRED)

    async def __aenter__(self) -> Timeout:
        if self._state is not _TimeoutState.CREATED:
            raise ClockError(
                "this timeout was already entered; call clock.timeout() again "
                "for every block"
            )
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        if task is None:
            raise ClockError("clock.timeout() must be used inside an asyncio task")

        self._task = task
        # Remember how many cancellations were already requested, so that on
        # exit only one of *ours* is converted to a timeout (asyncio's rule).
        self._cancelling = task.cancelling()
        self._state = _TimeoutState.ENTERED
        self._handle = self._schedule(self._on_deadline)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._handle is not None
        assert self._task is not None
        self._handle.cancel()

        if self._state is _TimeoutState.EXPIRING:
            self._state = _TimeoutState.EXPIRED
            ours_only = self._task.uncancel() <= self._cancelling
            if ours_only and exc_type is asyncio.CancelledError:
                raise ClockTimeoutError(
                    f"block did not finish within {_describe_delay(self._delay)} "
                    "on its clock; allow more time or make the work faster"
                ) from exc
        else:
            self._state = _TimeoutState.EXITED

    def _on_deadline(self) -> None:
        if self._state is not _TimeoutState.ENTERED:
            return
        assert self._task is not None
        self._task.cancel()
        self._state = _TimeoutState.EXPIRING

    def __repr__(self) -> str:
        return f"<Timeout {self._state.value} delay={_describe_delay(self._delay)}>"


def _describe_delay(delay: Duration) -> str:
    # The clock validated the delay before building the Timeout.
    return format_seconds(to_nanoseconds(delay, name="duration"))


def invoke_callback(
    clock: Clock,
    emit: Callable[..., object] | None,
    callback: Callable[..., object],
    args: tuple[object, ...],
) -> None:
    """Run a timer's callback so that its failure is kept but stops nothing else.

    An exception is emitted as a ``clock.error`` event and logged; a coroutine
    returned by the callback is reported the same way, because nothing would
    ever await it.
    """
    try:
        result = callback(*args)
    except Exception as error:
        report_callback_error(emit, "clock.error", clock, callback, error)
        return
    if result is not None:
        reject_coroutine_result(clock, emit, callback, result)


def reject_coroutine_result(
    clock: Clock,
    emit: Callable[..., object] | None,
    callback: Callable[..., object],
    result: object,
) -> None:
    """Report a timer callback that returned a coroutine nothing will await."""
    if asyncio.iscoroutine(result):
        result.close()
        report_callback_error(
            emit,
            "clock.error",
            clock,
            callback,
            TypeError(
                "clock callbacks must be plain functions, but this one returned a "
                "coroutine that nothing would await; schedule "
                "`lambda: asyncio.ensure_future(coro())` instead"
            ),
        )


def require_callable(callback: object, *, name: str = "callback") -> None:
    """Reject a callback that cannot be called, before anything is scheduled."""
    if not callable(callback):
        raise InvalidArgumentError(
            f"{name}={callback!r} (type={type(callback).__name__}) is not callable; "
            "pass a function to call when the timer fires"
        )
