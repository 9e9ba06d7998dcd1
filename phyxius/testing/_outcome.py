"""`Outcome`: everything about one simulated run, and how to replay it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

from phyxius._events import describe_callable
from phyxius.testing._faults import FaultPlan
from phyxius.testing._inject import Injection
from phyxius.testing._schedule import Schedule

__all__ = ["Outcome"]

# How many injections a report lists before it says how many more there were.
_REPORTED_INJECTIONS = 10


def scenario_name(scenario: object) -> str:
    """How a replay call names a scenario: its ``__name__``, else a description."""
    name = getattr(scenario, "__name__", None)
    if isinstance(name, str) and name:
        return name
    return describe_callable(scenario)


def describe_error(error: BaseException) -> str:
    """``Type: message`` of an exception."""
    name = type(error).__qualname__
    text = str(error)
    return f"{name}: {text}" if text else name


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The result of one simulated run: what it returned or raised, and why.

    ``seed``, ``plan`` and ``scripted`` (the `Schedule` replayed, if any) are
    what the run was given; ``schedule`` is the choices it made (replaying
    it with the same seed and plan repeats the run); ``injections`` the
    faults that struck. ``journals`` maps every journal of the world
    (``phyxius.lifecycle`` and ``phyxius.faults`` included) to its
    ``to_json()`` text, so two runs compare byte for byte (it is empty for
    a run that passed in a world made with ``record=False``, as `explore`
    makes them).
    """

    seed: int
    plan: FaultPlan
    scripted: Schedule | None
    schedule: Schedule
    injections: tuple[Injection, ...]
    turns: int
    decisions: int
    reorders: int
    steps: int | None
    """Callbacks run, counted only while invariants are checked; else None."""
    elapsed: float
    """Virtual seconds of monotonic time the run took."""
    value: object
    error: BaseException | None
    journals: Mapping[str, str]
    run: int | None = None
    """The run's number in an exploration (1 is the first), or None."""
    runs: int | None = None
    """How many runs the exploration would make, or None."""

    @property
    def ok(self) -> bool:
        """True when the run returned without an error."""
        return self.error is None

    def replay(self, scenario: str = "scenario") -> str:
        """The Python call that replays this run, for a scenario named ``scenario``."""
        arguments = [scenario]
        if self.seed or self.scripted is None:
            arguments.append(f"seed={self.seed}")
        if self.scripted is not None:
            arguments.append(f"schedule={self.scripted!r}")
        if self.plan:
            arguments.append(f"plan={self.plan!r}")
        return f"simulate({', '.join(arguments)})"

    def report(self, scenario: str = "scenario") -> str:
        """A readable account of the run: error, seed, faults, schedule, replay."""
        if self.error is None:
            head = "simulated run passed"
        else:
            head = f"simulated run failed: {describe_error(self.error)}"
        seed = str(self.seed)
        if self.seed == 0 and self.scripted is None:
            seed += " (first-in, first-out order)"
        if self.run is not None:
            seed += f" (run {self.run} of {self.runs})"
        lines = [head, f"  seed:      {seed}", f"  faults:    {self.plan}"]
        for index, injection in enumerate(self.injections):
            if index == _REPORTED_INJECTIONS:
                more = len(self.injections) - index
                lines.append(f"             ... and {more} more")
                break
            label = "  injected:" if index == 0 else "           "
            lines.append(f"{label} {injection}")
        if self.scripted is not None:
            lines.append(f"  scripted:  {self.scripted!r} ({self.scripted})")
        lines.append(
            f"  schedule:  {self.decisions} choice points, {self.reorders} "
            f"reordered, in {self.turns} loop turns"
            + ("" if self.steps is None else f" ({self.steps} steps)")
        )
        lines.append(f"  time:      {self.elapsed:g}s of virtual time")
        lines.append(f"  replay:    {self.replay(scenario)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()
