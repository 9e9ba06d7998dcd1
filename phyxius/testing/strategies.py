"""Hypothesis strategies for simulations: schedules, fault plans, durations, clocks.

This module imports hypothesis; nothing else in Phyxius does, so import it
only in tests (install ``phyxius[pytest]``). Every strategy shrinks towards
the simplest case, so a failure is reported with the fewest reorderings, the
fewest and earliest faults, and the shortest clock program:

* `schedules`: scheduling choices as a `Schedule`; shrinks towards
  first-in, first-out order (all picks 0).
* `fault_plans` (and `faults`): plans drawn from a `FaultSpace`; shrinks
  towards fewer faults, earlier messages, shorter delays.
* `durations`: values every Phyxius duration argument accepts (``int`` and
  ``float`` seconds, `datetime.timedelta`).
* `clock_programs`: advances and wall jumps, as a `ClockProgram`.
* `seeds`: seeds for `simulate` and `World`.

Give each example a fresh world with `phyxius.testing.simulate`: pytest's
function-scoped fixtures are not reset between the examples of one test.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from hypothesis import strategies as st

from phyxius._errors import InvalidArgumentError
from phyxius._time import NANOS_PER_SECOND, Duration, to_nanoseconds
from phyxius.testing._clock_program import Advance, ClockProgram, ClockStep, JumpWall
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
from phyxius.testing._schedule import Schedule
from phyxius.testing._space import FaultSpace

__all__ = [
    "clock_programs",
    "durations",
    "fault_plans",
    "faults",
    "schedules",
    "seeds",
]

_MAX_SEED: Final = 2**32 - 1
_NANOS_PER_MILLI: Final = 1_000_000
_POINTS: Final = ("before", "after")


def _limit(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{name}={value!r} (type={type(value).__name__}) is not a limit; pass an "
            f"int, {minimum} or more"
        )
    return value


def seeds(*, min_value: int = 0, max_value: int = _MAX_SEED) -> st.SearchStrategy[int]:
    """Seeds from ``min_value`` to ``max_value``; shrinks towards ``min_value``.

    Seed 0 is first-in, first-out order; pass ``min_value=1`` to always
    shuffle.
    """
    _limit(min_value, "min_value", 0)
    _limit(max_value, "max_value", min_value)
    return st.integers(min_value, max_value)


def schedules(*, max_picks: int = 64, max_pick: int = 8) -> st.SearchStrategy[Schedule]:
    """Scheduling choices: up to ``max_picks`` picks from 0 to ``max_pick``.

    Pick ``i`` is taken at the ``i``-th choice point of the run; later
    choice points keep FIFO order. Shrinking removes picks and lowers them
    to 0, so a failure shrinks to the fewest reorderings that still fail.
    """
    _limit(max_picks, "max_picks", 0)
    _limit(max_pick, "max_pick", 1)
    return st.lists(st.integers(0, max_pick), max_size=max_picks).map(Schedule)


def durations(
    *,
    min_value: Duration = 0,
    max_value: Duration = 3600,
    resolution: Duration = 0.001,
    kinds: tuple[type, ...] = (float, int, timedelta),
) -> st.SearchStrategy[Any]:
    """Durations from ``min_value`` to ``max_value``, in steps of ``resolution``.

    Each is a ``float`` of seconds, an ``int`` of seconds or a `timedelta`,
    as ``kinds`` allows (the first is preferred when shrinking; a value that
    an ``int`` or ``timedelta`` cannot hold exactly is given as a float).
    Shrinks towards ``min_value``.
    """
    low = to_nanoseconds(min_value, name="min_value")
    high = to_nanoseconds(max_value, name="max_value")
    step = to_nanoseconds(resolution, name="resolution")
    if step == 0:
        raise InvalidArgumentError(
            f"resolution={resolution!r} is zero; pass a positive duration such as 0.001"
        )
    if high < low:
        raise InvalidArgumentError(
            f"max_value={max_value!r} is below min_value={min_value!r}; pass a "
            "range that is not empty"
        )
    if not kinds or any(kind not in (float, int, timedelta) for kind in kinds):
        raise InvalidArgumentError(
            f"kinds={kinds!r} must name some of float, int and timedelta"
        )
    first = -(-low // step)
    last = high // step
    if last < first:
        raise InvalidArgumentError(
            f"no multiple of resolution={resolution!r} lies between "
            f"min_value={min_value!r} and max_value={max_value!r}"
        )

    def build(multiple: int, kind: type) -> Any:
        nanos = multiple * step
        if kind is int and nanos % NANOS_PER_SECOND == 0:
            return nanos // NANOS_PER_SECOND
        if kind is timedelta and nanos % 1000 == 0:
            return timedelta(microseconds=nanos // 1000)
        return nanos / NANOS_PER_SECOND

    return st.builds(build, st.integers(first, last), st.sampled_from(kinds))


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def faults(space: FaultSpace) -> st.SearchStrategy[Fault]:
    """One fault from ``space``; kinds shrink in the order crash, drop,
    duplicate, delay, wall jump, append failure."""
    if not isinstance(space, FaultSpace):
        raise InvalidArgumentError(
            f"space={space!r} (type={type(space).__name__}) is not a FaultSpace; "
            "pass FaultSpace(processes=..., journals=...)"
        )
    kinds = space.available_kinds
    if not kinds:
        raise InvalidArgumentError(
            f"{space!r} has no fault with a target; add processes, links or "
            "journals, or allow wall jumps"
        )
    message = st.integers(1, space.max_message)
    point = st.sampled_from(_POINTS)
    targets: list[tuple[str | None, str]] = [(None, to) for to in space.processes]
    targets.extend((sender, to) for sender, to in space.links)
    options: list[st.SearchStrategy[Fault]] = []
    for kind in kinds:
        if kind == "crash":
            options.append(
                st.builds(Crash, st.sampled_from(space.processes), message, point)
            )
        elif kind == "append_failure":
            options.append(
                st.builds(
                    AppendFailure, st.sampled_from(space.journals), message, point
                )
            )
        elif kind == "wall_jump":
            reach = max(1, _millis(space.max_wall_jump))
            options.append(
                st.builds(
                    WallJump,
                    st.integers(0, _millis(space.horizon)).map(lambda ms: ms / 1000),
                    st.integers(-reach, reach).filter(bool).map(lambda ms: ms / 1000),
                )
            )
        else:
            link = st.sampled_from(targets)
            if kind == "drop":
                options.append(
                    st.builds(lambda pair, m: Drop(pair[1], m, pair[0]), link, message)
                )
            elif kind == "duplicate":
                options.append(
                    st.builds(
                        lambda pair, m: Duplicate(pair[1], m, pair[0]), link, message
                    )
                )
            else:
                delay = st.integers(1, _millis(space.max_delay)).map(
                    lambda ms: ms * _NANOS_PER_MILLI / NANOS_PER_SECOND
                )
                options.append(
                    st.builds(
                        lambda pair, m, d: Delay(pair[1], m, d, pair[0]),
                        link,
                        message,
                        delay,
                    )
                )
    return st.one_of(options)


def fault_plans(
    space: FaultSpace | None = None, **options: Any
) -> st.SearchStrategy[FaultPlan]:
    """Plans of 0 to ``space.max_faults`` faults drawn from ``space``.

    Pass a `FaultSpace`, or its fields as keywords (``fault_plans(processes=
    ["db"], max_faults=3)``). Shrinks towards the empty plan: fewer faults,
    simpler kinds, earlier messages.
    """
    if space is None:
        space = FaultSpace(**options)
    elif options:
        raise InvalidArgumentError(
            "fault_plans() got a FaultSpace and keyword options; pass one or the other"
        )
    if not space.max_faults or not space.available_kinds:
        return st.just(FaultPlan())
    return st.lists(faults(space), max_size=space.max_faults).map(
        lambda chosen: FaultPlan(*chosen)
    )


def clock_programs(
    *,
    max_steps: int = 20,
    max_advance: Duration = 3600,
    max_wall_jump: Duration = 86400,
    wall_jumps: bool = True,
    resolution: Duration = 0.001,
) -> st.SearchStrategy[ClockProgram]:
    """Up to ``max_steps`` advances (0 to ``max_advance`` seconds) and wall jumps.

    Wall jumps go either way by up to ``max_wall_jump`` seconds; pass
    ``wall_jumps=False`` for advances only. Durations are multiples of
    ``resolution``. Shrinks towards fewer and smaller steps.
    """
    _limit(max_steps, "max_steps", 0)
    advance = durations(
        max_value=max_advance, resolution=resolution, kinds=(float,)
    ).map(Advance)
    steps: st.SearchStrategy[ClockStep] = advance
    if wall_jumps:
        reach = durations(
            min_value=resolution,
            max_value=max_wall_jump,
            resolution=resolution,
            kinds=(float,),
        )
        jump = st.builds(
            lambda size, back: JumpWall(-size if back else size), reach, st.booleans()
        )
        steps = st.one_of(advance, jump)
    return st.lists(steps, max_size=max_steps).map(ClockProgram)
