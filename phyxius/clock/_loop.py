"""The virtual-time event loop: asyncio's own timers on a `ControlledClock`.

`VirtualTimeEventLoop` is the standard selector loop with one change: its
time is the clock's monotonic time and its timers live in the clock's heap.
Plain ``asyncio.sleep``, ``asyncio.wait_for``, ``asyncio.timeout`` and
``loop.call_later`` in the code under test therefore follow the controlled
clock, and timers due at one instant run in the order they were scheduled.

When nothing can run, the loop decides what happens next:

* Some task waits on real work: a thread (``asyncio.to_thread``,
  ``run_in_executor``) or a subprocess. The loop waits for it in real time;
  virtual time does not move, so a virtual timeout cannot fire early.
* Some task waits on a socket or pipe and a timer is pending. The loop gives
  the I/O ``io_grace`` seconds of real time, then (in autojump mode) jumps.
* Autojump mode, a timer pending, nothing real in flight: time jumps straight
  to the next timer.
* Nothing pending that could ever wake a task (manual mode: nothing but the
  test could move time): a deadlock. The loop raises `DeadlockError`, listing
  every blocked task and the line where it waits, instead of hanging.

Work that the loop cannot see, such as a thread you started yourself that
will later call ``call_soon_threadsafe``, should be announced with
`VirtualTimeEventLoop.real_work`, or the loop may call it a deadlock.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import linecache
import math
from collections.abc import Callable, Coroutine, Iterator
from contextvars import Context
from typing import Any, Final, TypeVar, TypeVarTuple, Unpack, final

from phyxius._errors import InvalidArgumentError, PhyxiusError
from phyxius._time import NANOS_PER_SECOND, to_nanoseconds
from phyxius.clock._controlled import ControlledClock

__all__ = [
    "DEFAULT_IO_GRACE",
    "DeadlockError",
    "ReadyQueue",
    "VirtualTimeEventLoop",
    "run",
]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

DEFAULT_IO_GRACE: Final = 0.05
"""Real seconds the loop waits for socket I/O before jumping virtual time."""


class DeadlockError(PhyxiusError, RuntimeError):
    """Every task is blocked and nothing pending could ever wake one of them."""


class ReadyQueue(collections.deque[asyncio.Handle]):
    """The loop's queue of callbacks ready to run.

    The loop takes callbacks from it in first-in, first-out order. It is its
    own type so that a scheduler which reorders ready callbacks (a seeded
    simulation) can be installed by replacing `VirtualTimeEventLoop.pick_ready`.
    """


@final
class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose time is a `ControlledClock`.

    ``autojump`` (default True) lets time jump to the next timer whenever no
    task can run; with ``autojump=False`` time moves only when the code
    advances the clock. ``io_grace`` is how long, in real seconds, the loop
    waits for socket I/O before it jumps.
    """

    def __init__(
        self,
        clock: ControlledClock | None = None,
        *,
        autojump: bool = True,
        io_grace: float = DEFAULT_IO_GRACE,
    ) -> None:
        super().__init__()
        if clock is not None and not isinstance(clock, ControlledClock):
            raise InvalidArgumentError(
                f"clock={clock!r} (type={type(clock).__name__}) is not a "
                "ControlledClock; the virtual-time loop needs one to drive"
            )
        self._clock = ControlledClock() if clock is None else clock
        self._clock._attach(self)
        self._autojump = bool(autojump)
        self._io_grace = to_nanoseconds(io_grace, name="io_grace") / NANOS_PER_SECOND
        self._ready: ReadyQueue = ReadyQueue()

        # Work the loop waits for in real time rather than jumping past it.
        # Invariant: `_threads_in_flight` counts executor jobs and announced
        # `real_work` blocks that have not finished; it is only changed on the
        # loop's thread.
        self._threads_in_flight = 0
        self._subprocess_transports: list[asyncio.SubprocessTransport] = []

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

    @contextlib.contextmanager
    def real_work(self) -> Iterator[None]:
        """Announce work the loop cannot see, so it waits instead of jumping.

        Use it around a wait on something that will wake the loop from another
        thread: ``with loop.real_work(): await future_set_by_my_thread``.
        """
        self._threads_in_flight += 1
        try:
            yield
        finally:
            self._threads_in_flight -= 1

    def pick_ready(self, ready: ReadyQueue) -> asyncio.Handle:
        """Take the next callback to run; first-in, first-out."""
        return ready.popleft()

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

        The due time is computed in integer nanoseconds from the clock, not
        from a float sum, so repeated calls never drift.
        """
        if delay is None:
            raise TypeError("delay must not be None")
        delay_ns = _loop_delay_ns(delay)
        return self._schedule(self._clock._mono_ns + delay_ns, callback, args, context)

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """Schedule ``callback`` at virtual monotonic time ``when`` (seconds)."""
        if when is None:
            raise TypeError("when cannot be None")
        return self._schedule(_loop_time_ns(when), callback, args, context)

    def _schedule(
        self,
        due_ns: int,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        context: Context | None,
    ) -> asyncio.TimerHandle:
        internals: Any = self
        internals._check_closed()
        if internals._debug:
            internals._check_thread()
            internals._check_callback(callback, "call_at")
        handle = asyncio.TimerHandle(
            due_ns / NANOS_PER_SECOND, callback, args, self, context
        )
        private: Any = handle
        if private._source_traceback:
            del private._source_traceback[-1]
        private._scheduled = True
        self._clock._schedule_loop_handle(due_ns, handle)
        return handle

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        private: Any = handle
        if private._scheduled:
            self._clock._note_cancelled()

    # -- real work the loop must wait for --------------------------------------

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        """As asyncio's; virtual time stands still until the job is done."""
        future = super().run_in_executor(executor, func, *args)
        self._threads_in_flight += 1
        future.add_done_callback(self._thread_job_done)
        return future

    def _thread_job_done(self, _future: asyncio.Future[Any]) -> None:
        self._threads_in_flight -= 1

    async def shutdown_default_executor(self, *args: Any, **kwargs: Any) -> None:
        """As asyncio's; the loop waits for the executor's threads in real time."""
        with self.real_work():
            await super().shutdown_default_executor(*args, **kwargs)

    async def _make_subprocess_transport(
        self, *args: Any, **kwargs: Any
    ) -> asyncio.SubprocessTransport:
        with self.real_work():
            transport: asyncio.SubprocessTransport = (
                await super()._make_subprocess_transport(*args, **kwargs)  # type: ignore[misc]
            )
        self._subprocess_transports.append(transport)
        return transport

    def _subprocess_running(self) -> bool:
        live = [
            transport
            for transport in self._subprocess_transports
            if transport.get_returncode() is None and not transport.is_closing()
        ]
        self._subprocess_transports = live
        return bool(live)

    def _waits_on_io(self) -> bool:
        # The self-pipe that wakes the loop from other threads is always
        # registered; anything beyond it is a socket or pipe someone awaits.
        return len(self._selector.get_map()) > 1  # type: ignore[attr-defined]

    # -- the loop itself ------------------------------------------------------

    def _run_once(self) -> None:
        """One turn: decide whether to wait, poll I/O, fire due timers, run ready.

        This replaces asyncio's private method of the same name; the I/O and
        ready-queue handling is asyncio's, the timer handling is the clock's.
        """
        clock = self._clock
        ready = self._ready

        # 1. How long may the selector block, and in whose time?
        jump_to: int | None = None
        if ready or self._stopping:  # type: ignore[attr-defined]
            timeout: float | None = 0
        else:
            due_ns = clock._next_due_ns()
            if due_ns is not None and due_ns <= clock._mono_ns:
                timeout = 0
            elif self._threads_in_flight or self._subprocess_running():
                timeout = None
            elif self._waits_on_io():
                if self._autojump and due_ns is not None:
                    timeout = self._io_grace
                    jump_to = due_ns
                else:
                    timeout = None
            elif self._autojump and due_ns is not None:
                timeout = 0
                jump_to = due_ns
            else:
                raise DeadlockError(self._describe_deadlock(due_ns))

        # 2. Poll I/O; events become ready callbacks.
        event_list = self._selector.select(timeout)  # type: ignore[attr-defined]
        self._process_events(event_list)  # type: ignore[attr-defined]
        event_list = None

        # 3. Nothing arrived while we were prepared to jump: move time on.
        if jump_to is not None and not ready:
            clock._advance_by_autojump(jump_to)

        # 4. Everything due now: clock callbacks run, loop timers become ready.
        clock._fire_due()

        # 5. Run what was ready at the start of this step; callbacks they
        # schedule wait for the next turn, as in asyncio.
        handle: Any = None
        for _ in range(len(ready)):
            handle = self.pick_ready(ready)
            if handle._cancelled:
                continue
            handle._run()
        handle = None  # break reference cycles when a callback raised

    def _describe_deadlock(self, due_ns: int | None) -> str:
        tasks = [task for task in asyncio.all_tasks(self) if not task.done()]
        lines = [
            f"deadlock: {len(tasks)} task(s) blocked and nothing pending can wake "
            "them (no thread, subprocess or socket in flight"
            + (
                ", and time moves only when the test advances the clock"
                if due_ns is not None
                else ", and no timer pending"
            )
            + ")."
        ]
        for task in sorted(tasks, key=lambda t: t.get_name()):
            lines.append(f"  task {task.get_name()!r} waits at {_where_waiting(task)}")
        if due_ns is not None:
            lines.append(
                f"  next timer due at monotonic {due_ns / NANOS_PER_SECOND:g}s; "
                "advance the clock or enable autojump"
            )
        lines.append(
            "Make sure every awaited future is completed by some task, timer or "
            "thread; wrap waits on threads you started yourself in "
            "loop.real_work()."
        )
        return "\n".join(lines)

    def close(self) -> None:
        """Close the loop and detach it from its clock."""
        if not self.is_closed():
            self._clock._detach(self)
        super().close()


