"""What the virtual-time loop counts as real work: things it must wait for.

A virtual-time loop may move time only when nothing real is going on, or it
would fire a virtual timeout before a thread or a subprocess had a chance to
answer. `RealWorkLoop` is the selector loop that keeps track of that work:

* executor jobs (``run_in_executor``, and so ``asyncio.to_thread`` and
  ``getaddrinfo``), from submission until their future is done;
* subprocesses while they start, while a task waits for them to exit, and
  while their stdout or stderr pipe is open;
* blocks announced with `RealWorkLoop.real_work`;
* open sockets and pipes, which the loop treats separately (see
  `RealWorkLoop._io_in_flight`): a peer may or may not ever answer, so they
  get a grace period rather than an unbounded wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from asyncio import selector_events
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

__all__ = ["RealWorkLoop"]

_T = TypeVar("_T")

# What a listening socket's reader calls; see `RealWorkLoop._io_in_flight`.
_ACCEPT: Final = selector_events.BaseSelectorEventLoop._accept_connection  # type: ignore[attr-defined]


class RealWorkLoop(asyncio.SelectorEventLoop):
    """A selector event loop that knows which real work is in flight.

    It behaves exactly as asyncio's; `VirtualTimeEventLoop` consults
    `real_work_in_flight` and `_io_in_flight` before moving virtual time.
    """

    def __init__(self) -> None:
        super().__init__()

        # Invariant: `_real_work` counts unfinished executor jobs and open
        # `real_work()` blocks; it changes only on the loop's thread.
        self._real_work = 0
        self._subprocess_transports: list[asyncio.SubprocessTransport] = []

    @contextlib.contextmanager
    def real_work(self) -> Iterator[None]:
        """Announce work the loop cannot see, so it waits instead of jumping.

        While the block is open, virtual time stands still whenever nothing
        else can run, and the loop waits in real time for a wake-up from
        another thread. Use it around a wait on something completed from
        outside the loop: ``with loop.real_work(): await future_set_by_thread``.
        Call it on the loop's thread.
        """
        self._real_work += 1
        try:
            yield
        finally:
            self._real_work -= 1

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        """As asyncio's; virtual time stands still until the job is done."""
        future = super().run_in_executor(executor, func, *args)
        self._real_work += 1
        future.add_done_callback(self._executor_job_done)
        return future

    def _executor_job_done(self, _future: asyncio.Future[Any]) -> None:
        self._real_work -= 1

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

    def _subprocess_awaited(self) -> bool:
        """Whether a running subprocess of this loop is real work.

        It is while a task waits for it to exit (``proc.wait()``,
        ``communicate()``) or while its stdout or stderr pipe is open, since
        output may still come. A process started with neither pipe and left
        running in the background (a server the test talks to over a socket)
        does not stop time.
        """
        live = []
        awaited = False
        for transport in self._subprocess_transports:
            if transport.get_returncode() is not None:
                continue
            live.append(transport)
            if awaited:
                continue
            # asyncio keeps the futures of proc.wait() in `_exit_waiters`;
            # without that list (another implementation), a running process
            # counts as awaited, which errs on the side of waiting.
            waiters = getattr(transport, "_exit_waiters", None)
            awaited = (
                waiters is None
                or any(not waiter.done() for waiter in waiters)
                or any(
                    pipe is not None and not pipe.is_closing()
                    for pipe in (
                        transport.get_pipe_transport(1),
                        transport.get_pipe_transport(2),
                    )
                )
            )
        self._subprocess_transports = live
        return awaited

    def _io_in_flight(self) -> tuple[bool, int]:
        """Whether a socket or pipe is open, and how many servers are listening.

        The self-pipe that wakes the loop from other threads is always
        registered and is not I/O. A listening socket alone is not either: a
        connection can only come from a task, a thread, a subprocess or work
        announced with `real_work`, which the loop already tracks.
        """
        selector: Any = self._selector  # type: ignore[attr-defined]
        self_pipe = self._ssock.fileno()  # type: ignore[attr-defined]
        listening = 0
        for key in selector.get_map().values():
            if key.fd == self_pipe:
                continue
            reader, writer = key.data
            if (
                writer is None
                and reader is not None
                and getattr(reader._callback, "__func__", None) is _ACCEPT
            ):
                listening += 1
                continue
            return True, listening
        return False, listening

    def real_work_in_flight(self) -> bool:
        """Whether an executor job, a subprocess or a `real_work` block is open."""
        return bool(self._real_work) or self._subprocess_awaited()
