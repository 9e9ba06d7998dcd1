"""Clock: wall and monotonic time, real or controlled.

`SystemClock` reads the real time and schedules on the running asyncio loop.
`ControlledClock` stands still until a test moves it, and can drive a whole
asyncio program through `VirtualTimeEventLoop` and `run`. Both satisfy the
`Clock` protocol, so code written against it runs unchanged on either.
"""

from phyxius.clock._base import (
    Clock,
    ClockError,
    ClockTimeoutError,
    DeadlineResult,
    Handle,
    Timeout,
)
from phyxius.clock._controlled import (
    DEFAULT_START,
    FOREIGN_LOOP_YIELDS,
    ControlledClock,
    ControlledInterval,
    ControlledTimer,
    PendingTimer,
    create_controlled_clock,
)
from phyxius.clock._deadlock import BlockedTask, DeadlockError
from phyxius.clock._freeze import (
    FREEZE_BACKENDS,
    FreezeBackend,
    FreezeBackendMissingError,
    WallTimeFreeze,
)
from phyxius.clock._loop import (
    DEFAULT_IO_GRACE,
    ReadyScheduler,
    VirtualTimeEventLoop,
    run,
)
from phyxius.clock._system import (
    DEADLINE_RECHECK,
    SystemClock,
    SystemInterval,
    SystemTimer,
    create_system_clock,
    default_clock,
)

__all__ = [
    "DEADLINE_RECHECK",
    "DEFAULT_IO_GRACE",
    "DEFAULT_START",
    "FOREIGN_LOOP_YIELDS",
    "FREEZE_BACKENDS",
    "BlockedTask",
    "Clock",
    "ClockError",
    "ClockTimeoutError",
    "ControlledClock",
    "ControlledInterval",
    "ControlledTimer",
    "DeadlineResult",
    "DeadlockError",
    "FreezeBackend",
    "FreezeBackendMissingError",
    "Handle",
    "PendingTimer",
    "ReadyScheduler",
    "SystemClock",
    "SystemInterval",
    "SystemTimer",
    "Timeout",
    "VirtualTimeEventLoop",
    "WallTimeFreeze",
    "create_controlled_clock",
    "create_system_clock",
    "default_clock",
    "run",
]
