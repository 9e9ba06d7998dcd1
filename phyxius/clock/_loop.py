"""The virtual-time event loop: asyncio's own timers on a `ControlledClock`.

`VirtualTimeEventLoop` is the standard selector loop with one change: its
time is the clock's monotonic time and its timers live in the clock's heap,
keyed by ``(due time in integer nanoseconds, scheduling order)``. Plain
``asyncio.sleep``, ``asyncio.wait_for``, ``asyncio.timeout`` and
``loop.call_later`` in the code under test therefore follow the controlled
clock; timers due at one instant run in the order they were scheduled (clock
timers from ``clock.call_later`` and loop timers alike), and everything due at
one instant runs before time moves on.

When no callback is ready, the loop decides what happens next, in this order:

1. A timer is already due (scheduled in the past, or reached by an advance):
   it fires now; time does not move.
2. Real work is in flight (see `RealWorkLoop`): an executor job
   (``run_in_executor``, ``asyncio.to_thread``, ``getaddrinfo``), a
   subprocess that is starting, awaited (``proc.wait()``, ``communicate()``)
   or has an open stdout or stderr pipe, or a block announced with
   `VirtualTimeEventLoop.real_work`. The loop waits for it in real time and
   virtual time stands still, so a 50 ms thread job finishes before a 1 s
   virtual timeout can fire.
3. A socket or pipe is open (a connection; a listening server socket alone
   does not count). With autojump and a timer pending, the loop gives the
   I/O ``io_grace`` real seconds, then jumps; otherwise it waits for the I/O.
4. Autojump, a timer pending: time jumps straight to that timer.
5. Otherwise nothing could ever wake a task: a deadlock. Instead of hanging,
   the loop raises `DeadlockError` inside every blocked task, at the await
   where it waits, listing every blocked task and that line.

Work the loop cannot see, such as a thread you started yourself that will
later call ``call_soon_threadsafe``, should be announced with
`VirtualTimeEventLoop.real_work`, or the loop may jump past it or call it a
deadlock.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import heapq
import logging
import math
import numbers
import time
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import (
    Any,
    Final,
    Protocol,
    TypeVar,
    TypeVarTuple,
    Unpack,
    final,
    runtime_checkable,
)

from phyxius._errors import InvalidArgumentError, InvalidDurationError
from phyxius._time import NANOS_PER_SECOND, to_nanoseconds
from phyxius.clock._controlled import ControlledClock, ControlledTimer
from phyxius.clock._deadlock import DeadlockError, claim_deadlock, describe_deadlock
from phyxius.clock._real_work import RealWorkLoop

__all__ = [
    "DEFAULT_IO_GRACE",
    "ReadyScheduler",
    "VirtualTimeEventLoop",
    "run",
]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

DEFAULT_IO_GRACE: Final = 0.05
"""Real seconds the loop waits for socket I/O before jumping virtual time."""

# A tuple, not a module attribute holding the function: freezegun replaces
# every module attribute that *is* a real time function, and the loop's slow
# callback report must keep measuring real time under a frozen wall clock.
_REAL_CLOCK: Final = (time.perf_counter,)

_logger = logging.getLogger("asyncio")


@runtime_checkable
class ReadyScheduler(Protocol):
    """Chooses the order in which the callbacks ready in one loop turn run.

    The loop takes every callback that is ready at the start of a turn (tasks
    to resume, timers that came due, I/O callbacks), hands the batch to
    `order`, then runs it front to back. Callbacks those schedule wait for the
    next turn, as in asyncio. Without a scheduler the batch runs in
    first-in, first-out order; a seeded scheduler that shuffles it explores
    other legal interleavings reproducibly.
    """

    def order(self, batch: list[asyncio.Handle]) -> None:
        """Reorder ``batch`` in place; it is never empty."""
        ...


@final
class VirtualTimeEventLoop(RealWorkLoop):
    """An asyncio event loop whose time is a `ControlledClock`.

    ``clock`` defaults to a new `ControlledClock`; a clock drives one open
    loop at a time. ``autojump`` (default True) lets time jump to the next
    timer whenever no task can run; with ``autojump=False`` time moves only
    when the code advances the clock (``await clock.advance_async(...)``).
    ``io_grace`` is how long, in real seconds, the loop waits for socket I/O
    before it jumps. ``scheduler`` reorders each turn's ready callbacks (see
    `ReadyScheduler`); the default is first-in, first-out.
    """

    # asyncio's own queue of ready callbacks, declared for the type checker;
    # the clock appends to it when a loop timer comes due.
    _ready: collections.deque[asyncio.Handle]

    def __init__(
        self,
        clock: ControlledClock | None = None,
        *,
        autojump: bool = True,
        io_grace: float = DEFAULT_IO_GRACE,
        scheduler: ReadyScheduler | None = None,
    ) -> None:
        # Everything is checked before the selector and self-pipe exist, so a
        # bad argument leaks no file descriptor; and until they exist the
        # loop counts as closed, so that asyncio's __del__ of a loop that
        # failed here has nothing to complain about.
        self._closed = True
        if clock is not None and not isinstance(clock, ControlledClock):
            raise InvalidArgumentError(
                f"clock={clock!r} (type={type(clock).__name__}) is not a "
                "ControlledClock; pass one (create_controlled_clock()) or None"
            )
        grace_ns = to_nanoseconds(io_grace, name="io_grace")
        if scheduler is not None and not callable(getattr(scheduler, "order", None)):
            raise InvalidArgumentError(
                f"scheduler={scheduler!r} (type={type(scheduler).__name__}) has no "
                "order(batch) method; pass a ReadyScheduler or None"
            )
        chosen = ControlledClock() if clock is None else clock
        chosen._attach(self)
        try:
            super().__init__()
        except BaseException:
            chosen._detach(self)
            raise

        self._clock = chosen
        self._autojump = bool(autojump)
        self._io_grace = grace_ns / NANOS_PER_SECOND
        self._scheduler = scheduler

        # True once this run_forever has failed its tasks with a deadlock; a
        # second deadlock in the same run is raised from the loop itself.
        self._deadlock_raised = False

    # -- public ---------------------------------------------------------------

    @property
    def clock(self) -> ControlledClock:
        """The clock this loop runs on."""
        return self._clock

    @property
    def autojump(self) -> bool:
        """Whether time jumps to the next timer when no task can run."""
        return self._autojump

    @autojump.setter
    def autojump(self, value: bool) -> None:
        self._autojump = bool(value)

    @property
    def io_grace(self) -> float:
        """Real seconds the loop waits for socket I/O before jumping."""
        return self._io_grace

    @property
    def scheduler(self) -> ReadyScheduler | None:
        """The scheduler ordering each turn's ready callbacks, if any."""
        return self._scheduler

    # -- time -----------------------------------------------------------------

    def time(self) -> float:
        """The clock's monotonic time in seconds."""
        return self._clock._mono_ns / NANOS_PER_SECOND

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """Schedule ``callback`` ``delay`` virtual seconds from now.

        The due time is the clock's integer nanoseconds plus the delay, never
        a float sum, so repeated calls do not drift. A delay of zero or less
        fires at the next turn without moving time; ``math.inf`` never fires.
        """
        # Every asyncio.sleep comes through here: whole seconds take the
        # short path, the rest go through the exact parser.
        if type(delay) is int and delay >= 0:
            delay_ns: int | None = delay * NANOS_PER_SECOND
        elif delay is None:
            raise TypeError("delay must not be None")
        else:
            delay_ns = _delay_ns(delay)
        due_ns = None if delay_ns is None else self._clock._mono_ns + delay_ns
        return self._schedule(due_ns, callback, args, context)

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """Schedule ``callback`` at virtual monotonic time ``when`` (seconds).

        A time in the past fires at the next turn without moving time (time
        never goes backwards); ``math.inf`` never fires.
        """
        if when is None:
            raise TypeError("when cannot be None")
        return self._schedule(_when_ns(when), callback, args, context)

    def _schedule(
        self,
        due_ns: int | None,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        context: Context | None,
    ) -> asyncio.TimerHandle:
        internals: Any = self
        if internals._closed:
            raise RuntimeError("Event loop is closed")
        if internals._debug:
            internals._check_thread()
            internals._check_callback(callback, "call_at")
        when = math.inf if due_ns is None else due_ns / NANOS_PER_SECOND
        handle = asyncio.TimerHandle(when, callback, args, self, context)
        private: Any = handle
        if private._source_traceback:
            del private._source_traceback[-1]
        if due_ns is not None:
            # A timer at infinity is never pushed: it can only be cancelled.
            # The push is the clock's _schedule_loop_handle, inlined: this is
            # the path of every asyncio.sleep.
            private._scheduled = True
            clock = self._clock
            heapq.heappush(clock._heap, (due_ns, next(clock._sequence), handle))
        return handle

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        private: Any = handle
        if private._scheduled:
            self._clock._note_cancelled()

    # -- the loop itself ------------------------------------------------------

    def _run_once(self) -> None:
        """One turn: decide whether to wait, poll I/O, fire due timers, run ready.

        This replaces asyncio's private method of the same name: the I/O
        polling is asyncio's, the timers are the clock's, and the decision of
        how long to wait is the module docstring's rule.
        """
        clock = self._clock
        ready = self._ready

        # 1. How long may the selector block, and may time jump afterwards?
        jump_to: int | None = None
        timeout: float | None = 0
        if not ready and not self._stopping:  # type: ignore[attr-defined]
            due_ns = clock._next_due_ns()
            if due_ns is not None and due_ns <= clock._mono_ns:
                timeout = 0
            elif self.real_work_in_flight():
                timeout = None
            else:
                io, listening = self._io_in_flight()
                if io:
                    if self._autojump and due_ns is not None:
                        timeout = self._io_grace
                        jump_to = due_ns
                    else:
                        timeout = None
                elif self._autojump and due_ns is not None:
                    jump_to = due_ns
                else:
                    self._fail_deadlock(due_ns, listening)

        # 2. Poll I/O; events become ready callbacks.
        event_list = self._selector.select(timeout)  # type: ignore[attr-defined]
        self._process_events(event_list)  # type: ignore[attr-defined]
        event_list = None

        # 3. Nothing arrived while we were prepared to jump: move time on.
        if jump_to is not None and not ready:
            clock._advance_by_autojump(jump_to)

        # 4. Everything due now joins the ready queue in (due, sequence) order.
        self._collect_due()

        # 5. Run what is ready now; callbacks they schedule wait for the next
        # turn, as in asyncio.
        count = len(ready)
        if not count:
            return
        if self._scheduler is None and not self._debug:  # type: ignore[attr-defined]
            popleft = ready.popleft
            for _ in range(count):
                handle = popleft()
                if not handle._cancelled:
                    handle._run()
            return
        batch = [ready.popleft() for _ in range(count)]
        if self._scheduler is not None:
            self._scheduler.order(batch)
        self._run_batch(batch)

    def _fail_deadlock(self, due_ns: int | None, listening: int) -> None:
        """Fail every blocked task with `DeadlockError`, or raise it from the loop.

        The error is raised inside each blocked task, at the await where it
        waits, so that a traceback points at the user's own line and cleanup
        code (``finally``, ``async with``) runs. That is done once per
        ``run_forever``: if the tasks swallow the error and block again, or if
        no task waits on a future that can fail (tasks awaiting each other in
        a cycle), the loop raises the error itself.
        """
        tasks = [task for task in asyncio.all_tasks(self) if not task.done()]
        error = describe_deadlock(tasks, next_due_ns=due_ns, listening=listening)
        if self._deadlock_raised:
            raise error
        self._deadlock_raised = True

        woken = False
        for task in tasks:
            waiter: Any = getattr(task, "_fut_waiter", None)
            # A task waiting on another task fails when that one does.
            if waiter is None or waiter.done() or isinstance(waiter, asyncio.Task):
                continue
            copy = DeadlockError(str(error), error.blocked)
            waiter.set_exception(copy)
            task.add_done_callback(functools.partial(claim_deadlock, copy))
            woken = True
        if not woken:
            raise error

    def run_forever(self) -> None:
        """As asyncio's; each run may fail its blocked tasks with a deadlock once."""
        self._deadlock_raised = False
        super().run_forever()

    def _collect_due(self) -> None:
        """Move every timer due at or before now onto the ready queue.

        Clock timers (``clock.call_later``, intervals, ``clock.sleep``) are
        queued as callbacks too, rather than run on the spot, so that they and
        the loop's timers run in one order: due time, then scheduling order.
        """
        clock = self._clock
        heap = clock._heap
        now = clock._mono_ns
        ready = self._ready
        while heap and heap[0][0] <= now:
            item: Any = heapq.heappop(heap)[2]
            if item._cancelled:
                clock._cancelled_count -= 1
                if type(item) is asyncio.TimerHandle:
                    item._scheduled = False  # type: ignore[attr-defined]
                continue
            if type(item) is ControlledTimer:
                # The timer left the heap: from now on it counts as fired, so
                # a late cancel() reports False and the clock's count of
                # cancelled heap entries stays exact.
                item._fired = True
                ready.append(asyncio.Handle(item._fire, (), self, None))
            else:
                item._scheduled = False
                ready.append(item)

    def _run_batch(self, batch: list[Any]) -> None:
        internals: Any = self
        if not internals._debug:
            for handle in batch:
                if not handle._cancelled:
                    handle._run()
            return

        # asyncio's debug mode: name the running handle, and report callbacks
        # that hold the loop too long - in real time, the only time in which
        # a callback can be slow.
        perf_counter = _REAL_CLOCK[0]
        for handle in batch:
            if handle._cancelled:
                continue
            internals._current_handle = handle
            try:
                started = perf_counter()
                handle._run()
                took = perf_counter() - started
                if took >= self.slow_callback_duration:
                    _logger.warning("Executing %r took %.3f real seconds", handle, took)
            finally:
                internals._current_handle = None

    def close(self) -> None:
        """Close the loop and detach it from its clock."""
        if not self.is_closed():
            self._clock._detach(self)
        super().close()


