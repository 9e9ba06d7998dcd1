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

__version__ = "0.1.0"

__all__ = [
    "Clock",
    "ClockTimeoutError",
    "ControlledClock",
    "DeadlockError",
    "Duration",
    "Emit",
    "Event",
    "Instant",
    "InternalError",
    "InvalidArgumentError",
    "InvalidDurationError",
    "PhyxiusError",
    "SystemClock",
    "VirtualTimeEventLoop",
    "WallTime",
    "__version__",
    "create_controlled_clock",
    "create_system_clock",
    "to_nanoseconds",
]