def _loop_delay_ns(delay: float) -> int:
    if isinstance(delay, float) and math.isnan(delay):
        raise InvalidArgumentError("delay=nan is not a delay; pass seconds")
    if delay <= 0:
        return 0
    return to_nanoseconds(delay, name="delay")


def _loop_time_ns(when: float) -> int:
    if isinstance(when, float) and not math.isfinite(when):
        raise InvalidArgumentError(f"when={when!r} is not a loop time; pass seconds")
    return round(when * NANOS_PER_SECOND)


def _where_waiting(task: asyncio.Task[Any]) -> str:
    """The innermost suspended frame of a task, as ``file:line in func: source``."""
    frame = None
    awaitable: Any = task.get_coro()
    while awaitable is not None:
        frame = (
            getattr(awaitable, "cr_frame", None)
            or getattr(awaitable, "gi_frame", None)
            or frame
        )
        awaitable = getattr(awaitable, "cr_await", None) or getattr(
            awaitable, "gi_yieldfrom", None
        )
    if frame is None:
        return "<unknown location>"
    filename = frame.f_code.co_filename
    source = linecache.getline(filename, frame.f_lineno).strip()
    return f"{filename}:{frame.f_lineno} in {frame.f_code.co_name}: {source}"


def run(
    main: Coroutine[Any, Any, _T],
    *,
    clock: ControlledClock | None = None,
    autojump: bool = True,
    io_grace: float = DEFAULT_IO_GRACE,
    debug: bool | None = None,
) -> _T:
    """Run a coroutine on a virtual-time loop and return its result.

    Shaped like `asyncio.run`: a new loop per call, closed at the end after
    cancelling leftover tasks and shutting down async generators and the
    default executor. ``clock`` defaults to a new `ControlledClock`.
    """
    if not asyncio.iscoroutine(main):
        raise InvalidArgumentError(
            f"main={main!r} is not a coroutine; call the async function: "
            "run(main()) rather than run(main)"
        )
    chosen = ControlledClock() if clock is None else clock
    with asyncio.Runner(
        debug=debug,
        loop_factory=lambda: VirtualTimeEventLoop(
            chosen, autojump=autojump, io_grace=io_grace
        ),
    ) as runner:
        return runner.run(main)
