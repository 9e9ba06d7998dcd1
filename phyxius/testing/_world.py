"""`World`: one simulated run's clock, scheduler, faults, supervisors and journals.

A world is made for one run and thrown away after it, which is what a
hypothesis example needs (function-scoped pytest fixtures are not reset
between examples). Everything in it derives from its seed: the scheduler's
shuffles, the fault plan drawn from a `FaultSpace`, journal ids, supervisor
jitter and `World.random`, each from its own stream, so that giving a run
its plan explicitly instead of drawing it changes nothing else.

Invariants are checked after every step, a step being one callback of the
event loop (a task running to its next ``await``, a timer firing). The first
that fails ends the run: every task of the run is cancelled (processes are
then shut down), and the run raises `InvariantViolationError`, naming the
invariant and the step.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import zlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, TypeVar, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import Event, describe_callable
from phyxius._time import NANOS_PER_SECOND, Duration, WallTime, to_nanoseconds
from phyxius.clock import (
    DEFAULT_START,
    ControlledClock,
    ControlledTimer,
    VirtualTimeEventLoop,
)
from phyxius.journal import Codec, Journal, MemoryStore, Overflow, SortableIds
from phyxius.process import Backoff, Strategy, Supervisor, create_supervisor
from phyxius.testing._errors import (
    InvariantViolationError,
    SimulationFailedError,
    SimulationUsageError,
)
from phyxius.testing._faults import FaultPlan, WallJump
from phyxius.testing._inject import FaultInjector, FaultyStore, Injection
from phyxius.testing._outcome import Outcome, describe_error, scenario_name
from phyxius.testing._schedule import (
    Schedule,
    ScriptedScheduler,
    SeededScheduler,
    SimulationScheduler,
    check_seed,
)
from phyxius.testing._space import FaultSpace

__all__ = [
    "DEFAULT_SHUTDOWN_DEADLINE",
    "FAULTS_JOURNAL",
    "LIFECYCLE_JOURNAL",
    "Invariant",
    "World",
]

_T = TypeVar("_T")

Invariant = Callable[["World"], object]
"""An invariant: called with the world, it fails by raising or returning False."""

LIFECYCLE_JOURNAL: Final = "phyxius.lifecycle"
"""The journal holding the lifecycle events of a world's supervisors."""

FAULTS_JOURNAL: Final = "phyxius.faults"
"""The journal holding a ``simulation.fault`` event for every fault that struck."""

DEFAULT_SHUTDOWN_DEADLINE: Final = 60.0
"""Virtual seconds a world's supervisors get to shut down at the end of a run."""

_RESERVED_PREFIX: Final = "phyxius."


def _derived_seed(seed: int, purpose: str) -> int:
    return zlib.crc32(f"{seed}:{purpose}".encode())


