"""Process statuses and how an incarnation ended."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, final

__all__ = [
    "NORMAL_REASONS",
    "TERMINAL",
    "Exit",
    "ProcessStatus",
    "SupervisorStatus",
]

NORMAL_REASONS: Final = frozenset({"normal", "shutdown"})
"""Stop reasons that count as a normal exit (a transient child is not restarted)."""


class ProcessStatus(enum.StrEnum):
    """Where a process is in its life; compares equal to its string value."""

    STARTING = "starting"
    """``init`` is running."""
    RUNNING = "running"
    """Taking messages."""
    STOPPING = "stopping"
    """An incarnation is ending: finishing its message, running ``on_stop``."""
    RESTARTING = "restarting"
    """Ended, and its supervisor will start it again (maybe after a back-off)."""
    STOPPED = "stopped"
    """Ended for good after a stop or a normal exit."""
    CRASHED = "crashed"
    """Ended for good after a crash its supervisor did not restart."""


TERMINAL: Final = frozenset({ProcessStatus.STOPPED, ProcessStatus.CRASHED})


@final
@dataclass(frozen=True, slots=True)
class Exit:
    """How an incarnation ended: a stop ``reason``, or the ``error`` it crashed with."""

    reason: str
    error: BaseException | None = None

    @property
    def abnormal(self) -> bool:
        """True for a crash, a kill, or a stop whose reason is not normal."""
        return self.error is not None or self.reason not in NORMAL_REASONS


class SupervisorStatus(enum.StrEnum):
    """Where a supervisor is in its life; compares equal to its string value."""

    RUNNING = "running"
    """Supervising its children."""
    RESTARTING = "restarting"
    """Stopped by its parent (or after giving up), waiting to be started again."""
    STOPPING = "stopping"
    """Stopping its children: shutting down, or giving up."""
    STOPPED = "stopped"
    """Shut down for good."""
    FAILED = "failed"
    """Gave up for good; `Supervisor.failure` says why."""
