"""`ControlledClock.freeze_wall_time`: legacy wall-time readers follow the clock."""

from __future__ import annotations

import asyncio
import datetime as datetime_module
import sys
import threading
import time
import types
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import freezegun
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phyxius import InvalidArgumentError
from phyxius.clock import (
    FREEZE_BACKENDS,
    ClockError,
    ControlledClock,
    FreezeBackendMissingError,
    WallTimeFreeze,
    run,
)

START = datetime(2024, 3, 9, 12, 30, tzinfo=UTC)
# Originals, taken before any freeze, to prove that leaving restores them.
REAL_TIME = time.time
REAL_DATETIME = datetime_module.datetime
REAL_DATE = datetime_module.date

backends = pytest.mark.parametrize("backend", FREEZE_BACKENDS)


@pytest.fixture
def utc_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in TZ=UTC, so that local and UTC readings agree for every backend."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def check_readings(clock: ControlledClock, backend: str) -> None:
    """Every reading equals the clock's; time_ns exactly, or within freezegun's 1 us."""
    seen, wanted = readings(), expected(clock)
    nanos, wanted_nanos = seen.pop("time.time_ns()"), wanted.pop("time.time_ns()")
    assert seen == wanted
    assert isinstance(nanos, int)
    assert isinstance(wanted_nanos, int)
    if backend == "time-machine":
        assert nanos == wanted_nanos
    else:
        # freezegun computes time_ns() from a float of microseconds.
        assert abs(nanos - wanted_nanos) < 1_000


def readings() -> dict[str, object]:
    """Everything legacy code might call to learn the wall time."""
    with warnings.catch_warnings():
        # Deprecated since Python 3.12, and exactly what legacy code calls.
        warnings.simplefilter("ignore", DeprecationWarning)
        utcnow = datetime.utcnow()
    return {
        "datetime.now()": datetime.now(),
        "datetime.now(UTC)": datetime.now(UTC),
        "datetime.utcnow()": utcnow,
        "date.today()": date.today(),
        "time.time()": time.time(),
        "time.time_ns()": time.time_ns(),
        "time.gmtime()": tuple(time.gmtime())[:6],
        "time.localtime()": tuple(time.localtime())[:6],
    }


def expected(clock: ControlledClock) -> dict[str, object]:
    wall = clock.now().datetime
    naive = wall.replace(tzinfo=None)
    return {
        "datetime.now()": naive,
        "datetime.now(UTC)": wall,
        "datetime.utcnow()": naive,
        "date.today()": naive.date(),
        "time.time()": clock.wall_ns() / 10**9,
        "time.time_ns()": clock.wall_ns(),
        "time.gmtime()": naive.timetuple()[:6],
        "time.localtime()": naive.timetuple()[:6],
    }


# -- following the clock ---------------------------------------------------------------


@backends
@pytest.mark.usefixtures("utc_zone")
def test_every_wall_time_function_follows_advances_and_wall_jumps(
    backend: str,
) -> None:
    clock = ControlledClock(START)
    with clock.freeze_wall_time(backend=backend):
        check_readings(clock, backend)

        clock.advance(90.25)
        check_readings(clock, backend)
        assert datetime.now(UTC) == START + timedelta(seconds=90.25)

        clock.jump_wall(by=-86_400)  # an NTP correction, back one day
        check_readings(clock, backend)
        assert date.today() == date(2024, 3, 8)

        clock.jump_wall(to=datetime(2030, 1, 1, tzinfo=UTC))
        check_readings(clock, backend)
        assert time.time() == datetime(2030, 1, 1, tzinfo=UTC).timestamp()


@backends
def test_the_event_loop_keeps_running_on_virtual_time_while_wall_time_is_frozen(
    backend: str,
) -> None:
    clock = ControlledClock(START)

    async def main() -> tuple[datetime, float, float]:
        await asyncio.sleep(3600)
        after_sleep = datetime.now(UTC)
        async with asyncio.timeout(10):
            from_thread = await asyncio.to_thread(time.time)
        return after_sleep, from_thread, asyncio.get_running_loop().time()

    with clock.freeze_wall_time(backend=backend):
        after_sleep, from_thread, loop_time = run(main(), clock=clock)

    assert after_sleep == START + timedelta(hours=1)
    assert from_thread == (START + timedelta(hours=1)).timestamp()
    assert loop_time == 3600.0


@backends
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seconds=st.integers(0, 7_000_000_000),
    micros=st.integers(0, 999_999),
    zone=st.one_of(
        st.timezones(),
        st.builds(
            timezone, st.integers(-23 * 60, 23 * 60).map(lambda m: timedelta(minutes=m))
        ),
    ),
)
def test_now_in_any_time_zone_equals_fromtimestamp_of_time(
    backend: str, seconds: int, micros: int, zone: tzinfo
) -> None:
    clock = ControlledClock(seconds + micros / 1e6)
    with clock.freeze_wall_time(backend=backend):
        assert datetime.now(zone) == datetime.fromtimestamp(time.time(), zone)
        assert datetime.now(zone).utcoffset() == zone.utcoffset(
            datetime.now(UTC).replace(tzinfo=None)
        )


