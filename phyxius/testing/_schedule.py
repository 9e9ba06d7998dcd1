"""Schedulers that decide the order of each event-loop turn: seeded or scripted.

A `VirtualTimeEventLoop` hands every turn's ready callbacks (tasks to resume,
timers that came due, I/O callbacks) to its `ReadyScheduler` before it runs
them. The schedulers here treat a batch of ``n`` callbacks as ``n - 1``
*choice points*: at each one, some callback among those not yet placed runs
next, and the others keep their first-in, first-out order. A *pick* of 0 at
every choice point is plain FIFO order; a pick of ``k`` lets the ``k``-th
waiting callback jump ahead. So the number of non-zero picks is the number of
reorderings, which is what hypothesis shrinks.

* `SeededScheduler` draws every pick from ``random.Random(seed)``: a uniform
  shuffle of each batch, the same shuffle for the same seed. Seed 0 draws
  nothing and keeps FIFO order.
* `ScriptedScheduler` takes its picks from a `Schedule`, a plain tuple of
  numbers; when they run out, FIFO order resumes. Hypothesis draws schedules
  (`phyxius.testing.strategies.schedules`).

Both record the picks they made, so any run can be turned into the
`Schedule` that replays it (`SimulationScheduler.schedule`), and both can
call a hook after every callback they run (used to check invariants).

Only the order *within* a turn changes: a callback scheduled during a turn
still waits for the next one, as in asyncio. A program that relies on
asyncio's promise that two callbacks scheduled with ``call_soon`` run in the
order they were scheduled can fail under a reordering it would never meet in
production; such code is rare, and trio's scheduler makes no such promise at
all.
"""

from __future__ import annotations

import abc
import asyncio
import contextvars
import random
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, final

from phyxius._errors import InvalidArgumentError

__all__ = [
    "FIFO",
    "Schedule",
    "ScriptedScheduler",
    "SeededScheduler",
    "SimulationScheduler",
    "check_seed",
]