def _delay_ns(delay: object) -> int | None:
    """A loop delay in nanoseconds: 0 for now or the past, None for never.

    asyncio accepts any real number here, negative ones included, so this
    does too; only what asyncio itself could not schedule is refused.
    """
    if isinstance(delay, int):
        return delay * NANOS_PER_SECOND if delay > 0 else 0
    if not isinstance(delay, numbers.Real):
        raise InvalidDurationError(
            f"delay={delay!r} (type={type(delay).__name__}) is not a delay; "
            "pass seconds as an int or float"
        )
    seconds = float(delay)
    if math.isnan(seconds):
        raise InvalidDurationError(
            f"delay={delay!r} is not a number; pass seconds as an int or float"
        )
    if seconds == math.inf:
        return None
    if seconds <= 0:
        return 0
    if seconds < 1e6:
        # The fast path of every float sleep. Below a million seconds the
        # float product is within a thousandth of a nanosecond of the exact
        # decimal one, so when it is that close to a whole number, that
        # number is exactly what the decimal parser would return.
        scaled = seconds * NANOS_PER_SECOND
        nearest = round(scaled)
        if abs(scaled - nearest) < 1e-3:
            return nearest
    return to_nanoseconds(seconds, name="delay")


def _when_ns(when: object) -> int | None:
    """A loop time in nanoseconds, rounded to the nearest; None for never."""
    if not isinstance(when, numbers.Real):
        raise InvalidDurationError(
            f"when={when!r} (type={type(when).__name__}) is not a loop time; "
            "pass seconds as an int or float, as from loop.time()"
        )
    seconds = float(when)
    if math.isnan(seconds) or seconds == -math.inf:
        raise InvalidDurationError(
            f"when={when!r} is not a loop time; pass a finite number of seconds"
        )
    nanos = seconds * NANOS_PER_SECOND
    if nanos == math.inf:
        return None
    # Rounded, not truncated: loop.time() + 0.3 may be 0.30000000000000004 or
    # 0.29999999999999998, and both mean 300 ms.
    return round(nanos)