@backends
def test_frozen_readings_are_still_instances_of_the_real_classes(backend: str) -> None:
    real_moment = datetime(2001, 1, 1, tzinfo=UTC)
    with ControlledClock(START).freeze_wall_time(backend=backend):
        assert isinstance(datetime.now(), datetime)
        assert isinstance(datetime.now(UTC), datetime_module.datetime)
        assert isinstance(date.today(), date)
        # Values made before the freeze pass checks against the patched names.
        assert isinstance(real_moment, datetime_module.datetime)
        assert isinstance(real_moment.date(), datetime_module.date)


# -- leaving and nesting ---------------------------------------------------------------


@backends
def test_leaving_restores_real_time(backend: str) -> None:
    clock = ControlledClock(datetime(2000, 1, 1, tzinfo=UTC))
    with clock.freeze_wall_time(backend=backend) as entered:
        assert entered is clock
        assert datetime.now(UTC).year == 2000

    assert time.time is REAL_TIME
    assert datetime_module.datetime is REAL_DATETIME
    assert datetime_module.date is REAL_DATE
    # The real clock of the machine running this is well past 2000.
    assert datetime.now(UTC).year > 2020
    assert time.time() > datetime(2020, 1, 1, tzinfo=UTC).timestamp()


@backends
def test_leaving_after_an_error_restores_real_time(backend: str) -> None:
    clock = ControlledClock(datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(KeyError), clock.freeze_wall_time(backend=backend):
        raise KeyError("boom")
    assert datetime.now(UTC).year > 2020


@backends
def test_nested_freezes_of_two_clocks_restore_the_outer_one(backend: str) -> None:
    outer = ControlledClock(datetime(2010, 1, 1, tzinfo=UTC))
    inner = ControlledClock(datetime(2020, 1, 1, tzinfo=UTC))
    with outer.freeze_wall_time(backend=backend):
        with inner.freeze_wall_time(backend=backend):
            assert datetime.now(UTC).year == 2020
            outer.advance(3600)  # the outer clock moves, but is not read now
            assert datetime.now(UTC) == datetime(2020, 1, 1, tzinfo=UTC)
        assert datetime.now(UTC) == datetime(2010, 1, 1, 1, tzinfo=UTC)
        with outer.freeze_wall_time(backend=backend):
            assert datetime.now(UTC) == datetime(2010, 1, 1, 1, tzinfo=UTC)
        assert datetime.now(UTC) == datetime(2010, 1, 1, 1, tzinfo=UTC)
    assert datetime.now(UTC).year > 2020


def test_a_plain_freezegun_freeze_nests_inside_and_outside() -> None:
    clock = ControlledClock(datetime(2010, 1, 1, tzinfo=UTC))
    with clock.freeze_wall_time():
        with freezegun.freeze_time("1999-12-31 23:59:59"):
            assert datetime.now() == datetime(1999, 12, 31, 23, 59, 59)
        assert datetime.now(UTC).year == 2010

    with freezegun.freeze_time("1999-12-31 23:59:59"):
        with clock.freeze_wall_time():
            clock.advance(1)
            assert datetime.now(UTC) == datetime(2010, 1, 1, 0, 0, 1, tzinfo=UTC)
        assert datetime.now() == datetime(1999, 12, 31, 23, 59, 59)
    assert datetime.now(UTC).year > 2020


@backends
def test_leaving_freezes_out_of_order_is_refused(backend: str) -> None:
    clock = ControlledClock(START)
    outer = clock.freeze_wall_time(backend=backend)
    inner = clock.freeze_wall_time(backend=backend)
    outer.__enter__()
    inner.__enter__()
    try:
        with pytest.raises(
            ClockError,
            match=r"^a wall-time freeze was left while another one entered after it "
            r"is still active; leave freezes in the reverse order",
        ):
            outer.__exit__(None, None, None)
        assert outer.active
        assert datetime.now(UTC) == START
    finally:
        inner.__exit__(None, None, None)
        outer.__exit__(None, None, None)
    assert datetime.now(UTC).year > 2020


@backends
def test_a_freeze_can_be_entered_only_once(backend: str) -> None:
    freeze = ControlledClock(START).freeze_wall_time(backend=backend)
    with freeze:
        pass
    assert not freeze.active
    with pytest.raises(ClockError, match=r"^this wall-time freeze was already entered"):
        freeze.__enter__()
    assert datetime.now(UTC).year > 2020


# -- what threads and other loops see --------------------------------------------------


@backends
def test_other_threads_read_the_controlled_wall_time(backend: str) -> None:
    clock = ControlledClock(START)
    seen: list[object] = []

    def read() -> None:
        seen.extend([time.time(), datetime.now(UTC)])

    with clock.freeze_wall_time(backend=backend):
        clock.advance(5)
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    assert seen == [START.timestamp() + 5, START + timedelta(seconds=5)]


def test_an_event_loop_in_another_thread_keeps_real_time_under_freezegun() -> None:
    finished = threading.Event()

    def other_loop() -> None:
        asyncio.run(asyncio.sleep(0.01))
        finished.set()

    with ControlledClock(START).freeze_wall_time():
        thread = threading.Thread(target=other_loop, daemon=True)
        thread.start()
        assert finished.wait(timeout=30), "a plain asyncio loop hung under the freeze"
        thread.join()


def test_under_freezegun_monotonic_time_is_the_clocks_and_ignores_wall_jumps() -> None:
    clock = ControlledClock(START)
    clock.advance(12)
    with clock.freeze_wall_time():
        assert time.monotonic() == 12.0
        assert time.monotonic_ns() == 12_000_000_000
        assert time.perf_counter() == 12.0
        clock.jump_wall(by=-3600)
        clock.advance(0.5)
        assert time.monotonic() == 12.5
        assert time.perf_counter_ns() == 12_500_000_000


def test_under_time_machine_monotonic_time_stays_real() -> None:
    clock = ControlledClock(START)
    clock.advance(12)
    with clock.freeze_wall_time(backend="time-machine"):
        first = time.monotonic()
        clock.advance(3600)
        assert time.monotonic() - first < 3600


def test_modules_on_the_ignore_list_keep_real_time() -> None:
    legacy = types.ModuleType("legacy_metrics")
    exec("import time\ndef stamp():\n    return time.time()\n", legacy.__dict__)
    sys.modules["legacy_metrics"] = legacy
    try:
        clock = ControlledClock(datetime(2000, 1, 1, tzinfo=UTC))
        with clock.freeze_wall_time(ignore=["legacy_metrics"]):
            assert time.time() == clock.wall_ns() / 10**9
            assert legacy.stamp() > datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    finally:
        del sys.modules["legacy_metrics"]


def test_time_machine_follows_the_local_zone_with_daylight_saving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        summer = ControlledClock(datetime(2024, 7, 1, 10, tzinfo=UTC))
        with summer.freeze_wall_time(backend="time-machine"):
            assert tuple(time.localtime())[:4] == (2024, 7, 1, 12)
            assert datetime.now() == datetime(2024, 7, 1, 12)
            assert time.localtime() == time.localtime(time.time())
    finally:
        monkeypatch.undo()
        time.tzset()


# -- bad input: clear errors, nothing changed ------------------------------------------


def test_an_unknown_backend_is_refused_before_anything_is_patched() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^backend='arrow' \(type=str\) is not a wall-time backend; pass one of "
        r"'freezegun', 'time-machine'$",
    ):
        ControlledClock(START).freeze_wall_time(backend="arrow")
    assert time.time is REAL_TIME


