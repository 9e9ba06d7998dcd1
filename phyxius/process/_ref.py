"""`ProcessRef`: the address of a process, valid across its restarts."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any, Final, final

from phyxius._errors import InvalidArgumentError
from phyxius._time import NANOS_PER_SECOND, Duration, to_nanoseconds
from phyxius.clock import Handle, SystemClock
from phyxius.process._errors import AskTimeoutError, ProcessUsageError
from phyxius.process._intercept import intercept_ask, intercept_send
from phyxius.process._lifecycle import describe_message
from phyxius.process._status import ProcessStatus

if TYPE_CHECKING:
    from phyxius.process._cell import _Process
    from phyxius.process._supervisor import Supervisor

__all__ = ["DEFAULT_ASK_TIMEOUT", "ProcessRef"]

DEFAULT_ASK_TIMEOUT: Final = 5.0
"""Seconds, on the supervisor's clock, an ask waits for its answer by default."""


@final
class ProcessRef:
    """The address of a supervised process; it stays valid across restarts.

    `send` never blocks; `ask` waits for the handler's answer; `stop` ends the
    process for good. A ref compares equal only to itself.
    """

    __slots__ = ("_cell",)

    def __init__(self, cell: _Process) -> None:
        self._cell = cell

    @property
    def name(self) -> str:
        """The process's name, unique within its supervision tree."""
        return self._cell.name

    @property
    def status(self) -> ProcessStatus:
        """The process's current `ProcessStatus`."""
        return self._cell.status

    @property
    def restarts(self) -> int:
        """How many times the supervisor has restarted this process."""
        return self._cell.restarts

    @property
    def supervisor(self) -> Supervisor:
        """The supervisor this process belongs to."""
        return self._cell.supervisor

    @property
    def inbox_size(self) -> int:
        """How many messages wait in the mailbox."""
        return len(self._cell.mailbox)

    def send(self, message: object) -> bool:
        """Queue ``message``; never blocks. Return whether it was accepted.

        It is refused (False) when the process has stopped for good, which is
        reported as a ``process.dead_letter`` event, or when the mailbox is
        full under the ``"reject"`` policy (a ``process.mailbox_overflow``).
        Under ``"drop_oldest"`` a full mailbox drops its oldest message
        instead, and the new one is accepted.
        """
        cell = self._cell
        interceptor = cell.supervisor._interceptor
        if interceptor is not None:
            return intercept_send(interceptor, cell, message)
        if cell.accepting:
            mailbox = cell.mailbox
            if len(mailbox) < cell.max_inbox:
                mailbox.append((message, None))
                waiter = cell.waiter
                if waiter is not None:
                    cell.waiter = None
                    if not waiter.done():
                        waiter.set_result(None)
                return True
            return cell.overflow(message, None)
        cell.dead_letter(message, "not_running")
        return False

    def ask(
        self, message: object, *, timeout: Duration | None = DEFAULT_ASK_TIMEOUT
    ) -> asyncio.Future[Any]:
        """Send ``message`` now; await the result for the handler's answer.

        The message is queued at the call, like `send`, so asks and sends keep
        the order in which they were made. The handler answers with
        ``tools.reply(value)`` (or, for an object with ``handle(msg)``, by
        returning it). Awaiting the result raises the handler's own error when
        this message made it raise; `ProcessCrashedError` or
        `ProcessStoppedError` as soon as the process crashes or stops first;
        `NoReplyError` when the handler returned without answering;
        `MailboxFullError` when the mailbox refused or dropped the message;
        `AskTimeoutError` when ``timeout`` seconds pass on the supervisor's
        clock (None: no limit). A process that has stopped for good, or a full
        mailbox under ``"reject"``, raises at the call. The message stays
        delivered when the asker gives up (times out or is cancelled); the late
        answer is ignored.

        Asking a process from its own handler raises `ProcessUsageError` at
        the call, as OTP's ``calling_self`` does: the answer could only come
        after the handler returned, so the ask would wait out its timeout.
        """
        seconds = 0.0
        if timeout is DEFAULT_ASK_TIMEOUT:
            seconds = DEFAULT_ASK_TIMEOUT
        elif timeout is not None:
            seconds = to_nanoseconds(timeout, name="timeout") / NANOS_PER_SECOND
        cell = self._cell
        if cell.task is not None and asyncio.current_task() is cell.task:
            raise ProcessUsageError(
                f"process {cell.name!r} asked itself {describe_message(message)} "
                "from its own handler, which would wait for ever; call the logic "
                "directly, or use tools.self.send() to handle it after this message"
            )
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        interceptor = cell.supervisor._interceptor
        if interceptor is None:
            cell.enqueue_ask(message, reply)
        else:
            intercept_ask(interceptor, cell, message, reply)
        if timeout is not None:
            clock = cell.supervisor.clock
            timer: Handle | asyncio.TimerHandle
            if type(clock) is SystemClock:
                # The loop's time is the system clock's monotonic time: its
                # timer is the same deadline without the clock's bookkeeping,
                # which would double the cost of an ask.
                timer = loop.call_later(
                    seconds, _expire, reply, cell.name, timeout, message
                )
            else:
                timer = clock.call_later(
                    timeout, _expire, reply, cell.name, timeout, message
                )
            reply.add_done_callback(partial(_cancel_timer, timer))
        return reply

    def stop(
        self, reason: str = "normal", *, timeout: Duration | None = None
    ) -> asyncio.Future[None]:
        """Stop the process for good; await the result to wait until it has stopped.

        The stop is requested at once, even if the result is never awaited.
        The handler finishes the message it is on (a stop jumps the queue of
        waiting messages), ``on_stop`` runs, pending asks fail, queued
        messages become dead letters. After ``timeout`` (default: the
        process's shutdown timeout) the incarnation is cancelled.

        Called from the process's own handler, it returns at once (there is
        nothing to wait for: the process stops when the handler returns), and
        the stop counts as the process's own exit, so its supervisor applies
        its restart type: a permanent process is restarted, a transient one
        only when ``reason`` is not ``"normal"`` or ``"shutdown"``.
        """
        if not isinstance(reason, str):
            raise InvalidArgumentError(
                f"reason={reason!r} (type={type(reason).__name__}) is not a stop "
                'reason; pass a str such as "normal"'
            )
        if timeout is not None:
            to_nanoseconds(timeout, name="timeout")
        return self._cell.request_stop_from(asyncio.current_task(), reason, timeout)

    def __repr__(self) -> str:
        cell = self._cell
        return (
            f"<ProcessRef {cell.name!r} {cell.status.value} restarts={cell.restarts}>"
        )


def _cancel_timer(
    timer: Handle | asyncio.TimerHandle, _reply: asyncio.Future[Any]
) -> None:
    timer.cancel()


def _expire(
    reply: asyncio.Future[Any], name: str, timeout: Duration, message: object
) -> None:
    if not reply.done():
        reply.set_exception(
            AskTimeoutError(
                f"process {name!r} did not answer {describe_message(message)} "
                f"within timeout={timeout!r} seconds on its clock; raise the "
                "timeout, or check that the handler calls tools.reply()"
            )
        )
