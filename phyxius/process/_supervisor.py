"""`Supervisor`: a node of a supervision tree, on asyncio.

A supervisor keeps its children (processes and nested supervisors) in start
order, in a name registry shared by the whole tree. What happens when a
child's incarnation ends (OTP's strategies, restart types, intensity and
back-off) lives in `phyxius.process._restarts`; how children end for good
lives in `phyxius.process._endings`. Everything that must wait runs as an
*action* on the supervisor's drain task, one action at a time.

Invariant: a name is in the tree's registry exactly while its child is not
removed.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from random import Random
from types import TracebackType
from typing import Any, Final, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import CALLBACK_ERROR_ATTRIBUTE, Event
from phyxius._time import (
    NANOS_PER_SECOND,
    Duration,
    to_nanoseconds,
)
from phyxius.clock import Clock
from phyxius.process._cell import _Process
from phyxius.process._endings import finalize, stop_children, terminate
from phyxius.process._errors import (
    ProcessStartError,
    ProcessUsageError,
    SupervisorFailedError,
)
from phyxius.process._intercept import Interceptor
from phyxius.process._lifecycle import (
    LOGGER,
    JournalLike,
    Lifecycle,
    describe_error,
)
from phyxius.process._ref import ProcessRef
from phyxius.process._restarts import abort_backoff, decide
from phyxius.process._spec import (
    RESTART_TYPES,
    STRATEGIES,
    Backoff,
    RestartType,
    Strategy,
    check_backoff,
    check_choice,
    check_restart_limit,
    check_within,
    resolve_behaviour,
)
from phyxius.process._status import Exit, ProcessStatus, SupervisorStatus

__all__ = [
    "DEFAULT_SHUTDOWN",
    "Supervisor",
    "SupervisorStatus",
]

DEFAULT_SHUTDOWN: Final = 5.0
"""Seconds a child gets to stop before it is cancelled, unless told otherwise."""

_Action = Callable[[], Coroutine[Any, Any, None]]


_TERMINAL: Final = frozenset({SupervisorStatus.STOPPED, SupervisorStatus.FAILED})


@final
class Supervisor:
    """A node of a supervision tree. Create the root with `create_supervisor`.

    It starts children with `spawn` (processes) and `spawn_supervisor`
    (nested supervisors), restarts them as its strategy, their restart types
    and its intensity say, and, past the intensity, stops them all in reverse
    start order and fails: a nested supervisor escalates to its parent, the
    root reports to the caller through `wait`, `failure` and ``async with``.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        lifecycle: Lifecycle,
        strategy: Strategy,
        max_restarts: int,
        within: Duration,
        backoff: Backoff | None,
        random: Random,
        name: str,
        shutdown: Duration,
        parent: Supervisor | None,
        restart: RestartType,
        index: int,
        registry: dict[str, ProcessRef | Supervisor] | None,
    ) -> None:
        self._clock = clock
        self._lifecycle = lifecycle
        self._strategy: Strategy = strategy
        self._max_restarts = max_restarts
        self._within = within
        self._within_ns = to_nanoseconds(within, name="within")
        self._backoff = backoff
        self._reset_ns = (
            self._within_ns
            if backoff is None or backoff.reset_after is None
            else to_nanoseconds(backoff.reset_after)
        )
        self._random = random
        self._name = name
        self._parent = parent
        # Set on the root by create_supervisor; inherited by every nested one.
        self._interceptor: Interceptor | None = (
            None if parent is None else parent._interceptor
        )

        # As a child of `parent`, the same fields a process child has.
        self.restart: RestartType = restart
        self.shutdown_timeout = shutdown
        self.index = index
        self.held = False
        self.removed = False
        self.attempt = 0
        self.restarts = 0
        self.started_ns = clock.now().mono_ns
        self.final_reason: str | None = None

        self._status = SupervisorStatus.RUNNING
        self._children: list[_Process | Supervisor] = []
        self._order = itertools.count()
        self._registry: dict[str, ProcessRef | Supervisor] = (
            {} if registry is None else registry
        )
        self._name_counts: dict[str, int] = (
            {} if parent is None else parent._name_counts
        )
        self._restart_times: deque[int] = deque()
        self._actions: deque[_Action] = deque()
        self._drain_task: asyncio.Task[None] | None = None
        self._backoff_waiter: asyncio.Future[None] | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._shutting_down: asyncio.Future[None] | None = None
        self._failure: SupervisorFailedError | None = None
        self._failure_seen = False
        self._crashed_child: _Process | Supervisor | None = None

    # -- reading -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The supervisor's name, unique within its tree."""
        return self._name

    @property
    def status(self) -> SupervisorStatus:
        """The supervisor's current `SupervisorStatus`."""
        return self._status

    @property
    def clock(self) -> Clock:
        """The clock of the whole tree: timeouts, back-off and intensity use it."""
        return self._clock

    @property
    def journal(self) -> JournalLike | None:
        """The journal lifecycle events are appended to, or None."""
        return self._lifecycle.journal

    @property
    def strategy(self) -> Strategy:
        """``"one_for_one"``, ``"one_for_all"`` or ``"rest_for_one"``."""
        return self._strategy

    @property
    def max_restarts(self) -> int:
        """How many restarts are allowed within `within` seconds."""
        return self._max_restarts

    @property
    def within(self) -> Duration:
        """The intensity window, in seconds of monotonic time."""
        return self._within

    @property
    def backoff(self) -> Backoff | None:
        """The back-off between restarts, or None to restart at once."""
        return self._backoff

    @property
    def parent(self) -> Supervisor | None:
        """The supervisor above this one, or None at the root."""
        return self._parent

    @property
    def children(self) -> list[ProcessRef | Supervisor]:
        """The current children, in start order."""
        return [_public(child) for child in self._children]

    @property
    def failure(self) -> SupervisorFailedError | None:
        """Why the supervisor gave up for good, or None.

        Reading it counts as having seen the failure: the ``supervisor``
        fixture and ``async with`` then do not raise it again.
        """
        if self._failure is not None:
            self._failure_seen = True
        return self._failure

    def find(self, name: str) -> ProcessRef | Supervisor | None:
        """The process or supervisor called ``name`` anywhere in this tree."""
        return self._registry.get(name)

    def walk(self) -> Iterator[ProcessRef | Supervisor]:
        """Every process and supervisor below this one, depth first, in start order."""
        for child in self._children:
            yield _public(child)
            if isinstance(child, Supervisor):
                yield from child.walk()

    def __repr__(self) -> str:
        return (
            f"<Supervisor {self._name!r} {self._status.value} {self._strategy} "
            f"children={len(self._children)}>"
        )

    # -- spawning ----------------------------------------------------------------------

    async def spawn(
        self,
        spec: object,
        *,
        name: str | None = None,
        ctx: object = None,
        restart: RestartType | None = None,
        shutdown: Duration | None = None,
    ) -> ProcessRef:
        """Start a process from ``spec`` under this supervisor and return its ref.

        ``name`` must be unique in the tree (default: the spec's ``name``, or
        its class name, plus a number). ``ctx`` is handed to ``init`` and is
        ``tools.ctx``. ``restart`` is ``"permanent"``, ``"transient"`` or
        ``"temporary"`` (default: the spec's ``restart``, else permanent).
        ``shutdown`` is how long the process gets to stop before it is
        cancelled (default: the supervisor's). Returns once ``init`` has run;
        if ``init`` raises, the process is not added and this raises
        `ProcessStartError`. The spawner's `contextvars` context is copied
        into the process, so context set around the call reaches its handlers.
        """
        return await self._spawn(
            spec, name=name, ctx=ctx, restart=restart, shutdown=shutdown, owner=None
        )

    async def _spawn(
        self,
        spec: object,
        *,
        name: str | None,
        ctx: object,
        restart: RestartType | None,
        shutdown: Duration | None,
        owner: _Process | None,
    ) -> ProcessRef:
        # Check everything before anything changes.
        self._check_running("spawn")
        behaviour = resolve_behaviour(spec)
        restart_type: RestartType = (
            behaviour.restart
            if restart is None
            else check_choice(restart, RESTART_TYPES, name="restart")  # type: ignore[assignment]
        )
        shutdown_value = self._check_shutdown(shutdown)
        chosen = self._choose_name(name, behaviour.name)

        cell = _Process(
            self,
            behaviour,
            name=chosen,
            ctx=ctx,
            restart=restart_type,
            shutdown=shutdown_value,
            index=next(self._order),
            owner=owner,
        )
        self._children.append(cell)
        self._registry[chosen] = cell.ref
        if owner is not None:
            owner.linked.append(cell)
        self._lifecycle.publish(
            "process.spawned",
            {
                "name": chosen,
                "supervisor": self._name,
                "kind": "process",
                "restart": restart_type,
                "owner": None if owner is None else owner.name,
            },
        )

        exit_ = await cell.start()
        if exit_ is not None:
            finalize(self, cell, ProcessStatus.CRASHED, "crashed")
            assert exit_.error is not None
            raise ProcessStartError(
                f"process {chosen!r} did not start: init raised "
                f"{describe_error(exit_.error)}; it was not added to supervisor "
                f"{self._name!r}"
            ) from exit_.error
        return cell.ref

    async def spawn_supervisor(
        self,
        *,
        name: str | None = None,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        within: Duration = 5.0,
        backoff: Backoff | None = None,
        restart: RestartType = "permanent",
        shutdown: Duration | None = None,
    ) -> Supervisor:
        """Start a nested supervisor under this one and return it.

        It shares the tree's clock, journal, emit and name registry, and draws
        its jitter from a generator seeded by this one's, so a seeded tree
        stays reproducible. When it gives up, its failure is a crash of a
        child here: this supervisor restarts it (its children start again
        from their specs, temporary ones excepted) or gives up in turn.
        """
        self._check_running("spawn_supervisor")
        strategy = check_choice(strategy, STRATEGIES, name="strategy")  # type: ignore[assignment]
        max_restarts = check_restart_limit(max_restarts)
        check_within(within)
        check_backoff(backoff)
        restart = check_choice(restart, RESTART_TYPES, name="restart")  # type: ignore[assignment]
        shutdown_value = self._check_shutdown(shutdown)
        chosen = self._choose_name(name, "supervisor")

        child = Supervisor(
            clock=self._clock,
            lifecycle=self._lifecycle,
            strategy=strategy,
            max_restarts=max_restarts,
            within=within,
            backoff=backoff,
            random=Random(self._random.getrandbits(64)),
            name=chosen,
            shutdown=shutdown_value,
            parent=self,
            restart=restart,
            index=next(self._order),
            registry=self._registry,
        )
        self._children.append(child)
        self._registry[chosen] = child
        self._lifecycle.publish(
            "process.spawned",
            {
                "name": chosen,
                "supervisor": self._name,
                "kind": "supervisor",
                "restart": restart,
                "owner": None,
            },
        )
        child._publish("started", incarnation=1)
        return child

    def _check_running(self, what: str) -> None:
        if self._status is SupervisorStatus.RUNNING:
            return
        if self._status is SupervisorStatus.FAILED:
            raise ProcessUsageError(
                f"supervisor {self._name!r} gave up and cannot {what}: "
                f"{self._failure}; create a new supervisor"
            )
        raise ProcessUsageError(
            f"supervisor {self._name!r} is {self._status.value} and cannot "
            f"{what}; spawn while it is running"
        )

    def _check_shutdown(self, shutdown: Duration | None) -> Duration:
        if shutdown is None:
            return self.shutdown_timeout
        to_nanoseconds(shutdown, name="shutdown")
        return shutdown

    def _choose_name(self, name: str | None, base: str) -> str:
        if name is not None:
            if not isinstance(name, str) or not name:
                raise InvalidArgumentError(
                    f"name={name!r} (type={type(name).__name__}) is not a process "
                    "name; pass a non-empty str, or None for a generated one"
                )
            if name in self._registry:
                raise InvalidArgumentError(
                    f"name={name!r} is already taken in this supervision tree (by "
                    f"{self._registry[name]!r}); names are unique per tree: pick "
                    "another, or stop the other one first"
                )
            return name
        while True:
            count = self._name_counts.get(base, 0) + 1
            self._name_counts[base] = count
            candidate = f"{base}-{count}"
            if candidate not in self._registry:
                return candidate

    # -- restarting (see _restarts) ----------------------------------------------------

    def _decide(
        self,
        child: _Process | Supervisor,
        exit_: Exit,
        carry: list[_Process | Supervisor] | None = None,
    ) -> None:
        decide(self, child, exit_, carry)

    def _finalize(
        self, child: _Process | Supervisor, status: ProcessStatus, reason: str
    ) -> None:
        finalize(self, child, status, reason)

    def mark_restarting(self) -> None:
        """Show that this supervisor, as a child, waits to be started again."""
        self._status = SupervisorStatus.RESTARTING

    # -- stopping ----------------------------------------------------------------------

    async def shutdown(self, reason: str = "shutdown") -> None:
        """Stop every child, last started first, each within its shutdown timeout.

        The supervisor then is stopped for good (a nested one leaves its
        parent). Calling it again, or after a give-up, does nothing; the
        failure of a supervisor that gave up is reported by `wait`.
        """
        if not isinstance(reason, str):
            raise InvalidArgumentError(
                f"reason={reason!r} (type={type(reason).__name__}) is not a stop "
                'reason; pass a str such as "shutdown"'
            )
        if self._status in _TERMINAL:
            return
        if self._shutting_down is not None:
            await asyncio.shield(self._shutting_down)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._shutting_down = done
        self.final_reason = reason
        self._status = SupervisorStatus.STOPPING
        abort_backoff(self)
        try:
            await self._drain_idle()
            if self._status in _TERMINAL:
                return  # it gave up meanwhile; `wait` reports that
            await stop_children(self, reason, final=True)
            if self._parent is not None and not self.removed:
                finalize(self._parent, self, ProcessStatus.STOPPED, reason)
            else:
                terminate(self, SupervisorStatus.STOPPED)
        finally:
            if not done.done():
                done.set_result(None)

    # -- as the child of a parent supervisor -------------------------------------------

    async def start(self) -> Exit | None:
        """Start again after the parent stopped this supervisor (for a restart).

        The restart window is cleared and every child but the temporary ones
        starts again from its spec, in start order.
        """
        await self._drain_idle()
        if self.removed:
            return None
        self.held = False
        self._status = SupervisorStatus.RUNNING
        self._failure = None
        self._crashed_child = None
        self._restart_times.clear()
        self.started_ns = self._clock.now().mono_ns

        group = list(self._children)
        for position, child in enumerate(group):
            if self._status is not SupervisorStatus.RUNNING:
                break
            if child.removed:
                continue
            if child.restart == "temporary":
                finalize(self, child, ProcessStatus.STOPPED, "shutdown")
                continue
            exit_ = await child.start()
            if exit_ is not None:
                self._decide(child, exit_, carry=group[position + 1 :])
                break
        self.restarts += 1
        self._publish("restarted", attempt=self.attempt)
        return None

    async def stop_incarnation(self, reason: str) -> None:
        """Stop every child, held for a restart by the parent."""
        if self._status in _TERMINAL:
            return
        self._status = SupervisorStatus.STOPPING
        abort_backoff(self)
        await self._drain_idle()
        await stop_children(self, reason)
        if not self.removed:
            self._status = SupervisorStatus.RESTARTING

    def request_stop_from(
        self, caller: asyncio.Task[Any] | None, reason: str, timeout: Duration | None
    ) -> asyncio.Future[None]:
        """Stop this nested supervisor for good (used when its parent shuts down)."""
        return asyncio.ensure_future(self.shutdown(reason))

    # -- waiting -----------------------------------------------------------------------

    async def wait(self) -> None:
        """Wait until the supervisor has stopped for good.

        Raises `SupervisorFailedError` if it gave up (at the root, this is how
        the failure reaches the caller).
        """
        while self._status not in _TERMINAL:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        if self._failure is not None:
            self._failure_seen = True
            raise self._failure

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.shutdown()
        if exc is None and self._failure is not None and not self._failure_seen:
            self._failure_seen = True
            raise self._failure

    # -- machinery ---------------------------------------------------------------------

    def _enqueue(self, action: _Action) -> None:
        self._actions.append(action)
        task = self._drain_task
        if task is None or task.done():
            # A context of its own: the drain must not run in (and leak into)
            # the context of whichever child happened to trigger it.
            self._drain_task = asyncio.get_running_loop().create_task(
                self._drain(),
                name=f"phyxius.supervisor:{self._name}",
                context=contextvars.Context(),
            )

    async def _drain(self) -> None:
        while self._actions:
            action = self._actions.popleft()
            try:
                await action()
            except Exception as error:
                event = Event(
                    "process.error",
                    self._clock.now(),
                    {"name": self._name, "error": describe_error(error)},
                )
                LOGGER.exception(
                    "supervisor %r failed inside Phyxius (please report this)",
                    self._name,
                    extra={CALLBACK_ERROR_ATTRIBUTE: event},
                )

    async def _drain_idle(self) -> None:
        task = self._drain_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            await asyncio.wait([task])

    async def _wait_task(
        self, task: asyncio.Task[Any], timeout: Duration, name: str
    ) -> None:
        """Wait for a child's task to end; give up waiting a timeout after its kill."""
        if task.done():
            return
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[bool] = loop.create_future()

        def on_done(_task: asyncio.Task[Any]) -> None:
            if not finished.done():
                finished.set_result(True)

        task.add_done_callback(on_done)
        grace = 2 * to_nanoseconds(timeout) / NANOS_PER_SECOND
        timer = self._clock.call_later(grace, _resolve, finished, False)
        try:
            ended = await finished
        finally:
            timer.cancel()
            task.remove_done_callback(on_done)
        if not ended:
            LOGGER.error(
                "process %r did not end within %ss of being cancelled after its "
                "shutdown timeout; it is left running",
                name,
                to_nanoseconds(timeout) / NANOS_PER_SECOND,
            )

    def _publish(self, step: str, **data: Any) -> None:
        self._lifecycle.publish(
            f"process.{step}",
            {
                "name": self._name,
                "supervisor": None if self._parent is None else self._parent.name,
                "kind": "supervisor",
                **data,
            },
        )


def _public(child: _Process | Supervisor) -> ProcessRef | Supervisor:
    return child if isinstance(child, Supervisor) else child.ref


def _resolve(future: asyncio.Future[Any], value: object = None) -> None:
    if not future.done():
        future.set_result(value)