def check_seed(seed: object, *, name: str = "seed") -> int:
    """Return ``seed`` if it is a seed (an int, zero or more), else raise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgumentError(
            f"{name}={seed!r} (type={type(seed).__name__}) is not a seed; pass an "
            "int, zero or more (0 keeps plain first-in, first-out order)"
        )
    return seed


@final
@dataclass(frozen=True, slots=True, init=False)
class Schedule:
    """The scheduling choices of one run, as data: a tuple of picks.

    ``picks[i]`` is taken at the ``i``-th choice point of the run (a point
    where more than one callback could run next): the callback at that
    position among the waiting ones, counted modulo their number, runs next.
    Picks past the end are 0, so trailing zeros are dropped and
    ``Schedule()`` is plain FIFO order. Two schedules are equal when they make
    the same choices.
    """

    picks: tuple[int, ...]
    """The picks, without trailing zeros."""

    def __init__(self, picks: Iterable[int] = ()) -> None:
        if isinstance(picks, str | bytes) or not isinstance(picks, Iterable):
            raise InvalidArgumentError(
                f"picks={picks!r} (type={type(picks).__name__}) is not a sequence "
                "of picks; pass a tuple of ints, zero or more"
            )
        values = tuple(picks)
        for index, pick in enumerate(values):
            if isinstance(pick, bool) or not isinstance(pick, int) or pick < 0:
                raise InvalidArgumentError(
                    f"picks[{index}]={pick!r} (type={type(pick).__name__}) is not a "
                    "pick; each pick is an int, zero or more"
                )
        end = len(values)
        while end and values[end - 1] == 0:
            end -= 1
        object.__setattr__(self, "picks", values[:end])

    @property
    def reorders(self) -> int:
        """How many choice points take another callback than the first waiting."""
        return sum(1 for pick in self.picks if pick)

    def __repr__(self) -> str:
        return f"Schedule(picks={self.picks!r})"

    def __str__(self) -> str:
        if not self.picks:
            return "first-in, first-out"
        moved = [
            f"{index + 1}->{pick}" for index, pick in enumerate(self.picks) if pick
        ]
        return (
            f"{self.reorders} reordering(s) at choice point->pick: "
            + ", ".join(moved[:12])
            + (" ..." if len(moved) > 12 else "")
        )


FIFO: Final = Schedule()
"""The empty `Schedule`: every choice point keeps first-in, first-out order."""


def _run_step(handle: asyncio.Handle, after_step: Callable[[], None]) -> None:
    # A cancelled callback is skipped, as the loop would skip it, and is no
    # step: nothing ran, so no invariant can have changed.
    if not handle._cancelled:
        handle._run()
        after_step()


class SimulationScheduler(abc.ABC):
    """What `SeededScheduler` and `ScriptedScheduler` share.

    It implements `phyxius.clock.ReadyScheduler`: pass it to a
    `VirtualTimeEventLoop` as ``scheduler=``. It counts `turns`, `decisions`
    (choice points) and `reorders`, records its picks (`schedule`), and calls
    `after_step`, when set, after every callback it lets run.
    """

    __slots__ = (
        "_picks",
        "_record",
        "_step_context",
        "after_step",
        "decisions",
        "reorders",
        "turns",
    )

    def __init__(self, *, record: bool = True) -> None:
        self.turns = 0
        """Loop turns that ran at least one callback."""
        self.decisions = 0
        """Choice points met: places where more than one callback could run next."""
        self.reorders = 0
        """Choice points where another callback than the first waiting ran."""
        self.after_step: Callable[[], None] | None = None
        """Called after every callback the loop runs, if set; it must not raise."""
        self._record = bool(record)
        # Invariant: with recording on, `_picks[i]` is the pick taken at
        # choice point i, for every choice point met so far.
        self._picks = array("L")
        # One empty context for the step wrappers: each wrapped callback runs
        # in its own context anyway, and copying one per step costs time.
        self._step_context = contextvars.Context()

    @abc.abstractmethod
    def _choose(self, candidates: int) -> int:
        """The pick at the next choice point, among ``candidates`` (at least 2)."""

    def order(self, batch: list[asyncio.Handle]) -> None:
        """Reorder one turn's ready callbacks in place (see the module docstring)."""
        self.turns += 1
        count = len(batch)
        if count > 1:
            choose = self._choose
            record = self._picks.append if self._record else None
            reorders = 0
            for position in range(count - 1):
                pick = choose(count - position)
                if record is not None:
                    record(pick)
                if pick:
                    reorders += 1
                    batch.insert(position, batch.pop(position + pick))
            self.decisions += count - 1
            self.reorders += reorders

        after_step = self.after_step
        if after_step is not None:
            loop: Any = batch[0]._loop  # type: ignore[attr-defined]
            context = self._step_context
            for index, handle in enumerate(batch):
                batch[index] = asyncio.Handle(
                    _run_step, (handle, after_step), loop, context
                )

    @property
    def schedule(self) -> Schedule:
        """The `Schedule` that replays the choices made so far.

        Empty when the scheduler was created with ``record=False``.
        """
        return Schedule(self._picks)

    def _stats(self) -> str:
        return f"turns={self.turns} decisions={self.decisions} reorders={self.reorders}"


@final
class SeededScheduler(SimulationScheduler):
    """Shuffles every turn's ready callbacks with ``random.Random(seed)``.

    The same seed gives the same order on every run of the same program.
    ``seed=0`` keeps plain first-in, first-out order and draws nothing.
    ``record=False`` skips recording the picks (`schedule` is then empty),
    for long runs where only the seed matters.
    """

    __slots__ = ("_random", "seed")

    def __init__(self, seed: int = 0, *, record: bool = True) -> None:
        self.seed: Final = check_seed(seed)
        """The seed; 0 is first-in, first-out order."""
        super().__init__(record=record)
        self._random = random.Random(seed).random

    def _choose(self, candidates: int) -> int:
        if not self.seed:
            return 0
        # random() rather than randrange(): half the cost, and as uniform
        # for the batch sizes a loop turn has.
        return int(self._random() * candidates)

    def __repr__(self) -> str:
        return f"<SeededScheduler seed={self.seed} {self._stats()}>"


@final
class ScriptedScheduler(SimulationScheduler):
    """Takes its picks from a `Schedule`; FIFO order once they run out."""

    __slots__ = ("_next", "_script", "script")

    def __init__(self, schedule: Schedule = FIFO, *, record: bool = True) -> None:
        if not isinstance(schedule, Schedule):
            raise InvalidArgumentError(
                f"schedule={schedule!r} (type={type(schedule).__name__}) is not a "
                "Schedule; pass Schedule(picks=(...)) or phyxius.testing.FIFO"
            )
        super().__init__(record=record)
        self.script: Final = schedule
        """The schedule being replayed."""
        self._script = schedule.picks
        self._next = 0

    def _choose(self, candidates: int) -> int:
        index = self._next
        self._next = index + 1
        script = self._script
        if index >= len(script):
            return 0
        return script[index] % candidates

    def __repr__(self) -> str:
        return f"<ScriptedScheduler {self.script!r} {self._stats()}>"
