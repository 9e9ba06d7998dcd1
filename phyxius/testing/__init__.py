"""Deterministic simulation: explore schedules and faults, replay them from a seed.

One seed decides every scheduling choice and every injected fault of a run,
so a failure found once replays exactly:

* `SeededScheduler` shuffles each turn of a `VirtualTimeEventLoop` with a
  seed (0 keeps first-in, first-out order); `ScriptedScheduler` replays a
  `Schedule`, the choices as data.
* A `FaultPlan` is data too: `Crash` a process at its k-th message, `Drop`,
  `Duplicate` or `Delay` messages between processes, `WallJump` the wall
  clock, make a journal append fail (`AppendFailure`). A `FaultSpace` says
  which faults a seed may draw.
* A `World` holds one run: clock, scheduler, fault injector, supervisors and
  journals, with invariants checked after every step. `simulate` runs a
  scenario in a fresh world; `explore` runs seed after seed until one fails;
  either raises `SimulationFailedError` with the seed, the faults and the call
  that replays the run. `shrink` turns a failing run into the smallest one
  that fails the same way: the fewest faults and reorderings.
* `phyxius.testing.strategies` (imported on demand; it needs hypothesis)
  draws schedules, fault plans, durations and clock programs, so hypothesis
  shrinks a failure to the fewest reorderings and faults.

The pytest plugin adds ``--phyxius-seed``, ``--phyxius-runs`` and the
``simulation`` fixture.
"""

from phyxius.testing._clock_program import Advance, ClockProgram, ClockStep, JumpWall
from phyxius.testing._errors import (
    InjectedAppendError,
    InjectedCrash,
    InvariantViolationError,
    SimulationError,
    SimulationFailedError,
    SimulationUsageError,
)
from phyxius.testing._faults import (
    FAULT_TYPES,
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
from phyxius.testing._inject import FaultInjector, FaultyStore, Injection
from phyxius.testing._outcome import Outcome
from phyxius.testing._run import (
    DEFAULT_RUNS,
    Exploration,
    Scenario,
    explore,
    simulate,
)
from phyxius.testing._schedule import (
    FIFO,
    Schedule,
    ScriptedScheduler,
    SeededScheduler,
    SimulationScheduler,
)
from phyxius.testing._seeds import derive_seed
from phyxius.testing._shrink import DEFAULT_SHRINK_RUNS, shrink
from phyxius.testing._space import FAULT_KINDS, FaultSpace
from phyxius.testing._world import (
    DEFAULT_SHUTDOWN_DEADLINE,
    FAULTS_JOURNAL,
    LIFECYCLE_JOURNAL,
    Invariant,
    World,
)

__all__ = [
    "DEFAULT_RUNS",
    "DEFAULT_SHRINK_RUNS",
    "DEFAULT_SHUTDOWN_DEADLINE",
    "FAULTS_JOURNAL",
    "FAULT_KINDS",
    "FAULT_TYPES",
    "FIFO",
    "LIFECYCLE_JOURNAL",
    "Advance",
    "AppendFailure",
    "ClockProgram",
    "ClockStep",
    "Crash",
    "Delay",
    "Drop",
    "Duplicate",
    "Exploration",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "FaultSpace",
    "FaultyStore",
    "InjectedAppendError",
    "InjectedCrash",
    "Injection",
    "Invariant",
    "InvariantViolationError",
    "JumpWall",
    "Outcome",
    "Point",
    "Scenario",
    "Schedule",
    "ScriptedScheduler",
    "SeededScheduler",
    "SimulationError",
    "SimulationFailedError",
    "SimulationScheduler",
    "SimulationUsageError",
    "WallJump",
    "World",
    "derive_seed",
    "explore",
    "shrink",
    "simulate",
]
