"""Frozen wall time for legacy code: ``datetime.now()`` that reads a `ControlledClock`.

Code that calls ``datetime.now()`` or ``time.time()`` directly cannot be
handed a clock. `WallTimeFreeze` (made by `ControlledClock.freeze_wall_time`)
patches those functions for the whole process so that they read the
controlled clock's wall time, on every call, through every ``advance`` and
``jump_wall``. The virtual-time event loop never reads them, so asyncio keeps
running on virtual time with no hang and no real waiting.

Two backends do the patching; both are imported only when a freeze starts:

``"freezegun"`` (the default, installed by the ``pytest`` extra)
    freezegun patches ``datetime.datetime``/``datetime.date`` (with subclasses
    that still pass ``isinstance``), ``time.time``, ``time.time_ns``,
    ``time.localtime``, ``time.gmtime``, ``time.strftime``, ``time.monotonic``
    and ``time.perf_counter``, and every module attribute that refers to one
    of them. Phyxius replaces freezegun's frozen instant with a view of the
    clock, so nothing needs re-freezing when time moves. Readings have
    microsecond precision (freezegun works in datetimes). Naive
    ``datetime.now()`` and ``date.today()`` are UTC, freezegun's convention,
    and ``time.localtime()`` applies the zone's standard offset
    (``time.timezone``) without daylight saving time. ``time.monotonic()``
    and ``time.perf_counter()`` read the clock's *monotonic* time, so elapsed
    time measured by legacy code agrees with virtual time and ignores
    ``jump_wall``. Entering the outermost freeze scans every loaded module,
    which costs milliseconds (see the README's performance section).

``"time-machine"`` (optional: ``pip install time-machine``)
    time-machine patches the same wall-time functions in C, so entering is
    far cheaper and readings are exact to the nanosecond. Naive
    ``datetime.now()``, ``date.today()`` and ``time.localtime()`` follow the
    real local zone, daylight saving time included. ``time.monotonic()`` and
    ``time.perf_counter()`` stay real. It cannot start while freezegun is
    active.

What other threads see: the patches are process-wide, so every thread reads
the controlled wall time while a freeze is active, whichever backend. Under
freezegun, calls made from modules on its ignore list (``threading``,
``queue``, ``multiprocessing``, pytest's timing and a few more) keep real
time, so ``threading.Event.wait(timeout)`` and thread pools still time out
in real seconds.

Freezes nest: the innermost one entered wins (another clock's, or a plain
``freezegun.freeze_time``), and leaving it restores the one outside it.
Leave them in the reverse order they were entered, as ``with`` blocks do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, final

from phyxius._errors import InvalidArgumentError, PhyxiusError
from phyxius._time import NANOS_PER_SECOND
from phyxius.clock._base import ClockError

if TYPE_CHECKING:
    from phyxius.clock._controlled import ControlledClock

__all__ = [
    "FREEZE_BACKENDS",
    "FreezeBackend",
    "FreezeBackendMissingError",
    "WallTimeFreeze",
]

FreezeBackend = Literal["freezegun", "time-machine"]
"""The name of a wall-time patching library `WallTimeFreeze` can use."""

FREEZE_BACKENDS: Final[tuple[FreezeBackend, ...]] = ("freezegun", "time-machine")
"""Every backend name `ControlledClock.freeze_wall_time` accepts."""

# Modules whose calls keep real time under freezegun, on top of its own list:
# pytest measures test durations through `_pytest.timing`, and a report of
# "3600 s" for a test that slept an hour of virtual time would be wrong.
_FREEZEGUN_IGNORE: Final = ("_pytest.timing",)

_INSTALL_HINT: Final = {
    "freezegun": "install it with `pip install phyxius[pytest]` (or `pip install "
    "freezegun`)",
    "time-machine": "install it with `pip install time-machine`, or use the "
    "default backend, freezegun",
}


class FreezeBackendMissingError(PhyxiusError, ImportError):
    """The library a wall-time freeze needs is not installed."""


class _Backend(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


@final
class WallTimeFreeze:
    """Make the process's wall-time functions read a `ControlledClock` while active.

    Use it as a context manager: ``with clock.freeze_wall_time(): ...``.
    Entering returns the clock. Each object can be entered once; nest
    several objects to stack freezes. See the module documentation for what
    each backend patches and what threads see.
    """

    __slots__ = ("_active", "_backend", "_clock", "_ignore", "_state", "_used")

    def __init__(
        self,
        clock: ControlledClock,
        *,
        backend: str = "freezegun",
        ignore: Iterable[str] = (),
    ) -> None:
        if backend not in FREEZE_BACKENDS:
            raise InvalidArgumentError(
                f"backend={backend!r} (type={type(backend).__name__}) is not a "
                "wall-time backend; pass one of "
                + ", ".join(map(repr, FREEZE_BACKENDS))
            )
        if isinstance(ignore, str):
            raise InvalidArgumentError(
                f"ignore={ignore!r} is a single string; pass a list of module "
                "name prefixes, such as ['mylib.metrics']"
            )
        self._clock = clock
        self._backend: FreezeBackend = backend
        self._ignore = tuple(ignore)
        self._state: _Backend | None = None
        self._active = False
        self._used = False

    @property
    def backend(self) -> FreezeBackend:
        """The library doing the patching: ``"freezegun"`` or ``"time-machine"``."""
        return self._backend

    @property
    def active(self) -> bool:
        """True between entering and leaving."""
        return self._active

    @property
    def clock(self) -> ControlledClock:
        """The clock whose wall time the patched functions read."""
        return self._clock

    def __enter__(self) -> ControlledClock:
        if self._used:
            raise ClockError(
                "this wall-time freeze was already entered; call "
                "clock.freeze_wall_time() again for a new one"
            )
        state: _Backend = (
            _FreezegunFreeze(self._clock, self._ignore)
            if self._backend == "freezegun"
            else _TimeMachineFreeze(self._clock)
        )
        state.start()
        self._state = state
        self._used = True
        self._active = True
        return self._clock

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._active or self._state is None:
            return
        self._state.stop()
        self._active = False
        self._state = None

    def __repr__(self) -> str:
        state = "active" if self._active else "inactive"
        return f"<WallTimeFreeze {self._backend} {state} {self._clock!r}>"


# -- freezegun ----------------------------------------------------------------


def _import(backend: FreezeBackend, module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise FreezeBackendMissingError(
            f"freezing wall time with backend={backend!r} needs the {backend} "
            f"package, which is not installed; {_INSTALL_HINT[backend]}",
            name=error.name,
        ) from error


@final
class _ClockFactory:
    """What freezegun calls for "the frozen time": the clock's wall time, now.

    freezegun keeps a stack of such factories and calls the top one on every
    ``datetime.now()``; it expects a naive datetime in UTC.
    """

    __slots__ = ("_epoch", "clock")

    def __init__(self, clock: ControlledClock, epoch: Any) -> None:
        self.clock = clock
        self._epoch = epoch

    def __call__(self) -> Any:
        seconds, nanos = divmod(self.clock.wall_ns(), NANOS_PER_SECOND)
        return self._epoch + timedelta(seconds=seconds, microseconds=nanos // 1_000)


# Phyxius's replacements for freezegun's monotonic source, installed while at
# least one freezegun freeze of Phyxius is active. Invariant: `_hook_users`
# counts those freezes; `_hook_saved` holds freezegun's own functions exactly
# while it is positive.
_hook_users = 0
_hook_saved: dict[str, Callable[[], Any]] = {}


def _install_monotonic_hook(api: Any) -> None:
    global _hook_users
    _hook_users += 1
    if _hook_users > 1 or not hasattr(api, "_get_fake_monotonic_ns"):
        return
    saved_seconds = api._get_fake_monotonic
    saved_nanos = api._get_fake_monotonic_ns
    _hook_saved.update(seconds=saved_seconds, nanos=saved_nanos)

    def monotonic_seconds() -> float:
        top = api.freeze_factories[-1]
        if isinstance(top, _ClockFactory):
            return top.clock.monotonic_ns() / NANOS_PER_SECOND
        return float(saved_seconds())

    def monotonic_nanos() -> int:
        top = api.freeze_factories[-1]
        if isinstance(top, _ClockFactory):
            return top.clock.monotonic_ns()
        return int(saved_nanos())

    api._get_fake_monotonic = monotonic_seconds
    api._get_fake_monotonic_ns = monotonic_nanos


def _remove_monotonic_hook(api: Any) -> None:
    global _hook_users
    _hook_users -= 1
    if _hook_users == 0 and _hook_saved:
        api._get_fake_monotonic = _hook_saved.pop("seconds")
        api._get_fake_monotonic_ns = _hook_saved.pop("nanos")


@final
class _FreezegunFreeze:
    __slots__ = ("_api", "_clock", "_factory", "_freezer", "_ignore")

    def __init__(self, clock: ControlledClock, ignore: tuple[str, ...]) -> None:
        self._clock = clock
        self._ignore = ignore
        self._api: Any = None
        self._freezer: Any = None
        self._factory: _ClockFactory | None = None

    def start(self) -> None:
        api: Any = _import("freezegun", "freezegun.api")
        factory = _ClockFactory(self._clock, api.real_datetime(1970, 1, 1))

        # freezegun pushes a factory frozen at the given instant; the clock's
        # view replaces it at once, before anything can read it. real_asyncio
        # keeps every *other* event loop (a loop in another thread) on real
        # monotonic time; the virtual-time loop never reads time.monotonic.
        freezer = api.freeze_time(
            factory(), ignore=[*_FREEZEGUN_IGNORE, *self._ignore], real_asyncio=True
        )
        freezer.start()
        api.freeze_factories[-1] = factory
        _install_monotonic_hook(api)

        # The ignore list serves twice: modules on it are not patched (that
        # keeps threading's and queue's own timeouts real, and stays so), and
        # any call with such a module among its five nearest callers reads
        # real time. The second use would hand real time to whatever a thread
        # runs near its entry point (Thread.run is in `threading`) while
        # deeper code in the same thread reads the clock, so `threading` is
        # dropped from the list used for calls. threading itself only calls
        # its own, unpatched, aliases of the time functions.
        api.ignore_lists[-1] = tuple(
            prefix for prefix in api.ignore_lists[-1] if prefix != "threading"
        )

        self._api = api
        self._freezer = freezer
        self._factory = factory

    def stop(self) -> None:
        api = self._api
        if not api.freeze_factories or api.freeze_factories[-1] is not self._factory:
            raise ClockError(
                "a wall-time freeze was left while another one entered after it "
                "is still active; leave freezes in the reverse order they were "
                "entered (nest them as `with` blocks)"
            )
        _remove_monotonic_hook(api)
        self._freezer.stop()


# -- time-machine -------------------------------------------------------------

_traveller_class: type | None = None


def _clock_traveller_class(time_machine: Any) -> type:
    """A time-machine traveller that reads the clock on every call, made once."""
    global _traveller_class
    if _traveller_class is None:

        class ClockTraveller(time_machine.Traveller):  # type: ignore[misc]
            def __init__(self, clock: ControlledClock) -> None:
                super().__init__(0, None, False)
                self.clock = clock

            def time_ns(self) -> int:
                return self.clock.wall_ns()

        _traveller_class = ClockTraveller
    return _traveller_class


@final
class _TimeMachineFreeze:
    __slots__ = ("_clock", "_module", "_travel", "_traveller")

    def __init__(self, clock: ControlledClock) -> None:
        self._clock = clock
        self._module: Any = None
        self._travel: Any = None
        self._traveller: Any = None

    def start(self) -> None:
        time_machine: Any = _import("time-machine", "time_machine")
        traveller = _clock_traveller_class(time_machine)(self._clock)
        travel = time_machine.travel(0, tick=False)
        try:
            travel.start()
        except RuntimeError as error:
            raise ClockError(
                f"time-machine refused to start ({error}); leave the active "
                "freezegun freeze first, or use backend='freezegun' inside it"
            ) from None

        # time-machine's C patches ask the top traveller for the time; the
        # clock's view replaces the one frozen at the epoch.
        time_machine.traveller_stack[-1] = traveller

        self._module = time_machine
        self._travel = travel
        self._traveller = traveller

    def stop(self) -> None:
        stack = self._module.traveller_stack
        if not stack or stack[-1] is not self._traveller:
            raise ClockError(
                "a wall-time freeze was left while another one entered after it "
                "is still active; leave freezes in the reverse order they were "
                "entered (nest them as `with` blocks)"
            )
        self._travel.stop()
