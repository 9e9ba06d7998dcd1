"""Clock programs: a sequence of advances and wall jumps, as data.

A test that must hold whatever happens to time runs a `ClockProgram` on its
clock: `Advance` moves monotonic (and wall) time on, firing due timers;
`JumpWall` moves wall time only, as an NTP correction does. Hypothesis draws
programs with `phyxius.testing.strategies.clock_programs` and shrinks a
failing one to the fewest, smallest steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias, final

from phyxius._errors import InvalidArgumentError
from phyxius.clock import ControlledClock
from phyxius.testing._faults import _seconds, _signed_seconds

__all__ = ["Advance", "ClockProgram", "ClockStep", "JumpWall"]


@final
@dataclass(frozen=True, slots=True)
class Advance:
    """Move the clock ``by`` seconds on (a duration, stored as seconds)."""

    by: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "by", _seconds(self.by, "by"))


@final
@dataclass(frozen=True, slots=True)
class JumpWall:
    """Move wall time ``by`` seconds (negative: back); monotonic time stays."""

    by: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "by", _signed_seconds(self.by, "by"))


ClockStep: TypeAlias = Advance | JumpWall
"""One step of a `ClockProgram`."""


@final
@dataclass(frozen=True, slots=True, init=False)
class ClockProgram:
    """Steps to run on a `ControlledClock`, in order: advances and wall jumps."""

    steps: tuple[ClockStep, ...]
    """The steps, in order."""

    def __init__(self, steps: Iterable[ClockStep] = ()) -> None:
        # Typed as steps, but given by a caller who may pass anything.
        given: object = steps
        if isinstance(given, str | bytes) or not isinstance(given, Iterable):
            raise InvalidArgumentError(
                f"steps={given!r} (type={type(given).__name__}) is not a sequence "
                "of steps; pass Advance and JumpWall records"
            )
        values = tuple(given)
        for index, step in enumerate(values):
            if not isinstance(step, Advance | JumpWall):
                raise InvalidArgumentError(
                    f"steps[{index}]={step!r} (type={type(step).__name__}) is not a "
                    "clock step; pass Advance(by) or JumpWall(by)"
                )
        object.__setattr__(self, "steps", values)

    @property
    def total_advance(self) -> float:
        """Seconds of monotonic time the program moves the clock on."""
        return sum(step.by for step in self.steps if isinstance(step, Advance))

    @property
    def total_wall_jump(self) -> float:
        """Seconds the wall jumps add up to (negative: back)."""
        return sum(step.by for step in self.steps if isinstance(step, JumpWall))

    def apply(self, clock: ControlledClock) -> None:
        """Run the program with ``clock.advance`` and ``clock.jump_wall``.

        Timers fire synchronously inside each advance; tasks they wake run
        once the caller yields (use `apply_async` on an event loop).
        """
        _check_clock(clock)
        for step in self.steps:
            if isinstance(step, Advance):
                clock.advance(step.by)
            else:
                clock.jump_wall(by=step.by)

    async def apply_async(self, clock: ControlledClock) -> None:
        """Run the program with ``await clock.advance_async`` and ``jump_wall``.

        Every task woken at each due time runs before time moves on.
        """
        _check_clock(clock)
        for step in self.steps:
            if isinstance(step, Advance):
                await clock.advance_async(step.by)
            else:
                clock.jump_wall(by=step.by)

    def __iter__(self) -> Iterator[ClockStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)


def _check_clock(clock: object) -> None:
    if not isinstance(clock, ControlledClock):
        raise InvalidArgumentError(
            f"clock={clock!r} (type={type(clock).__name__}) is not a "
            "ControlledClock; clock programs move controlled clocks only"
        )
