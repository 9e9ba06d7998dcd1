"""`shrink`: turn a failing run into the smallest run that fails the same way.

A failure found by a seed comes with every choice that seed made: a uniform
shuffle reorders most choice points of the run, and a drawn fault plan may
hold faults that play no part. Shrinking replays the run with less, keeping
each simplification that still fails with the same error, until nothing more
can go:

1. faults: each one left out in turn;
2. reorderings: runs of picks set back to 0 (first-in, first-out), halves
   first, then quarters, down to single picks;
3. picks: each remaining pick lowered towards 1;
4. one reordering: while two or more remain, every schedule with a single
   reordering, earliest and smallest first (two moves may amount to one
   made elsewhere, which passes 2 and 3 cannot reach);
5. faults again, made simpler: an earlier message or append, ``"before"``
   rather than ``"after"``, a shorter delay, a smaller wall jump.

The passes repeat while one of them made progress. Every candidate is one
run in a fresh `World`, with the failure's seed still deciding everything
but the schedule and the faults (ids, jitter, `World.random`), so a
scenario that draws from `World.random` shrinks as well as one that does
not. It is the same idea as hypothesis's shrinking, without hypothesis, for
failures found by `explore` or by the pytest plugin's ``--phyxius-runs``.

What counts as "the same way": an error of the same type, and for an
`InvariantViolationError` the same invariant. ``same_error=False`` accepts
any failure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Final

from phyxius._errors import InvalidArgumentError
from phyxius._time import Duration, WallTime
from phyxius.testing._errors import InvariantViolationError, SimulationUsageError
from phyxius.testing._faults import (
    AppendFailure,
    Crash,
    Delay,
    Drop,
    Duplicate,
    Fault,
    FaultPlan,
    WallJump,
)
from phyxius.testing._outcome import Outcome, describe_error
from phyxius.testing._schedule import Schedule
from phyxius.testing._world import DEFAULT_SHUTDOWN_DEADLINE, Invariant, World

__all__ = ["DEFAULT_SHRINK_RUNS", "shrink"]

DEFAULT_SHRINK_RUNS: Final = 1000
"""How many runs `shrink` may make before it returns the smallest failure so far."""


def _signature(error: BaseException | None) -> tuple[type[BaseException], str] | None:
    if error is None:
        return None
    if isinstance(error, InvariantViolationError):
        return type(error), error.invariant
    return type(error), ""


def _weight(fault: Fault) -> float:
    """How far a fault is from its simplest form; every `_simpler` step lowers it."""
    if isinstance(fault, WallJump):
        return fault.at + abs(fault.by)
    if isinstance(fault, Crash):
        return fault.message + (0.5 if fault.point == "after" else 0)
    if isinstance(fault, AppendFailure):
        return fault.append + (0.5 if fault.point == "after" else 0)
    weight = fault.message + (0.5 if fault.sender is not None else 0)
    return weight + (fault.by if isinstance(fault, Delay) else 0)


def _size(outcome: Outcome) -> tuple[int, int, int, int, float]:
    """How complex a failing run is: the order shrinking lowers, fewest faults first."""
    picks = outcome.scripted.picks if outcome.scripted is not None else ()
    return (
        len(outcome.plan),
        sum(1 for pick in picks if pick),
        sum(picks),
        len(picks),
        sum(_weight(fault) for fault in outcome.plan),
    )


class _Shrinker:
    """The state of one shrinking: the smallest failure so far and the budget."""

    def __init__(
        self,
        run: Callable[[Schedule, FaultPlan], Outcome],
        best: Outcome,
        *,
        same_error: bool,
        max_runs: int,
    ) -> None:
        self._run = run
        self._target = _signature(best.error)
        self._same_error = same_error
        self._budget = max_runs
        # Invariant: `best` failed the same way as the original run, and
        # `_size(best)` never grows.
        self.best = best
        self.runs = 0

    @property
    def exhausted(self) -> bool:
        return self.runs >= self._budget

    @property
    def picks(self) -> tuple[int, ...]:
        scripted = self.best.scripted
        return () if scripted is None else scripted.picks

    def attempt(self, picks: Iterable[int], plan: FaultPlan) -> bool:
        """Run with ``picks`` and ``plan``; keep the run if it is a smaller failure."""
        schedule = Schedule(picks)
        if (schedule.picks, plan) == (self.picks, self.best.plan):
            return False
        if self.exhausted:
            return False
        self.runs += 1
        outcome = self._run(schedule, plan)
        if outcome.error is None:
            return False
        if self._same_error and _signature(outcome.error) != self._target:
            return False
        if _size(outcome) >= _size(self.best):
            return False
        self.best = outcome
        return True

    # -- the passes ------------------------------------------------------------------

    def drop_faults(self) -> bool:
        progress = False
        index = 0
        while index < len(self.best.plan) and not self.exhausted:
            faults = self.best.plan.faults
            rest = FaultPlan(*faults[:index], *faults[index + 1 :])
            if self.attempt(self.picks, rest):
                progress = True
            else:
                index += 1
        return progress

    def zero_picks(self) -> bool:
        progress = False
        chunk = max(1, len(self.picks) // 2)
        while not self.exhausted:
            start = 0
            while start < len(self.picks) and not self.exhausted:
                picks = list(self.picks)
                window = picks[start : start + chunk]
                if any(window):
                    picks[start : start + chunk] = [0] * len(window)
                    if self.attempt(picks, self.best.plan):
                        progress = True
                        continue
                start += chunk
            if chunk == 1:
                return progress
            chunk //= 2
        return progress

    def lower_picks(self) -> bool:
        progress = False
        index = 0
        while index < len(self.picks) and not self.exhausted:
            current = self.picks[index]
            for lower in range(1, current):
                picks = list(self.picks)
                picks[index] = lower
                if self.attempt(picks, self.best.plan):
                    progress = True
                    break
            index += 1
        return progress

    def single_reorderings(self) -> bool:
        """Try every schedule with one reordering, when the best has more.

        Zeroing picks one at a time cannot reach such a schedule when each
        reordering of the best is needed only because of another (two moves
        that together amount to one elsewhere), so look for it directly,
        earliest and smallest first.
        """
        if sum(1 for pick in self.picks if pick) < 2:
            return False
        largest = min(max(self.picks), _LARGEST_SINGLE_PICK)
        for position in range(len(self.picks)):
            for pick in range(1, largest + 1):
                if self.exhausted:
                    return False
                if self.attempt([0] * position + [pick], self.best.plan):
                    return True
        return False

    def simplify_faults(self) -> bool:
        progress = False
        index = 0
        while index < len(self.best.plan) and not self.exhausted:
            faults = self.best.plan.faults
            fault = faults[index]
            for simpler in _simpler(fault):
                others = faults[:index] + faults[index + 1 :]
                if self.attempt(self.picks, FaultPlan(*others, simpler)):
                    progress = True
                    break
            else:
                index += 1
        return progress


_LARGEST_SINGLE_PICK: Final = 8
"""The largest pick `_Shrinker.single_reorderings` tries at each choice point."""


def _simpler(fault: Fault) -> Iterator[Fault]:
    """Simpler versions of ``fault``, the simplest first."""
    if isinstance(fault, Crash):
        for earlier in range(1, fault.message):
            yield dataclasses.replace(fault, message=earlier)
        if fault.point == "after":
            yield dataclasses.replace(fault, point="before")
    elif isinstance(fault, AppendFailure):
        for earlier in range(1, fault.append):
            yield dataclasses.replace(fault, append=earlier)
        if fault.point == "after":
            yield dataclasses.replace(fault, point="before")
    elif isinstance(fault, Drop | Duplicate | Delay):
        for earlier in range(1, fault.message):
            yield dataclasses.replace(fault, message=earlier)
        if fault.sender is not None:
            yield dataclasses.replace(fault, sender=None)
        if isinstance(fault, Delay) and fault.by > 0.001:
            yield dataclasses.replace(fault, by=max(0.001, round(fault.by / 2, 3)))
    elif isinstance(fault, WallJump):
        if fault.at > 0:
            yield dataclasses.replace(fault, at=0)
        if abs(fault.by) > 1:
            yield dataclasses.replace(fault, by=round(fault.by / 2, 3))


def shrink(
    scenario: Callable[[World], Awaitable[Any]],
    failure: Outcome,
    *,
    invariants: Iterable[Invariant] = (),
    start: WallTime | None = None,
    shutdown_deadline: Duration = DEFAULT_SHUTDOWN_DEADLINE,
    max_runs: int = DEFAULT_SHRINK_RUNS,
    same_error: bool = True,
) -> Outcome:
    """The smallest run that fails like ``failure``; see the module docstring.

    ``failure`` is the `Outcome` of a failed run (from `simulate` with
    ``check=False``, `explore`, or `SimulationFailedError.outcome`);
    ``invariants``, ``start`` and ``shutdown_deadline`` must be those that
    run had. The result is the `Outcome` of the smallest failing run found
    within ``max_runs`` runs: its ``scripted`` schedule and ``plan``, with
    its ``seed``, replay it (`Outcome.replay` says how). Raises
    `SimulationUsageError` when ``failure`` does not fail again on replay,
    which means the scenario depends on something outside the world (real
    time, threads, a global generator, state left by an earlier run).
    """
    if not isinstance(failure, Outcome):
        raise InvalidArgumentError(
            f"failure={failure!r} (type={type(failure).__name__}) is not an Outcome; "
            "pass the outcome of a failed run (SimulationFailedError.outcome)"
        )
    if failure.error is None:
        raise InvalidArgumentError(
            "failure is the outcome of a run that passed; shrink the outcome of a "
            "failed run"
        )
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
        raise InvalidArgumentError(
            f"max_runs={max_runs!r} (type={type(max_runs).__name__}) is not a "
            "number of runs; pass an int, 1 or more"
        )
    invariant_list = list(invariants)

    def run(schedule: Schedule | None, plan: FaultPlan) -> Outcome:
        world = World(
            failure.seed,
            schedule=schedule,
            plan=plan,
            invariants=invariant_list,
            start=start,
            shutdown_deadline=shutdown_deadline,
        )
        return world.run(scenario, check=False)

    # Replay the failure as it was, recording its choices: they are what
    # shrinking takes away from, and a replay that passes is nondeterminism.
    replayed = run(failure.scripted, failure.plan)
    if _signature(replayed.error) != _signature(failure.error):
        got = "passed" if replayed.error is None else describe_error(replayed.error)
        raise SimulationUsageError(
            f"the failure did not repeat on replay (it {got}); the scenario depends "
            "on something outside the world: real time, threads, a global random "
            "generator, or state kept between runs. Make it take everything from "
            "the world it is given"
        )
    start_point = dataclasses.replace(
        replayed, scripted=replayed.schedule, run=failure.run, runs=failure.runs
    )
    shrinker = _Shrinker(run, start_point, same_error=same_error, max_runs=max_runs)

    progress = True
    while progress and not shrinker.exhausted:
        progress = shrinker.drop_faults()
        progress = shrinker.zero_picks() or progress
        progress = shrinker.lower_picks() or progress
        progress = shrinker.single_reorderings() or progress
        progress = shrinker.simplify_faults() or progress
    return dataclasses.replace(shrinker.best, run=failure.run, runs=failure.runs)
