"""The ``supervisor`` fixture: a root supervisor on the test's clock, with assertions.

The fixture records every lifecycle event of its tree (and journals them in
an in-memory journal), so a test can assert on restarts the way Akka's test
kit asserts on messages: `SupervisorFixture.assert_restarted`,
`SupervisorFixture.assert_not_restarted`, `SupervisorFixture.restarts` and
`SupervisorFixture.wait_for`, whose failures list the lifecycle events that
did happen. At teardown the tree is shut down on the test's loop within a
deadline; a process or task still running after it, or a root failure the
test never looked at, fails the test.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, Final, final

import pytest

from phyxius._events import Event
from phyxius._time import Duration, format_seconds
from phyxius.clock import ClockTimeoutError, ControlledClock, DeadlockError
from phyxius.journal import Journal, SortableIds, create_journal
from phyxius.process import (
    Backoff,
    ProcessRef,
    RestartType,
    Strategy,
    Supervisor,
    SupervisorFailedError,
    SupervisorStatus,
    create_supervisor,
)
from pytest_phyxius._settings import Settings

__all__ = ["SupervisorFixture", "supervisor"]

TEARDOWN_DEADLINE: Final = 60.0
"""Seconds of the test's clock the fixture's teardown may take to stop the tree."""

WAIT_FOR_TIMEOUT: Final = 30.0
"""Seconds of the test's clock `SupervisorFixture.wait_for` waits by default."""

LIFECYCLE_STEPS: Final = (
    "crashed",
    "dead_letter",
    "error",
    "gave_up",
    "mailbox_overflow",
    "restart_scheduled",
    "restarted",
    "spawned",
    "started",
    "stopped",
)
"""The steps of a ``process.<step>`` lifecycle event, as `wait_for` takes them."""


