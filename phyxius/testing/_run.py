"""`simulate` one run in a fresh world, `explore` many seeds until one fails."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, final

from phyxius._errors import InvalidArgumentError
from phyxius._time import Duration, WallTime
from phyxius.testing._errors import SimulationFailedError
from phyxius.testing._faults import FaultPlan
from phyxius.testing._outcome import Outcome, scenario_name
from phyxius.testing._schedule import Schedule, check_seed
from phyxius.testing._shrink import DEFAULT_SHRINK_RUNS
from phyxius.testing._shrink import shrink as shrink_failure
from phyxius.testing._space import FaultSpace
from phyxius.testing._world import DEFAULT_SHUTDOWN_DEADLINE, Invariant, World

__all__ = ["DEFAULT_RUNS", "Exploration", "Scenario", "explore", "simulate"]

Scenario = Callable[[World], Awaitable[Any]]
"""A simulated program: an async function taking the `World` it runs in."""

DEFAULT_RUNS: Final = 100
"""How many seeds `explore` tries unless told otherwise."""


def simulate(
    scenario: Scenario,
    *,
    seed: int = 0,
    schedule: Schedule | None = None,
    plan: FaultPlan | None = None,
    faults: FaultSpace | None = None,
    invariants: Iterable[Invariant] = (),
    start: WallTime | None = None,
    shutdown_deadline: Duration = DEFAULT_SHUTDOWN_DEADLINE,
    check: bool = True,
) -> Outcome:
    """Run ``scenario`` once in a fresh `World` and return its `Outcome`.

    This is the helper for hypothesis: every call (every example) gets a new
    clock, loop, scheduler, fault injector, supervisors and journals, with
    ``invariants`` checked after every step. The arguments are the world's
    (see `World`). With ``check`` (the default) a failed run raises
    `SimulationFailedError`, whose message holds the seed, the faults and the
    call that replays the run; with ``check=False`` the outcome says.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    world = World(
        seed,
        schedule=schedule,
        plan=plan,
        faults=faults,
        invariants=invariants,
        start=start,
        shutdown_deadline=shutdown_deadline,
    )
    return world.run(scenario, check=check)


@final
@dataclass(frozen=True, slots=True)
class Exploration:
    """What `explore` did: the seeds it ran, and the first failure if any."""

    seeds: tuple[int, ...]
    """The seeds run, in order (up to and including a failing one)."""

    decisions: int
    """Choice points met over all runs."""

    reorders: int
    """Choice points where the run took another callback than FIFO's."""

    failure: Outcome | None
    """The outcome of the first failing run, or None when all passed."""

    shrunk: Outcome | None = None
    """The smallest run that fails like `failure`, when `explore` shrank it."""

    @property
    def runs(self) -> int:
        """How many runs were made."""
        return len(self.seeds)

    def __repr__(self) -> str:
        found = "none" if self.failure is None else f"seed {self.failure.seed}"
        return (
            f"<Exploration runs={self.runs} decisions={self.decisions} "
            f"reorders={self.reorders} failure={found}>"
        )


def explore(
    scenario: Scenario,
    *,
    runs: int = DEFAULT_RUNS,
    seeds: Iterable[int] | None = None,
    plan: FaultPlan | None = None,
    faults: FaultSpace | None = None,
    invariants: Iterable[Invariant] = (),
    start: WallTime | None = None,
    shutdown_deadline: Duration = DEFAULT_SHUTDOWN_DEADLINE,
    shrink: bool = False,
    max_shrink_runs: int = DEFAULT_SHRINK_RUNS,
    check: bool = True,
) -> Exploration:
    """Run ``scenario`` with seed after seed until a run fails or ``runs`` pass.

    The seeds are 1 to ``runs`` unless ``seeds`` lists others. Each run gets a
    fresh `World`: its scheduler shuffles each loop turn with the seed, and
    with ``faults`` (a `FaultSpace`) the seed also draws the run's fault plan
    (or every run uses ``plan``). With ``shrink``, the first failing run is
    then shrunk (`shrink`, within ``max_shrink_runs`` runs) to the fewest
    faults and reorderings that still fail the same way. With ``check`` (the
    default) a failure raises `SimulationFailedError` with the seed, the
    faults and the call that replays it (and, shrunk, the smallest run and
    its replay, which is then the error's ``outcome``); with ``check=False``
    the `Exploration` holds them.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise InvalidArgumentError(
            f"runs={runs!r} (type={type(runs).__name__}) is not a number of runs; "
            "pass an int, 1 or more"
        )
    if seeds is None:
        chosen = list(range(1, runs + 1))
    else:
        chosen = [check_seed(seed, name="seeds[]") for seed in seeds]
        if not chosen:
            raise InvalidArgumentError("seeds=[] is empty; pass at least one seed")
    invariant_list = list(invariants)

    tried: list[int] = []
    decisions = reorders = 0
    for number, seed in enumerate(chosen, start=1):
        # Picks are not recorded: the seed alone replays a run.
        world = World(
            seed,
            plan=plan,
            faults=faults,
            invariants=invariant_list,
            start=start,
            shutdown_deadline=shutdown_deadline,
            record=False,
        )
        outcome = world.run(scenario, check=False)
        tried.append(seed)
        decisions += outcome.decisions
        reorders += outcome.reorders
        if outcome.error is None:
            continue
        outcome = dataclasses.replace(outcome, run=number, runs=len(chosen))
        shrunk = None
        if shrink:
            shrunk = shrink_failure(
                scenario,
                outcome,
                invariants=invariant_list,
                start=start,
                shutdown_deadline=shutdown_deadline,
                max_runs=max_shrink_runs,
            )
        if check:
            name = scenario_name(scenario)
            message = outcome.report(name)
            if shrunk is not None:
                message += "\nshrunk to the smallest run that fails the same way:\n"
                message += shrunk.report(name)
            reported = outcome if shrunk is None else shrunk
            raise SimulationFailedError(message, reported) from outcome.error
        return Exploration(tuple(tried), decisions, reorders, outcome, shrunk)
    return Exploration(tuple(tried), decisions, reorders, None)
