"""One supervised process across its incarnations: `_Process`.

A `_Process` lives as long as its supervisor keeps it, across restarts; each
start runs one *incarnation*: an asyncio task that calls ``init``, then takes
messages from the mailbox one at a time, in arrival order. The mailbox
belongs to the `_Process`, not to the incarnation, so messages sent while the
process crashes and waits for its restart are handled by the next one.

Invariants:

* At most one incarnation task is alive at a time; ``task`` is the latest.
* ``current`` is the reply future of the ask being handled, or None (a send,
  or the ask was already answered or deferred). After the handler returns, a
  ``current`` still set means nobody answered it.
* ``final_reason`` is set once a stop came from outside (`ProcessRef.stop`,
  a supervisor shutting down, the owner of a linked child stopping): the
  process is never restarted after it, and ``accepting`` is False.
* Every pending ask is failed when an incarnation ends; every message still
  queued when the process ends for good becomes a dead letter.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Final

from phyxius._events import report_callback_error
from phyxius._time import Duration
from phyxius.clock import Handle
from phyxius.process._errors import (
    NoReplyError,
    ProcessCrashedError,
    ProcessStoppedError,
)
from phyxius.process._intercept import CURRENT_PROCESS
from phyxius.process._lifecycle import (
    describe_error,
    describe_message,
    format_traceback,
)
from phyxius.process._mailbox import Mailbox
from phyxius.process._ref import ProcessRef
from phyxius.process._spec import Behaviour, RestartType
from phyxius.process._status import TERMINAL, Exit, ProcessStatus
from phyxius.process._tools import Reply, Tools, settable

if TYPE_CHECKING:
    from phyxius.process._supervisor import Supervisor

__all__ = ["_Process"]

# A process takes this many messages in a row before it lets other tasks run,
# so one busy mailbox cannot starve the event loop.
_FAIRNESS: Final = 128

_NO_STATE: Final = object()


class _Process(Mailbox):
    """One supervised child, across all its incarnations (see the module docstring)."""

    __slots__ = (
        "attempt",
        "behaviour",
        "context",
        "ctx",
        "current",
        "deferred",
        "final_reason",
        "held",
        "incarnation",
        "index",
        "kill_timer",
        "killing",
        "linked",
        "name",
        "owner",
        "ref",
        "removed",
        "restart",
        "restarts",
        "shutdown_timeout",
        "started_ns",
        "status",
        "stop_reason",
        "stop_waiters",
        "supervisor",
        "task",
        "tools",
    )

    def __init__(
        self,
        supervisor: Supervisor,
        behaviour: Behaviour,
        *,
        name: str,
        ctx: object,
        restart: RestartType,
        shutdown: Duration,
        index: int,
        owner: _Process | None,
    ) -> None:
        self.supervisor = supervisor
        self.behaviour = behaviour
        self.name = name
        self.ctx = ctx
        self.restart = restart
        self.shutdown_timeout = shutdown
        self.index = index
        self.owner = owner
        # The spawner's context, copied afresh for every incarnation, so that
        # context set around spawn (an effect's) reaches every handler.
        self.context = contextvars.copy_context()

        super().__init__(
            behaviour.max_inbox or sys.maxsize, behaviour.policy == "drop_oldest"
        )

        self.status = ProcessStatus.STARTING
        self.task: asyncio.Task[None] | None = None
        self.tools: Tools | None = None
        self.incarnation = 0
        self.restarts = 0
        self.attempt = 0
        self.started_ns = 0
        self.stop_reason: str | None = None
        self.final_reason: str | None = None
        self.current: asyncio.Future[Any] | None = None
        self.deferred: set[Reply] = set()
        self.linked: list[_Process] = []
        self.stop_waiters: list[asyncio.Future[None]] = []
        self.kill_timer: Handle | None = None
        self.killing = False
        self.held = False
        self.removed = False
        self.ref = ProcessRef(self)

    # -- starting ----------------------------------------------------------------------

    async def start(self) -> Exit | None:
        """Start an incarnation and wait for its ``init``.

        Returns None once it runs (or was stopped meanwhile), or the `Exit` of
        an ``init`` that raised: then the caller decides what happens next.
        """
        loop = asyncio.get_running_loop()
        self.incarnation += 1
        self.status = ProcessStatus.STARTING
        self.stop_reason = None
        self.killing = False
        self.held = False
        started: asyncio.Future[Exit | None] = loop.create_future()
        tools = Tools(self)
        self.tools = tools
        context = self.context.copy()
        context.run(CURRENT_PROCESS.set, self.name)
        self.task = loop.create_task(
            self._run(tools, started),
            name=f"phyxius.process:{self.name}#{self.incarnation}",
            context=context,
        )
        return await started

    async def _call_init(self, tools: Tools) -> Any:
        behaviour = self.behaviour
        init = behaviour.init
        if init is None:
            return None if behaviour.stateful else behaviour.spec
        result = init(self.ctx, tools) if behaviour.init_takes_tools else init(self.ctx)
        if type(result) is CoroutineType:
            result = await result
        return result

    # -- one incarnation ---------------------------------------------------------------

    async def _run(self, tools: Tools, started: asyncio.Future[Exit | None]) -> None:
        state: Any = _NO_STATE
        exit_: Exit
        try:
            try:
                state = await self._call_init(tools)
            except Exception as error:
                exit_ = self._crash(error, None, None, during="init")
            else:
                self._mark_running(started)
                exit_, state = await self._serve(state, tools)
        except asyncio.CancelledError:
            if not self.killing:
                self._abandon(tools)
                if not started.done():
                    started.set_result(None)
                raise
            exit_ = Exit("killed")

        init_failed = exit_.error is not None and not started.done()
        try:
            await self._wind_down(exit_, state, tools)
        except asyncio.CancelledError:
            if not started.done():
                started.set_result(None)
            raise
        if init_failed and self.final_reason is None:
            # Whoever started this incarnation (spawn, or a restart) decides.
            started.set_result(exit_)
            return
        if not started.done():
            started.set_result(None)
        self._ended(exit_)

    def _mark_running(self, started: asyncio.Future[Exit | None]) -> None:
        self.status = ProcessStatus.RUNNING
        self.started_ns = self.supervisor.clock.now().mono_ns
        if self.incarnation == 1:
            self._publish("started", incarnation=1)
        else:
            self.restarts += 1
            self._publish(
                "restarted", incarnation=self.incarnation, attempt=self.attempt
            )
        if not started.done():
            started.set_result(None)

    async def _serve(self, state: Any, tools: Tools) -> tuple[Exit, Any]:
        """Take messages one at a time until a stop is requested or a handler raises."""
        mailbox = self.mailbox
        behaviour = self.behaviour
        handle = behaviour.handle
        stateful = behaviour.stateful
        takes_tools = behaviour.takes_tools
        is_async = behaviour.handle_is_async
        interceptor = self.supervisor._interceptor
        loop = asyncio.get_running_loop()
        budget = _FAIRNESS
        result: Any = None
        while True:
            # A stop jumps the queue: it is checked before every message.
            if self.stop_reason is not None:
                return Exit(self.stop_reason), state
            if not mailbox:
                waiter = loop.create_future()
                self.waiter = waiter
                await waiter
                continue

            message, reply = mailbox.popleft()
            self.current = reply
            try:
                if interceptor is not None:
                    interceptor.on_handle(self.name, message, "before")
                if stateful:
                    # Keep the old state until the handler has succeeded: a
                    # crash hands the last good state to on_stop.
                    new_state = handle(state, message, tools)
                    if is_async or type(new_state) is CoroutineType:
                        new_state = await new_state
                    state = new_state
                else:
                    result = handle(message, tools) if takes_tools else handle(message)
                    if is_async or type(result) is CoroutineType:
                        result = await result
                if interceptor is not None:
                    interceptor.on_handle(self.name, message, "after")
            except Exception as error:
                return self._crash(error, message, reply, during="handle"), state

            if self.current is not None:
                self._settle_unanswered(result, stateful)
            budget -= 1
            if not budget:
                budget = _FAIRNESS
                await asyncio.sleep(0)

    def _settle_unanswered(self, result: Any, stateful: bool) -> None:
        future = self.current
        self.current = None
        if future is None or future.done():
            return
        if not stateful:
            future.set_result(result)
            return
        future.set_exception(
            NoReplyError(
                f"the handler of process {self.name!r} returned without answering "
                "this ask; call tools.reply(value) in the handler, or take "
                "tools.defer_reply() to answer later"
            )
        )

    def _crash(
        self,
        error: Exception,
        message: object,
        reply: asyncio.Future[Any] | None,
        *,
        during: str,
    ) -> Exit:
        self.current = None
        if reply is not None and not reply.done():
            reply.set_exception(settable(error))
        lifecycle = self.supervisor._lifecycle
        if during == "handle":
            self.dead_letter(message, "crashed")
        lifecycle.failure(
            "process.crashed",
            self._data(
                incarnation=self.incarnation,
                during=during,
                error_type=type(error).__qualname__,
                error=describe_error(error),
                message=None if during != "handle" else describe_message(message),
                traceback=format_traceback(error),
            ),
            "process %r crashed in %s: %s",
            self.name,
            during,
            describe_error(error),
            error=error,
        )
        return Exit("crashed", error)

    # -- ending an incarnation ---------------------------------------------------------

    async def _wind_down(self, exit_: Exit, state: Any, tools: Tools) -> None:
        """Clean up after an incarnation: asks, timers, ``on_stop``, linked children."""
        if not self.removed:
            self.status = ProcessStatus.STOPPING
        tools._close()
        self._fail_pending(exit_)

        on_stop = self.behaviour.on_stop
        if on_stop is not None and state is not _NO_STATE and not self.killing:
            reason: object = exit_.error if exit_.error is not None else exit_.reason
            try:
                result = (
                    on_stop(state, reason)
                    if self.behaviour.on_stop_takes_state
                    else on_stop(reason)
                )
                if type(result) is CoroutineType:
                    await result
            except asyncio.CancelledError:
                if not self.killing:
                    self._abandon(tools)
                    raise
            except Exception as error:
                report_callback_error(
                    self.supervisor._lifecycle.record,
                    "process.error",
                    self.supervisor.clock,
                    on_stop,
                    error,
                    {"name": self.name},
                )

        linked, self.linked = self.linked, []
        for child in reversed(linked):
            try:
                await child.request_stop_from(None, "shutdown", None)
            except asyncio.CancelledError:
                if not self.killing:
                    self._abandon(tools)
                    raise

        if exit_.error is None:
            self._publish(
                "stopped",
                reason=exit_.reason,
                incarnation=self.incarnation,
                killed=self.killing,
            )
        if self.kill_timer is not None:
            self.kill_timer.cancel()
            self.kill_timer = None

    def _fail_pending(self, exit_: Exit) -> None:
        """Fail every ask still waiting: the current one (after a kill), deferred
        ones, and those in the mailbox."""
        current, self.current = self.current, None
        if (
            current is None
            and not self.deferred
            and not any(reply for _, reply in self.mailbox)
        ):
            return
        error = self._ending_error(exit_)
        if current is not None and not current.done():
            current.set_exception(error)
        for deferred in list(self.deferred):
            deferred.fail(error)
        self.deferred.clear()
        mailbox = self.mailbox
        for _ in range(len(mailbox)):
            message, reply = mailbox.popleft()
            if reply is None:
                mailbox.append((message, None))
            elif not reply.done():
                reply.set_exception(error)

    def _ending_error(self, exit_: Exit) -> Exception:
        if exit_.error is not None:
            crashed = ProcessCrashedError(
                f"process {self.name!r} crashed ({describe_error(exit_.error)}) "
                "before answering this ask; ask again once it has restarted"
            )
            crashed.__cause__ = exit_.error
            return crashed
        if exit_.reason == "killed":
            return ProcessStoppedError(
                f"process {self.name!r} was killed after its shutdown timeout "
                "before answering this ask"
            )
        return ProcessStoppedError(
            f"process {self.name!r} stopped (reason {exit_.reason!r}) before "
            "answering this ask"
        )

    def _ended(self, exit_: Exit) -> None:
        """The incarnation is over: tell the supervisor, or finish for good."""
        if self.removed:
            # Finished for good while this incarnation was still winding down
            # (its tree was shut down from inside its own handler).
            if self.status not in TERMINAL:
                self.status = ProcessStatus.STOPPED
        elif self.final_reason is not None:
            self.supervisor._finalize(self, ProcessStatus.STOPPED, self.final_reason)
        elif self.held:
            self.status = ProcessStatus.RESTARTING
        else:
            self.supervisor._decide(self, exit_)

    def _abandon(self, tools: Tools) -> None:
        """The task was cancelled by someone else (a loop shutting down): end now."""
        tools._close()
        self._fail_pending(Exit("cancelled"))
        for child in self.linked:
            child.request_stop_from(None, "shutdown", None)
        self.linked = []
        if self.kill_timer is not None:
            self.kill_timer.cancel()
            self.kill_timer = None
        self.supervisor._finalize(self, ProcessStatus.STOPPED, "cancelled")

    # -- stopping ----------------------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        """Ask the running incarnation to stop before its next message."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self.wake()

    def request_stop_from(
        self, caller: asyncio.Task[Any] | None, reason: str, timeout: Duration | None
    ) -> asyncio.Future[None]:
        """`ProcessRef.stop`: a stop for good, or the process's own exit."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.status in TERMINAL:
            done.set_result(None)
            return done
        task = self.task
        if caller is not None and caller is task:
            # From its own handler: the process exits; its supervisor decides.
            self.request_stop(reason)
            done.set_result(None)
            return done
        if self.final_reason is None:
            self.final_reason = reason
        self.accepting = False
        self.stop_waiters.append(done)
        if task is not None and not task.done():
            self.request_stop(reason)
            self.arm_kill(self.shutdown_timeout if timeout is None else timeout)
        else:
            self.supervisor._finalize(self, ProcessStatus.STOPPED, reason)
        return done

    def arm_kill(self, timeout: Duration) -> None:
        """Cancel the incarnation if it has not ended ``timeout`` from now."""
        if self.kill_timer is None:
            self.kill_timer = self.supervisor.clock.call_later(timeout, self._kill)

    def _kill(self) -> None:
        self.kill_timer = None
        task = self.task
        if task is not None and not task.done():
            self.killing = True
            task.cancel()

    async def stop_incarnation(self, reason: str) -> None:
        """Stop the running incarnation (for a restart or a shutdown) and wait."""
        task = self.task
        if task is None or task.done():
            return
        self.request_stop(reason)
        self.arm_kill(self.shutdown_timeout)
        await self.supervisor._wait_task(task, self.shutdown_timeout, self.name)

    # -- helpers -----------------------------------------------------------------------

    def mark_restarting(self) -> None:
        """Show that this process waits to be started again."""
        self.status = ProcessStatus.RESTARTING

    def _publish(self, step: str, **data: Any) -> None:
        self.supervisor._lifecycle.publish(f"process.{step}", self._data(**data))
