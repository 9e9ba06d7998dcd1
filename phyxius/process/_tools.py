"""What a handler gets besides its state and message: `Tools`, `Reply`, timers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import Event
from phyxius._time import Duration, to_nanoseconds
from phyxius.clock import Clock, Handle
from phyxius.process._errors import ProcessCrashedError, ProcessUsageError
from phyxius.process._lifecycle import JournalLike, describe_error
from phyxius.process._ref import ProcessRef
from phyxius.process._spec import RestartType

if TYPE_CHECKING:
    from phyxius.process._cell import _Process

__all__ = ["Reply", "ScheduledMessage", "Tools", "settable"]


@final
class Reply:
    """An answer owed to an ask, taken with ``tools.defer_reply()``.

    Answer it with `send` or `fail`, from any task, any time before the
    process's incarnation ends; at that point an unanswered one fails.
    """

    __slots__ = ("_cell", "_future")

    def __init__(self, cell: _Process | None, future: asyncio.Future[Any] | None):
        self._cell = cell
        self._future = future

    @property
    def done(self) -> bool:
        """True once answered, failed, or given up on by the asker."""
        return self._future is None or self._future.done()

    def send(self, value: object) -> bool:
        """Answer the ask with ``value``; False when nobody is waiting any more."""
        return self._settle(value, None)

    def fail(self, error: BaseException) -> bool:
        """Make the ask raise ``error``; False when nobody is waiting any more."""
        if not isinstance(error, BaseException):
            raise InvalidArgumentError(
                f"error={error!r} (type={type(error).__name__}) is not an exception; "
                "pass an exception instance such as ValueError('unknown order')"
            )
        return self._settle(None, error)

    def _settle(self, value: object, error: BaseException | None) -> bool:
        future = self._future
        if self._cell is not None:
            self._cell.deferred.discard(self)
        if future is None or future.done():
            return False
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(settable(error))
        return True


@final
class ScheduledMessage:
    """A message `Tools.schedule` will deliver later; `cancel` it to call it off."""

    __slots__ = ("_message", "_timer", "_tools", "cancelled", "fired")

    def __init__(self, tools: Tools, message: object) -> None:
        self._tools = tools
        self._message = message
        self._timer: Handle | None = None
        self.cancelled = False
        """True once cancelled before it was delivered."""
        self.fired = False
        """True once the message was delivered to the mailbox."""

    def cancel(self) -> bool:
        """Call the delivery off; True when it was still pending."""
        if self.cancelled or self.fired:
            return False
        self.cancelled = True
        self._tools._timers.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        return True

    def _fire(self) -> None:
        if self.cancelled:
            return
        self.fired = True
        self._tools._timers.discard(self)
        self._tools.self.send(self._message)


@final
class Tools:
    """What a handler gets besides its state and message.

    ``clock``, ``ctx`` (given to `Supervisor.spawn`), ``self`` (this
    process's `ProcessRef`), ``journal`` (the supervisor's, or None), and the
    methods `reply`, `defer_reply`, `schedule`, `spawn` and `emit`. One
    `Tools` serves one incarnation; after a restart the old one refuses to
    schedule or spawn.
    """

    __slots__ = ("_cell", "_closed", "_timers", "clock", "ctx", "journal", "self")

    def __init__(self, cell: _Process) -> None:
        self._cell = cell
        self._closed = False
        self._timers: set[ScheduledMessage] = set()
        self.clock: Clock = cell.supervisor.clock
        """The supervisor's clock."""
        self.ctx: Any = cell.ctx
        """The ``ctx`` given to `Supervisor.spawn`."""
        self.self: ProcessRef = cell.ref
        """This process's ref."""
        self.journal: JournalLike | None = cell.supervisor.journal
        """The supervisor's journal, or None."""

    @property
    def name(self) -> str:
        """This process's name."""
        return self._cell.name

    def reply(self, value: object) -> bool:
        """Answer the ask being handled; False when it was a send or nobody waits.

        Call it from the handler itself (not from a task the handler started;
        take `defer_reply` for that). Only the first answer counts.
        """
        cell = self._cell
        if asyncio.current_task() is not cell.task:
            raise ProcessUsageError(
                f"tools.reply() of process {cell.name!r} was called outside its "
                "handler; to answer later or from another task, take "
                "tools.defer_reply() in the handler and call .send(value) on it"
            )
        future = cell.current
        if future is None:
            return False
        cell.current = None
        if future.done():
            return False
        future.set_result(value)
        return True

    def defer_reply(self) -> Reply:
        """Take the ask being handled, to answer it later with `Reply.send`.

        The handler may then return without answering. A deferred reply still
        unanswered when the incarnation ends fails like any pending ask. For a
        send, the returned `Reply` is already done.
        """
        cell = self._cell
        future = cell.current
        cell.current = None
        if future is None or self._closed:
            return Reply(None, None)
        reply = Reply(cell, future)
        cell.deferred.add(reply)
        return reply

    def schedule(self, after: Duration, message: object) -> ScheduledMessage:
        """Send ``message`` to this process ``after`` seconds on the clock.

        Cancel it with the returned handle; a stop or restart cancels every
        scheduled message of the incarnation.
        """
        to_nanoseconds(after, name="after")
        self._check_open("schedule")
        scheduled = ScheduledMessage(self, message)
        scheduled._timer = self.clock.call_later(after, scheduled._fire)
        self._timers.add(scheduled)
        return scheduled

    async def spawn(
        self,
        spec: object,
        *,
        name: str | None = None,
        ctx: object = None,
        restart: RestartType | None = None,
        shutdown: Duration | None = None,
    ) -> ProcessRef:
        """Spawn a child linked to this process, under the same supervisor.

        The child is supervised like any other (its crashes are restarted by
        the supervisor), and it is stopped for good when this incarnation
        ends, so a restart of this process starts without stale children.
        """
        self._check_open("spawn")
        return await self._cell.supervisor._spawn(
            spec,
            name=name,
            ctx=ctx,
            restart=restart,
            shutdown=shutdown,
            owner=self._cell,
        )

    def emit(self, type: str, data: Mapping[str, Any] | None = None) -> Event:
        """Publish an event of the handler's own, through the tree's emit and journal.

        ``data`` gets the process's ``name`` added unless it has one.
        """
        if not isinstance(type, str) or not type:
            raise InvalidArgumentError(
                f"type={type!r} is not an event type; pass a dotted str such as "
                '"order.placed"'
            )
        payload: dict[str, Any] = {"name": self._cell.name}
        if data:
            payload.update(data)
        return self._cell.supervisor._lifecycle.publish(type, payload)

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise ProcessUsageError(
                f"tools.{what}() of process {self._cell.name!r} belongs to an "
                "incarnation that has ended; use the tools passed to the "
                "current handler call"
            )

    def _close(self) -> None:
        self._closed = True
        for scheduled in list(self._timers):
            scheduled.cancel()


def settable(error: BaseException) -> BaseException:
    """``error``, or a `ProcessCrashedError` wrapping it if a future refuses it."""
    # asyncio refuses StopIteration on a future; wrap it so the asker still
    # learns what happened.
    if isinstance(error, StopIteration | StopAsyncIteration):
        wrapped = ProcessCrashedError(
            f"the handler raised {describe_error(error)}, which cannot cross a "
            "future; see __cause__"
        )
        wrapped.__cause__ = error
        return wrapped
    return error
