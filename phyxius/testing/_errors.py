"""Errors of the simulation tools.

`SimulationError` is the root. The injected faults raise errors of their own
(`InjectedCrash` inside a process, `InjectedAppendError` from a journal
store), so that a test can tell a planned failure from a real one; a run that
went wrong raises `SimulationFailedError`, whose message carries the seed,
the fault plan and how to replay the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phyxius._errors import PhyxiusError
from phyxius.journal import StoreError

if TYPE_CHECKING:
    from phyxius.testing._faults import Fault
    from phyxius.testing._outcome import Outcome

__all__ = [
    "InjectedAppendError",
    "InjectedCrash",
    "InvariantViolationError",
    "SimulationError",
    "SimulationFailedError",
    "SimulationUsageError",
]


class SimulationError(PhyxiusError):
    """Base class of every error raised by `phyxius.testing`."""


class SimulationUsageError(SimulationError, RuntimeError):
    """A simulation was used in a way it does not support; the message says how."""


class InjectedCrash(SimulationError, RuntimeError):
    """Raised inside a process by a `Crash` fault: the crash the plan asked for."""

    def __init__(self, message: str, fault: Fault) -> None:
        super().__init__(message)
        self.fault = fault
        """The `Crash` that caused it."""


class InjectedAppendError(StoreError, SimulationError):
    """Raised by a journal append that an `AppendFailure` fault makes fail.

    It is a `phyxius.journal.StoreError`, as a real store failure would be,
    so code that handles store failures handles it too.
    """

    def __init__(self, message: str, fault: Fault) -> None:
        super().__init__(message)
        self.fault = fault
        """The `AppendFailure` that caused it."""


class InvariantViolationError(SimulationError, AssertionError):
    """An invariant given to a simulation did not hold after some step."""

    def __init__(self, message: str, *, invariant: str, step: int) -> None:
        super().__init__(message)
        self.invariant = invariant
        """The name of the invariant that failed."""
        self.step = step
        """How many steps had run when it failed (0: before the first)."""


class SimulationFailedError(SimulationError, AssertionError):
    """A simulated run failed; the message says how to replay it.

    ``outcome`` holds everything about the run (seed, plan, schedule,
    journals); ``__cause__`` is the error the run ended with.
    """

    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message)
        self.outcome = outcome
        """The `Outcome` of the failed run."""