def test_a_single_string_ignore_list_is_refused() -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"^ignore='mylib' is a single string; pass a list"
    ):
        ControlledClock(START).freeze_wall_time(ignore="mylib")


@pytest.mark.parametrize(
    ("backend", "module", "hint"),
    [
        ("freezegun", "freezegun.api", r"pip install phyxius\[pytest\]"),
        ("time-machine", "time_machine", r"pip install time-machine"),
    ],
)
def test_a_missing_backend_says_what_to_install_and_patches_nothing(
    monkeypatch: pytest.MonkeyPatch, backend: str, module: str, hint: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    freeze = ControlledClock(START).freeze_wall_time(backend=backend)
    with (
        pytest.raises(
            FreezeBackendMissingError,
            match=rf"^freezing wall time with backend='{backend}' needs the {backend} "
            rf"package, which is not installed; .*{hint}",
        ),
        freeze,
    ):
        pass
    assert not freeze.active
    assert time.time is REAL_TIME
    assert isinstance(FreezeBackendMissingError("x"), ImportError)


def test_time_machine_cannot_start_inside_a_freezegun_freeze() -> None:
    clock = ControlledClock(START)
    with clock.freeze_wall_time():
        freeze = clock.freeze_wall_time(backend="time-machine")
        with (
            pytest.raises(
                ClockError,
                match=r"^time-machine refused to start \(.*\); leave the active "
                r"freezegun freeze first",
            ),
            freeze,
        ):
            pass
        assert not freeze.active
        assert datetime.now(UTC) == START
    assert datetime.now(UTC).year > 2020


def test_a_freeze_describes_itself() -> None:
    clock = ControlledClock(START)
    freeze = clock.freeze_wall_time(backend="time-machine")
    assert isinstance(freeze, WallTimeFreeze)
    assert freeze.backend == "time-machine"
    assert freeze.clock is clock
    assert repr(freeze).startswith("<WallTimeFreeze time-machine inactive <Controlled")