@final
class SupervisorFixture:
    """The root supervisor of a test, and assertions on what happened to its tree.

    Everything a `Supervisor` offers is here too (`spawn`,
    `spawn_supervisor`, `find`, `shutdown`, `wait`, ...); `root` is the
    supervisor itself. Lifecycle events are kept in `events` and journaled
    to `journal`.
    """

    def __init__(
        self,
        clock: ControlledClock,
        *,
        seed: int,
        journal: Journal,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        within: Duration = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._clock = clock
        self._journal = journal
        self._events: list[Event] = []
        self._watchers: list[tuple[str, str | None, int, asyncio.Future[Event]]] = []
        self.teardown_deadline: Duration = TEARDOWN_DEADLINE
        """Seconds of the clock the teardown may take; a test may change it."""
        self.root: Supervisor = create_supervisor(
            clock=clock,
            journal=journal,
            emit=self._record,
            strategy=strategy,
            max_restarts=max_restarts,
            within=within,
            backoff=backoff,
            seed=seed,
        )
        self.seed = seed
        """The seed of the root's jitter generator."""

    # -- the supervisor ----------------------------------------------------------

    @property
    def clock(self) -> ControlledClock:
        """The test's controlled clock."""
        return self._clock

    @property
    def journal(self) -> Journal:
        """The in-memory journal holding the tree's lifecycle events."""
        return self._journal

    @property
    def name(self) -> str:
        """The root's name."""
        return self.root.name

    @property
    def status(self) -> SupervisorStatus:
        """The root's status."""
        return self.root.status

    @property
    def failure(self) -> SupervisorFailedError | None:
        """Why the root gave up, or None; reading it counts as having seen it."""
        return self.root.failure

    @property
    def children(self) -> list[ProcessRef | Supervisor]:
        """The root's children, in start order."""
        return self.root.children

    def configure(
        self,
        *,
        strategy: Strategy | None = None,
        max_restarts: int | None = None,
        within: Duration | None = None,
        backoff: Backoff | None = None,
    ) -> SupervisorFixture:
        """Give the root other options; only before anything was spawned.

        Returns the fixture, for ``sup = supervisor.configure(...)``.
        """
        root = self.root
        if root.children:
            raise pytest.UsageError(
                "supervisor.configure() must come before the first spawn; "
                "configure the root first, then spawn"
            )
        self.root = create_supervisor(
            clock=self._clock,
            journal=self._journal,
            emit=self._record,
            strategy=root.strategy if strategy is None else strategy,
            max_restarts=root.max_restarts if max_restarts is None else max_restarts,
            within=root.within if within is None else within,
            backoff=root.backoff if backoff is None else backoff,
            seed=self.seed,
        )
        return self

    async def spawn(
        self,
        spec: object,
        *,
        name: str | None = None,
        ctx: object = None,
        restart: RestartType | None = None,
        shutdown: Duration | None = None,
    ) -> ProcessRef:
        """`Supervisor.spawn` on the root."""
        return await self.root.spawn(
            spec, name=name, ctx=ctx, restart=restart, shutdown=shutdown
        )

    async def spawn_supervisor(self, **options: Any) -> Supervisor:
        """`Supervisor.spawn_supervisor` on the root."""
        return await self.root.spawn_supervisor(**options)

    def find(self, name: str) -> ProcessRef | Supervisor | None:
        """The process or supervisor called ``name`` in the tree."""
        return self.root.find(name)

    async def shutdown(self, reason: str = "shutdown") -> None:
        """Shut the tree down now (the teardown does it otherwise)."""
        await self.root.shutdown(reason)

    async def wait(self) -> None:
        """`Supervisor.wait` on the root."""
        await self.root.wait()

    # -- what happened -------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        """Every lifecycle event of the tree so far, in order."""
        return list(self._events)

    @property
    def crashes(self) -> list[Event]:
        """The ``process.crashed`` events so far (their data holds the traceback)."""
        return [event for event in self._events if event.type == "process.crashed"]

    def lifecycle(self, name_or_ref: str | ProcessRef | Supervisor) -> list[Event]:
        """The lifecycle events of one process or supervisor."""
        name = _name_of(name_or_ref)
        return [event for event in self._events if event.data.get("name") == name]

    def restarts(self, name_or_ref: str | ProcessRef | Supervisor) -> int:
        """How many times the named process or supervisor was restarted."""
        return sum(
            1
            for event in self.lifecycle(name_or_ref)
            if event.type == "process.restarted"
        )

    def assert_restarted(
        self, name_or_ref: str | ProcessRef | Supervisor, times: int | None = None
    ) -> None:
        """Assert the process was restarted (exactly ``times`` times, when given)."""
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 0
        ):
            raise pytest.UsageError(
                f"times={times!r} must be an int, zero or more, or None for "
                "'at least once'"
            )
        if times == 0 and not self.lifecycle(name_or_ref):
            # As in assert_not_restarted: a misspelt name must not pass.
            raise AssertionError(
                f"expected {_name_of(name_or_ref)!r} to be restarted 0 times, but "
                "nothing of that name was ever spawned in this tree.\n"
                f"{self._story(name_or_ref)}"
            )
        count = self.restarts(name_or_ref)
        if (times is None and count > 0) or count == times:
            return
        expected = "at least once" if times is None else _times(times)
        raise AssertionError(
            f"expected {_name_of(name_or_ref)!r} to be restarted {expected}, but "
            f"it was restarted {_times(count)}.\n{self._story(name_or_ref)}"
        )

    def assert_not_restarted(self, name_or_ref: str | ProcessRef | Supervisor) -> None:
        """Assert the process was never restarted.

        A name that no lifecycle event of the tree carries fails too: a
        misspelt name must not pass for a process that was never restarted.
        """
        if not self.lifecycle(name_or_ref):
            raise AssertionError(
                f"expected {_name_of(name_or_ref)!r} not to be restarted, but "
                "nothing of that name was ever spawned in this tree.\n"
                f"{self._story(name_or_ref)}"
            )
        count = self.restarts(name_or_ref)
        if count:
            raise AssertionError(
                f"expected {_name_of(name_or_ref)!r} not to be restarted, but it "
                f"was restarted {_times(count)}.\n{self._story(name_or_ref)}"
            )

    async def wait_for(
        self,
        event: str,
        name: str | ProcessRef | Supervisor | None = None,
        *,
        count: int = 1,
        timeout: Duration | None = WAIT_FOR_TIMEOUT,
    ) -> Event:
        """Wait until ``event`` has happened ``count`` times (to ``name``, if given).

        ``event`` is a lifecycle step (``"restarted"``) or a full event type
        (``"process.restarted"``). Counting from the start of the test makes
        it race-free: an event that already happened counts. Returns the
        ``count``-th matching event. After ``timeout`` seconds of the clock,
        fails listing the events that did happen.
        """
        if not isinstance(event, str) or not event:
            raise pytest.UsageError(
                f"event={event!r} must be a lifecycle step such as 'restarted'"
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise pytest.UsageError(f"count={count!r} must be an int, 1 or more")
        if "." not in event and event not in LIFECYCLE_STEPS:
            raise pytest.UsageError(
                f"event={event!r} is not a lifecycle step; use one of "
                f"{', '.join(LIFECYCLE_STEPS)}, or a full event type such as "
                "'order.placed'"
            )
        event_type = event if "." in event else f"process.{event}"
        wanted = None if name is None else _name_of(name)

        matches = [e for e in self._events if _matches(e, event_type, wanted)]
        if len(matches) >= count:
            return matches[count - 1]
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        watcher = (event_type, wanted, count - len(matches), future)
        self._watchers.append(watcher)
        try:
            if timeout is None:
                return await future
            async with self._clock.timeout(timeout):
                return await future
        except ClockTimeoutError:
            who = "" if wanted is None else f" for {wanted!r}"
            happened = sum(1 for e in self._events if _matches(e, event_type, wanted))
            raise AssertionError(
                f"{event_type}{who} did not happen {_times(count)} within "
                f"{timeout!r} seconds of the clock (it happened "
                f"{_times(happened)}).\n{self._story(name)}"
            ) from None
        finally:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    # -- machinery --------------------------------------------------------------------

    def _record(self, event: Event) -> None:
        self._events.append(event)
        for index, (event_type, wanted, remaining, future) in enumerate(
            list(self._watchers)
        ):
            if not _matches(event, event_type, wanted) or future.done():
                continue
            if remaining <= 1:
                future.set_result(event)
            else:
                self._watchers[index] = (event_type, wanted, remaining - 1, future)

    def _story(self, name_or_ref: str | ProcessRef | Supervisor | None) -> str:
        """The lifecycle events, for failure messages."""
        if name_or_ref is None:
            return _format_events("lifecycle events of the tree", self._events)
        events = self.lifecycle(name_or_ref)
        name = _name_of(name_or_ref)
        if events:
            return _format_events(f"lifecycle events of {name!r}", events)
        return f"no lifecycle event names {name!r}; " + _format_events(
            "lifecycle events of the tree", self._events
        )

    def _report(self) -> list[str]:
        """Lines for the failure report: the crashes with their tracebacks."""
        crashes = self.crashes
        if not crashes:
            return ["process crashes: none"]
        lines = [f"process crashes ({len(crashes)}):"]
        for event in crashes:
            lines.append(
                f"  {event.data.get('name')!r} at {format_seconds(event.at.mono_ns)} "
                f"(incarnation {event.data.get('incarnation')}, in "
                f"{event.data.get('during')}): {event.data.get('error')}"
            )
            traceback_text = str(event.data.get("traceback", ""))
            lines.extend("    " + line for line in traceback_text.splitlines())
        return lines

    async def _teardown(self) -> list[str]:
        """Shut the tree down within the deadline; return what went wrong."""
        problems: list[str] = []
        try:
            async with self._clock.timeout(self.teardown_deadline):
                await self.root.shutdown()
        except ClockTimeoutError:
            problems.append(
                f"the supervision tree did not shut down within "
                f"{self.teardown_deadline!r} seconds of the clock"
            )

        current = asyncio.current_task()
        leftovers = [
            task
            for task in asyncio.all_tasks()
            if task is not current and not task.done()
        ]
        if leftovers:
            problems.append(
                f"{len(leftovers)} task(s) still running after the supervision tree "
                "shut down (stop what you start, or cancel it before the test "
                "ends):"
            )
            problems.extend(f"  {_describe_task(task)}" for task in leftovers)

        root = self.root
        if root.status is SupervisorStatus.FAILED and not root._failure_seen:
            problems.append(
                f"the root supervisor gave up and the test never looked at it "
                f"(await supervisor.wait() or read supervisor.failure): "
                f"{root._failure}"
            )
        if problems:
            problems.append(
                _format_events("lifecycle events of the tree", self._events)
            )
        return problems


def _matches(event: Event, event_type: str, name: str | None) -> bool:
    return event.type == event_type and (name is None or event.data.get("name") == name)


def _name_of(name_or_ref: str | ProcessRef | Supervisor) -> str:
    if isinstance(name_or_ref, str):
        return name_or_ref
    if isinstance(name_or_ref, ProcessRef | Supervisor):
        return name_or_ref.name
    raise pytest.UsageError(
        f"{name_or_ref!r} (type={type(name_or_ref).__name__}) names no process; "
        "pass a name, a ProcessRef or a Supervisor"
    )


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _format_events(title: str, events: list[Event]) -> str:
    if not events:
        return f"{title}: none"
    lines = [f"{title} ({len(events)}):"]
    lines.extend(f"  {format_event(event)}" for event in events)
    return "\n".join(lines)


def format_event(event: Event) -> str:
    """One line for an event: ``+1.5s process.crashed 'worker' error=...``."""
    data: Mapping[str, Any] = event.data
    details = ", ".join(
        f"{key}={value!r}"
        for key, value in data.items()
        if key not in ("name", "traceback") and value is not None
    )
    return f"+{format_seconds(event.at.mono_ns)} {event.type} {data.get('name')!r}" + (
        f" ({details})" if details else ""
    )


def _describe_task(task: asyncio.Task[Any]) -> str:
    frame = None
    awaitable: Any = task.get_coro()
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or frame
        awaitable = getattr(awaitable, "cr_await", None)
    where = (
        f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        if frame is not None
        else "<unknown>"
    )
    return f"task {task.get_name()!r} waits at {where}"


@pytest.fixture
def supervisor(
    request: pytest.FixtureRequest,
    controlled_clock: ControlledClock,
    phyxius_runner: asyncio.Runner,
    phyxius_settings: Settings,
) -> Iterator[SupervisorFixture]:
    """A root supervisor on ``controlled_clock``, journaling its lifecycle.

    The lifecycle goes to an in-memory journal named ``supervisor``
    (`SupervisorFixture.journal`), with ids seeded like the test's.
    Its jitter is seeded with the ``phyxius(seed=...)`` marker, or a seed
    derived from the test's id (the same on every run and every xdist
    worker). At teardown the tree is shut down on the test's loop within
    ``teardown_deadline`` seconds of the clock; a task still running after
    it, or a root failure the test never looked at, fails the test.
    """
    seed = phyxius_settings.seed
    if seed is None:
        seed = zlib.crc32(request.node.nodeid.encode())
    journal = create_journal(
        name="supervisor", clock=controlled_clock, ids=SortableIds(seed=seed)
    )
    fixture = SupervisorFixture(controlled_clock, seed=seed, journal=journal)
    yield fixture

    try:
        problems = phyxius_runner.run(fixture._teardown())
    except DeadlockError as error:
        problems = [
            "the supervision tree could not shut down: the loop deadlocked",
            str(error),
        ]
    if problems:
        pytest.fail(
            "supervisor fixture teardown: " + "\n".join(problems), pytrace=False
        )