def run(
    main: Coroutine[Any, Any, _T],
    *,
    clock: ControlledClock | None = None,
    autojump: bool = True,
    io_grace: float = DEFAULT_IO_GRACE,
    scheduler: ReadyScheduler | None = None,
    debug: bool | None = None,
) -> _T:
    """Run a coroutine on a virtual-time loop and return its result.

    Shaped like `asyncio.run`: a new loop per call, closed at the end after
    cancelling leftover tasks and shutting down async generators and the
    default executor. ``clock`` defaults to a new `ControlledClock`; the other
    arguments are those of `VirtualTimeEventLoop`. Raises `DeadlockError` when
    every task blocks with nothing left that could wake one.
    """
    if not asyncio.iscoroutine(main):
        raise InvalidArgumentError(
            f"main={main!r} (type={type(main).__name__}) is not a coroutine; call "
            "the async function: run(main()) rather than run(main)"
        )
    try:
        if clock is not None and not isinstance(clock, ControlledClock):
            raise InvalidArgumentError(
                f"clock={clock!r} (type={type(clock).__name__}) is not a "
                "ControlledClock; pass one (create_controlled_clock()) or None"
            )
        to_nanoseconds(io_grace, name="io_grace")
    except BaseException:
        # The coroutine will never run; close it so that Python does not warn
        # that it was never awaited, on top of the error.
        main.close()
        raise

    chosen = ControlledClock() if clock is None else clock
    with asyncio.Runner(
        debug=debug,
        loop_factory=lambda: VirtualTimeEventLoop(
            chosen, autojump=autojump, io_grace=io_grace, scheduler=scheduler
        ),
    ) as runner:
        return runner.run(main)
