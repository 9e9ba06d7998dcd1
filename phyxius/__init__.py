"""Phyxius: deterministic time, state, logs, effects and processes for asyncio.

Five primitives make concurrent, time-dependent Python code deterministic in
tests and observable in production. This package re-exports the factories and
the classes most code needs; each primitive's module has the rest.
"""

from phyxius._errors import (
    InternalError,
    InvalidArgumentError,
    InvalidDurationError,
    PhyxiusError,
)
from phyxius._events import Emit, Event
from phyxius._time import Duration, Instant, WallTime, to_nanoseconds
from phyxius.atom import (
    Atom,
    AtomReentrancyError,
    AtomSnapshot,
    AtomTimeoutError,
    AtomValidationError,
    Change,
    create_atom,
)
from phyxius.clock import (
    Clock,
    ClockTimeoutError,
    ControlledClock,
    DeadlockError,
    SystemClock,
    VirtualTimeEventLoop,
    create_controlled_clock,
    create_system_clock,
)
from phyxius.effect import (
    Effect,
    EffectTimeoutError,
    Err,
    Fiber,
    Interrupted,
    Ok,
    RetryPolicy,
    current_context,
    run_effect,
)
from phyxius.journal import (
    ConcurrencyError,
    Entry,
    Journal,
    JournalError,
    JournalOverflowError,
    MemoryStore,
    SqliteStore,
    create_journal,
)
from phyxius.process import (
    Backoff,
    ProcessError,
    ProcessRef,
    ProcessSpec,
    Supervisor,
    SupervisorFailedError,
    create_supervisor,
)

__version__ = "0.1.0"

__all__ = [
    "Atom",
    "AtomReentrancyError",
    "AtomSnapshot",
    "AtomTimeoutError",
    "AtomValidationError",
    "Backoff",
    "Change",
    "Clock",
    "ClockTimeoutError",
    "ConcurrencyError",
    "ControlledClock",
    "DeadlockError",
    "Duration",
    "Effect",
    "EffectTimeoutError",
    "Emit",
    "Entry",
    "Err",
    "Event",
    "Fiber",
    "Instant",
    "InternalError",
    "Interrupted",
    "InvalidArgumentError",
    "InvalidDurationError",
    "Journal",
    "JournalError",
    "JournalOverflowError",
    "MemoryStore",
    "Ok",
    "PhyxiusError",
    "ProcessError",
    "ProcessRef",
    "ProcessSpec",
    "RetryPolicy",
    "SqliteStore",
    "Supervisor",
    "SupervisorFailedError",
    "SystemClock",
    "VirtualTimeEventLoop",
    "WallTime",
    "__version__",
    "create_atom",
    "create_controlled_clock",
    "create_journal",
    "create_supervisor",
    "create_system_clock",
    "current_context",
    "run_effect",
    "to_nanoseconds",
]
