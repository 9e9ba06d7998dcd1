"""`FaultSpace`: which faults a seed (or hypothesis) may choose from."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, final

from phyxius._errors import InvalidArgumentError
from phyxius._time import NANOS_PER_SECOND, to_nanoseconds
from phyxius.testing._faults import (
    AppendFailure,
    Crash,
    Delay,
    Drop,
    Duplicate,
    Fault,
    FaultPlan,
    Point,
    WallJump,
)

__all__ = ["FAULT_KINDS", "FaultSpace"]

FAULT_KINDS: Final = (
    "crash",
    "drop",
    "duplicate",
    "delay",
    "wall_jump",
    "append_failure",
)
"""The kinds of fault, as `FaultSpace.kinds` names them."""

_POINTS: Final[tuple[Point, ...]] = ("before", "after")
_SEND_KINDS: Final = frozenset({"drop", "duplicate", "delay"})
_NANOS_PER_MILLI: Final = 1_000_000


def _names(value: object, field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidArgumentError(
            f"{field}={value!r} (type={type(value).__name__}) is not a list of "
            "names; pass a tuple of non-empty str"
        )
    names = tuple(value)
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"{field}[{index}]={name!r} (type={type(name).__name__}) is not a "
                "name; pass a non-empty str"
            )
    return names


def _limit(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{field}={value!r} (type={type(value).__name__}) is not a limit; pass "
            f"an int, {minimum} or more"
        )
    return value


def _millis(value: object, field: str) -> int:
    return to_nanoseconds(value, name=field) // _NANOS_PER_MILLI


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSpace:
    """The faults a run may get: targets, kinds and bounds.

    ``processes`` are the process names that may crash or lose, repeat or
    delay messages sent to them (from any sender); ``links`` are
    ``(sender, to)`` pairs whose messages may be dropped, duplicated or
    delayed (only from that sender); ``journals`` are the journal names whose
    appends may fail. ``kinds`` limits the kinds drawn (default: every kind
    that has a target; a wall jump needs none). A plan holds 0 to
    ``max_faults`` faults; each strikes at a message or append number from 1
    to ``max_message``; a delay lasts 1 ms to ``max_delay`` seconds; a wall
    jump strikes within ``horizon`` seconds of the start and moves the wall
    clock by up to ``max_wall_jump`` seconds either way. Durations are drawn
    in whole milliseconds.

    `draw` picks a plan with a `random.Random`; hypothesis draws from the
    same space with `phyxius.testing.strategies.fault_plans`. A `World` of
    seed 0 draws nothing from a space: the plain run has no faults.
    """

    processes: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    journals: tuple[str, ...] = ()
    kinds: tuple[str, ...] = FAULT_KINDS
    max_faults: int = 2
    max_message: int = 5
    max_delay: float = 1.0
    horizon: float = 60.0
    max_wall_jump: float = 3600.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "processes", _names(self.processes, "processes"))
        set_(self, "journals", _names(self.journals, "journals"))
        links = []
        # Typed as a tuple, but given by a caller who may pass anything.
        given: object = self.links
        if isinstance(given, str) or not isinstance(given, Iterable):
            raise InvalidArgumentError(
                f"links={given!r} (type={type(given).__name__}) is not a "
                "list of links; pass a tuple of (sender, to) pairs of names"
            )
        for index, link in enumerate(given):
            if not isinstance(link, tuple | list) or len(link) != 2:
                raise InvalidArgumentError(
                    f"links[{index}]={link!r} is not a link; pass a (sender, to) "
                    "pair of process names"
                )
            links.append(_names(link, f"links[{index}]"))
        set_(self, "links", tuple(links))
        kinds = _names(self.kinds, "kinds")
        unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
        if unknown:
            raise InvalidArgumentError(
                f"kinds={self.kinds!r} names unknown kind(s) {', '.join(unknown)}; "
                f"known: {', '.join(FAULT_KINDS)}"
            )
        set_(self, "kinds", tuple(kind for kind in FAULT_KINDS if kind in kinds))
        _limit(self.max_faults, "max_faults", 0)
        _limit(self.max_message, "max_message", 1)
        if _millis(self.max_delay, "max_delay") < 1:
            raise InvalidArgumentError(
                f"max_delay={self.max_delay!r} is under a millisecond; delays are "
                "drawn in whole milliseconds, so pass 0.001 or more"
            )
        set_(self, "max_delay", _millis(self.max_delay, "max_delay") / 1000)
        set_(self, "horizon", _millis(self.horizon, "horizon") / 1000)
        set_(self, "max_wall_jump", _millis(self.max_wall_jump, "max_wall_jump") / 1000)
        if self.max_faults and not self.available_kinds:
            raise InvalidArgumentError(
                f"kinds={self.kinds!r} have no target in this space: crashes need "
                "processes, message faults need processes or links, append "
                "failures need journals; add targets or other kinds"
            )

    @property
    def available_kinds(self) -> tuple[str, ...]:
        """The kinds in `kinds` that have a target here."""
        available = []
        for kind in self.kinds:
            if (
                (kind == "crash" and self.processes)
                or (kind in _SEND_KINDS and (self.processes or self.links))
                or kind == "wall_jump"
                or (kind == "append_failure" and self.journals)
            ):
                available.append(kind)
        return tuple(available)

    def draw(self, rng: random.Random) -> FaultPlan:
        """A plan of 0 to ``max_faults`` faults, every choice taken from ``rng``."""
        if not isinstance(rng, random.Random):
            raise InvalidArgumentError(
                f"rng={rng!r} (type={type(rng).__name__}) is not a random.Random; "
                "pass random.Random(seed)"
            )
        kinds = self.available_kinds
        count = rng.randint(0, self.max_faults) if kinds else 0
        faults = [self._draw_one(rng, rng.choice(kinds)) for _ in range(count)]
        return FaultPlan(*faults)

    def _draw_one(self, rng: random.Random, kind: str) -> Fault:
        message = rng.randint(1, self.max_message)
        point: Point = rng.choice(_POINTS)
        if kind == "crash":
            return Crash(rng.choice(self.processes), message, point)
        if kind == "append_failure":
            return AppendFailure(rng.choice(self.journals), message, point)
        if kind == "wall_jump":
            at = rng.randint(0, int(self.horizon * 1000)) / 1000
            size = rng.randint(1, max(1, int(self.max_wall_jump * 1000))) / 1000
            return WallJump(at, size if rng.random() < 0.5 else -size)
        targets: list[tuple[str | None, str]] = [(None, to) for to in self.processes]
        targets.extend((sender, to) for sender, to in self.links)
        sender, to = rng.choice(targets)
        if kind == "drop":
            return Drop(to, message, sender)
        if kind == "duplicate":
            return Duplicate(to, message, sender)
        delay_ns = rng.randint(1, int(self.max_delay * 1000)) * _NANOS_PER_MILLI
        return Delay(to, message, delay_ns / NANOS_PER_SECOND, sender)