@final
class World:
    """A fresh simulated world for one run; see the module docstring.

    ``seed`` (default 0: first-in, first-out order) drives the scheduler unless
    ``schedule`` (a `Schedule`) scripts it. The faults come from ``plan`` (a
    `FaultPlan`) or are drawn from ``faults`` (a `FaultSpace`) with the seed (seed 0
    draws none); `inject` can set them later. ``invariants`` are checked after every
    step (add more with `invariant`). ``start`` is the wall time of the world's new
    `ControlledClock`. A test harness that already has a clock and a scheduler (the
    pytest plugin) passes ``clock`` and ``scheduler`` instead. ``shutdown_deadline`` is
    how many virtual seconds the supervisors get to stop at the end of `run`.
    ``record=False`` does not record the scheduler's picks (`Outcome.schedule` is then
    empty), nor, for a run that passed, the journals (`Outcome.journals` is then empty):
    `explore` runs so, since the seed alone replays a run.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        schedule: Schedule | None = None,
        plan: FaultPlan | None = None,
        faults: FaultSpace | None = None,
        invariants: Iterable[Invariant] = (),
        start: WallTime | None = None,
        clock: ControlledClock | None = None,
        scheduler: SimulationScheduler | None = None,
        shutdown_deadline: Duration = DEFAULT_SHUTDOWN_DEADLINE,
        record: bool = True,
    ) -> None:
        # Every argument is checked before anything is built.
        check_seed(seed)
        if schedule is not None and not isinstance(schedule, Schedule):
            raise InvalidArgumentError(
                f"schedule={schedule!r} (type={type(schedule).__name__}) is not a "
                "Schedule; pass Schedule(picks=(...)) or None"
            )
        if scheduler is not None and not isinstance(scheduler, SimulationScheduler):
            raise InvalidArgumentError(
                f"scheduler={scheduler!r} (type={type(scheduler).__name__}) is not a "
                "SeededScheduler or ScriptedScheduler; pass one, or None"
            )
        if schedule is not None and scheduler is not None:
            raise InvalidArgumentError(
                "schedule= and scheduler= were both given; pass a schedule to "
                "script a new scheduler, or a scheduler to use as it is"
            )
        if plan is not None and faults is not None:
            raise InvalidArgumentError(
                "plan= and faults= were both given; pass a plan to use as it is, "
                "or a fault space to draw one from with the seed"
            )
        if plan is not None and not isinstance(plan, FaultPlan):
            raise InvalidArgumentError(
                f"plan={plan!r} (type={type(plan).__name__}) is not a FaultPlan; "
                "pass FaultPlan(...) or None"
            )
        if faults is not None and not isinstance(faults, FaultSpace):
            raise InvalidArgumentError(
                f"faults={faults!r} (type={type(faults).__name__}) is not a "
                "FaultSpace; pass FaultSpace(...) or None"
            )
        if clock is not None and not isinstance(clock, ControlledClock):
            raise InvalidArgumentError(
                f"clock={clock!r} (type={type(clock).__name__}) is not a "
                "ControlledClock; pass one, or None for a new one"
            )
        if clock is not None and start is not None:
            raise InvalidArgumentError(
                "start= and clock= were both given; the clock already has its "
                "start, so pass one or the other"
            )
        checked = [self._check_invariant(fn, None) for fn in invariants]
        deadline_ns = to_nanoseconds(shutdown_deadline, name="shutdown_deadline")

        self._seed: Final = seed
        self._clock: Final = (
            ControlledClock(DEFAULT_START if start is None else start)
            if clock is None
            else clock
        )
        if scheduler is None:
            scheduler = (
                SeededScheduler(seed, record=record)
                if schedule is None
                else ScriptedScheduler(schedule, record=record)
            )
        self._scheduler: Final[SimulationScheduler] = scheduler
        self._scripted = schedule
        self._record = record
        self._random = random.Random(_derived_seed(seed, "world"))
        self._shutdown_ns = deadline_ns

        # The world's own journals (lifecycle, faults) live apart from the
        # application's, which are wrapped so that appends can fail on plan.
        self._own_store = MemoryStore()
        self._injector = FaultInjector(
            FaultPlan(), clock=self._clock, on_inject=self._injected
        )
        self._store = FaultyStore(MemoryStore(), self._injector)
        self._journals: dict[str, Journal] = {}
        self._lifecycle = self._open(self._own_store, LIFECYCLE_JOURNAL, {})
        self._fault_log = self._open(self._own_store, FAULTS_JOURNAL, {})
        self._injections: list[Injection] = []
        self._wall_jumps: list[ControlledTimer] = []
        self._supervisors: list[Supervisor] = []

        # Invariants, and the state of checking them: `_violation` is set
        # once, by the first failure, which also stops all checking.
        self._invariants: list[tuple[str, Invariant]] = []
        self._checking = True
        self._violation: InvariantViolationError | None = None
        self._steps = 0
        self._counting = False
        self._ran = False
        for name, fn in checked:
            self._add_invariant(name, fn)

        if faults is not None:
            self.inject(faults)
        else:
            self.inject(FaultPlan() if plan is None else plan)

    # -- what the world holds --------------------------------------------------------

    @property
    def seed(self) -> int:
        """The seed of this world; 0 is first-in, first-out order."""
        return self._seed

    @property
    def clock(self) -> ControlledClock:
        """The world's controlled clock."""
        return self._clock

    @property
    def scheduler(self) -> SimulationScheduler:
        """The scheduler ordering each loop turn."""
        return self._scheduler

    @property
    def plan(self) -> FaultPlan:
        """The fault plan being carried out."""
        return self._injector.plan

    @property
    def random(self) -> random.Random:
        """A generator seeded from the world's seed, for the scenario's own choices."""
        return self._random

    @property
    def injections(self) -> tuple[Injection, ...]:
        """Every fault that struck so far, in order."""
        return tuple(self._injections)

    @property
    def steps(self) -> int:
        """Callbacks run while invariants were being checked."""
        return self._steps

    @property
    def violation(self) -> InvariantViolationError | None:
        """The first invariant failure of the run, or None."""
        return self._violation

    @property
    def lifecycle(self) -> Journal:
        """The journal of every supervisor's lifecycle events."""
        return self._lifecycle

    @property
    def journals(self) -> dict[str, Journal]:
        """Every journal of the world by name, the world's own two included."""
        return {
            LIFECYCLE_JOURNAL: self._lifecycle,
            FAULTS_JOURNAL: self._fault_log,
            **self._journals,
        }

    @property
    def supervisor(self) -> Supervisor:
        """The world's root supervisor, made on first use with default options.

        Its tree consults the fault plan on every delivery and handler call,
        and journals its lifecycle to `lifecycle`. `create_supervisor` makes
        one with other options.
        """
        if not self._supervisors:
            self.create_supervisor()
        return self._supervisors[0]

    def create_supervisor(
        self,
        *,
        name: str = "root",
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        within: Duration = 5.0,
        backoff: Backoff | None = None,
        shutdown: Duration = 5.0,
    ) -> Supervisor:
        """A root supervisor on the world's clock, under the fault plan.

        The options are those of `phyxius.process.create_supervisor`; the
        clock, journal, interceptor and seed are the world's. The first one
        made is also `supervisor`. Every one is shut down at the end of `run`.
        """
        supervisor = create_supervisor(
            clock=self._clock,
            journal=self._lifecycle,
            strategy=strategy,
            max_restarts=max_restarts,
            within=within,
            backoff=backoff,
            seed=_derived_seed(self._seed, f"supervisor:{len(self._supervisors)}"),
            name=name,
            shutdown=shutdown,
            interceptor=self._injector,
        )
        self._supervisors.append(supervisor)
        return supervisor

    def journal(
        self,
        name: str = "default",
        *,
        codec: Codec | str | None = None,
        max_entries: int | None = None,
        overflow: Overflow = "none",
    ) -> Journal:
        """The world's journal ``name``, opened on first use.

        It lives in memory, is stamped by the world's clock, takes ids seeded
        by the world's seed, and its appends fail when the fault plan says so.
        Options apply when it is opened; later calls return the same journal.
        """
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"name={name!r} (type={type(name).__name__}) is not a journal name; "
                "pass a non-empty str"
            )
        if name.startswith(_RESERVED_PREFIX):
            raise InvalidArgumentError(
                f"name={name!r} starts with {_RESERVED_PREFIX!r}, which is kept for "
                "the world's own journals; pick another name"
            )
        journal = self._journals.get(name)
        if journal is None:
            options = {"codec": codec, "max_entries": max_entries, "overflow": overflow}
            journal = self._journals[name] = self._open(self._store, name, options)
        return journal

    def _open(self, store: Any, name: str, options: dict[str, Any]) -> Journal:
        return Journal(
            store,
            name=name,
            clock=self._clock,
            ids=SortableIds(seed=_derived_seed(self._seed, f"journal:{name}")),
            **options,
        )

    # -- faults ------------------------------------------------------------------------

    def inject(self, faults: FaultPlan | FaultSpace) -> FaultPlan:
        """Carry out ``faults`` from now on, and return the plan.

        A `FaultSpace` is drawn from with the world's seed; seed 0 draws the
        empty plan, as it keeps first-in, first-out order. The counts the
        faults refer to (messages, appends) are kept from the start of the
        world, so call this before the scenario starts for plans to mean what
        they say. Wall jumps are scheduled at their ``at``, counted from the
        clock's monotonic 0 (one already past jumps at once).
        """
        if isinstance(faults, FaultSpace):
            plan = self._draw(faults)
        elif isinstance(faults, FaultPlan):
            plan = faults
        else:
            raise InvalidArgumentError(
                f"faults={faults!r} (type={type(faults).__name__}) is neither a "
                "FaultPlan nor a FaultSpace"
            )
        self._injector.use(plan)
        for timer in self._wall_jumps:
            timer.cancel()
        now_ns = self._clock.monotonic_ns()
        self._wall_jumps = [
            self._clock.call_later(
                max(0, to_nanoseconds(fault.at) - now_ns) / NANOS_PER_SECOND,
                self._jump_wall,
                fault,
            )
            for fault in plan
            if isinstance(fault, WallJump)
        ]
        return plan

    def _draw(self, space: FaultSpace) -> FaultPlan:
        # Seed 0 is the plain run: first-in, first-out order and no faults,
        # so a test that is not being explored is not broken on purpose.
        if not self._seed:
            return FaultPlan()
        return space.draw(random.Random(_derived_seed(self._seed, "faults")))

    def _jump_wall(self, fault: WallJump) -> None:
        self._injected(
            Injection(fault, self._clock.now(), f"wall clock moved by {fault.by:g}s")
        )
        self._clock.jump_wall(by=fault.by)

    def _injected(self, injection: Injection) -> None:
        self._injections.append(injection)
        self._fault_log.append(
            Event(
                "simulation.fault",
                injection.at,
                {"fault": injection.fault.to_text(), "detail": injection.detail},
            )
        )

    # -- invariants --------------------------------------------------------------------

    def invariant(self, fn: Invariant, *, name: str | None = None) -> Invariant:
        """Check ``fn(world)`` after every step from now on; return ``fn``.

        It fails by raising (an ``assert`` will do) or by returning False;
        any other result passes. ``name`` (default: the function's name)
        appears in the error. Usable as a decorator.
        """
        checked_name, checked = self._check_invariant(fn, name)
        self._add_invariant(checked_name, checked)
        return fn

    @staticmethod
    def _check_invariant(fn: object, name: str | None) -> tuple[str, Invariant]:
        if not callable(fn):
            raise InvalidArgumentError(
                f"invariant={fn!r} (type={type(fn).__name__}) is not callable; pass "
                "a function taking the world and raising (or returning False) when "
                "the invariant does not hold"
            )
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidArgumentError(
                f"name={name!r} (type={type(name).__name__}) is not an invariant "
                "name; pass a non-empty str or None"
            )
        return name or getattr(fn, "__name__", None) or describe_callable(fn), fn

    def _add_invariant(self, name: str, fn: Invariant) -> None:
        self._invariants.append((name, fn))
        if self._checking:
            self._counting = True
            self._scheduler.after_step = self._after_step

    def check_invariants(self) -> None:
        """Check every invariant now; raise `InvariantViolationError` on a failure."""
        for name, fn in self._invariants:
            failed, error = self._test(fn)
            if failed:
                raise self._violated(name, error)

    def _test(self, fn: Invariant) -> tuple[bool, BaseException | None]:
        """Whether ``fn`` failed, and its error (None when it returned False)."""
        try:
            result = fn(self)
        except Exception as error:
            return True, error
        return result is False, None

    def _after_step(self) -> None:
        # Steps of a batch that began before checking stopped still call
        # this; they are not counted, so `steps` is what invariants saw.
        if not self._checking:
            return
        self._steps += 1
        for name, fn in self._invariants:
            failed, error = self._test(fn)
            if failed:
                self._stop_on(self._violated(name, error))
                return

    def _violated(
        self, name: str, error: BaseException | None
    ) -> InvariantViolationError:
        mono = self._clock.monotonic_ns() / NANOS_PER_SECOND
        why = "returned False" if error is None else f"raised {describe_error(error)}"
        violation = InvariantViolationError(
            f"invariant {name!r} failed after step {self._steps} at {mono:g}s of "
            f"virtual time (seed {self._seed}, faults: {self.plan}): it {why}",
            invariant=name,
            step=self._steps,
        )
        violation.__cause__ = error
        if self._violation is None:
            self._violation = violation
        return violation

    def _stop_on(self, violation: InvariantViolationError) -> None:
        """End the run at the first violation: cancel every task but Phyxius's own.

        Processes and supervisors are left to be shut down; whoever awaited
        the cancelled work turns the cancellation into the violation.
        """
        self._checking = False
        self._scheduler.after_step = None
        loop = asyncio.get_running_loop()
        for task in asyncio.all_tasks(loop):
            if not task.get_name().startswith(_RESERVED_PREFIX):
                task.cancel(f"invariant {violation.invariant!r} failed")

    # -- running -----------------------------------------------------------------------

    def run(
        self, scenario: Callable[[World], Awaitable[_T]], *, check: bool = True
    ) -> Outcome:
        """Run ``await scenario(world)`` on a new virtual-time loop; return the outcome.

        The loop runs on the world's clock with autojump and the world's
        scheduler. After the scenario, the supervisors are shut down (within
        ``shutdown_deadline`` virtual seconds). With ``check`` (the default)
        a failed run raises `SimulationFailedError`, whose message holds the
        seed, the faults and the call that replays the run, and whose
        ``outcome`` is the `Outcome`; with ``check=False`` nothing the
        scenario raises escapes: it is the outcome's ``error``. A world runs
        once.
        """
        __tracebackhide__ = True  # pytest shows the caller's line, not this one
        self._claim_run()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise SimulationUsageError(
                "World.run() was called inside a running event loop; await "
                "world.run_async(scenario) there instead"
            )
        value: object = None
        error: BaseException | None = None
        loop = VirtualTimeEventLoop(self._clock, scheduler=self._scheduler)
        with asyncio.Runner(loop_factory=lambda: loop) as runner:
            try:
                value = runner.run(self._main(scenario))
            except Exception as caught:
                error = caught
        outcome = self.outcome(value, error, journals=self._record or error is not None)
        if check and error is not None:
            raise SimulationFailedError(
                outcome.report(scenario_name(scenario)), outcome
            ) from error
        return outcome

    async def run_async(self, scenario: Callable[[World], Awaitable[_T]]) -> _T:
        """Run ``await scenario(world)`` on the running loop, then shut down.

        For a test that already runs on a virtual-time loop with the world's
        scheduler (the pytest plugin's ``simulation`` fixture). Raises what
        the scenario raises, or `InvariantViolationError`.
        """
        self._claim_run()
        return await self._main(scenario)

    def _claim_run(self) -> None:
        if self._ran:
            raise SimulationUsageError(
                "this World has run already; a world serves one run, so make a "
                "new one (simulate() does) for the next"
            )
        self._ran = True

    async def _main(self, scenario: Callable[[World], Awaitable[_T]]) -> _T:
        if not callable(scenario):
            raise InvalidArgumentError(
                f"scenario={scenario!r} (type={type(scenario).__name__}) is not "
                "callable; pass an async function taking the world"
            )
        failure: BaseException | None = None
        try:
            awaitable = scenario(self)
            if not inspect.isawaitable(awaitable):
                raise InvalidArgumentError(
                    f"scenario={describe_callable(scenario)} returned "
                    f"{awaitable!r}, not an awaitable; make it an async function"
                )
            value = await awaitable
            if self._checking:
                self.check_invariants()
            return value
        except (Exception, asyncio.CancelledError) as error:
            # The first violation is the cause of whatever came after it:
            # the cancellation it caused, or an error that cancellation led to.
            failure = self._violation or error
            violation = self._violation
            if violation is not None:
                # Its cause is the invariant's own error, not the cancellation
                # that ended the run (which `from` keeps out of the context).
                raise violation from violation.__cause__
            raise
        finally:
            self._checking = False
            self._scheduler.after_step = None
            try:
                await self.shutdown()
            except SimulationUsageError as stuck:
                if failure is None:
                    raise
                failure.add_note(str(stuck))

    async def shutdown(self) -> None:
        """Shut the world's supervisors down, last made first, within the deadline.

        Raises `SimulationUsageError` when they do not stop within
        ``shutdown_deadline`` virtual seconds.
        """
        deadline = self._shutdown_ns / NANOS_PER_SECOND
        try:
            async with asyncio.timeout(deadline):
                for supervisor in reversed(self._supervisors):
                    await supervisor.shutdown()
        except TimeoutError:
            raise SimulationUsageError(
                f"the world's supervisors did not shut down within "
                f"shutdown_deadline={deadline:g} virtual seconds; a handler may "
                "never return, or an on_stop may hang"
            ) from None

    def outcome(
        self,
        value: object = None,
        error: BaseException | None = None,
        *,
        journals: bool = True,
    ) -> Outcome:
        """The `Outcome` of the world as it is now, with ``value`` or ``error``.

        ``journals=False`` leaves out the journals' text, which is most of
        the cost of an outcome.
        """
        scheduler = self._scheduler
        return Outcome(
            seed=self._seed,
            plan=self.plan,
            scripted=self._scripted,
            schedule=scheduler.schedule,
            injections=tuple(self._injections),
            turns=scheduler.turns,
            decisions=scheduler.decisions,
            reorders=scheduler.reorders,
            steps=self._steps if self._counting else None,
            elapsed=self._clock.monotonic_ns() / NANOS_PER_SECOND,
            value=value,
            error=error,
            journals={
                name: journal.to_json()
                for name, journal in sorted(self.journals.items())
            }
            if journals
            else {},
        )

    def __repr__(self) -> str:
        return (
            f"<World seed={self._seed} faults={self.plan} "
            f"journals={len(self._journals)} supervisors={len(self._supervisors)}>"
        )
