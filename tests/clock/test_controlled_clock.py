"""`ControlledClock`: exact, ordered, observable time that moves only when told."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phyxius import Event, Instant, InvalidArgumentError, InvalidDurationError
from phyxius.clock import (
    DEFAULT_START,
    Clock,
    ClockError,
    ClockTimeoutError,
    ControlledClock,
    ControlledInterval,
    ControlledTimer,
    Handle,
    PendingTimer,
    create_controlled_clock,
)
from pytest_phyxius import CallbackErrors

SECOND = 1_000_000_000
NEW_YEAR_2024 = 1_704_067_200
# Close to the day these tests were written, so the float start has the
# magnitude of a real epoch reading (about 1.8e9 seconds).
RECENT_EPOCH = 1_796_256_000.123456


class Recorder:
    """Callbacks that record which of them ran, and what the clock read then."""

    def __init__(self, clock: ControlledClock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, int]] = []

    def __call__(self, label: str) -> Callable[[], None]:
        def callback() -> None:
            self.calls.append((label, self.clock.now().mono_ns))

        callback.__qualname__ = f"callback_{label}"
        return callback

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.calls]


def make_clock(
    start: float | datetime = DEFAULT_START,
) -> tuple[ControlledClock, list[Event]]:
    events: list[Event] = []
    return ControlledClock(start, emit=events.append), events


def event_types(events: list[Event]) -> list[str]:
    return [event.type for event in events]


# -- reading --------------------------------------------------------------------


def test_starts_at_the_given_wall_time_with_monotonic_zero() -> None:
    clock = ControlledClock(NEW_YEAR_2024)

    assert clock.now() == Instant(mono_ns=0, wall_ns=NEW_YEAR_2024 * SECOND)
    assert clock.monotonic_ns() == 0
    assert clock.wall_ns() == NEW_YEAR_2024 * SECOND


def test_default_start_is_new_year_2024_utc() -> None:
    assert datetime(2024, 1, 1, tzinfo=UTC) == DEFAULT_START
    assert ControlledClock().now().datetime == DEFAULT_START
    assert create_controlled_clock().now() == ControlledClock().now()


def test_satisfies_the_clock_protocol_and_hands_out_handles() -> None:
    clock = ControlledClock()

    assert isinstance(clock, Clock)
    assert isinstance(clock.call_later(1, print), Handle)
    assert isinstance(clock.interval(1, print), Handle)


def test_rejects_a_bad_start() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^start=nan is not a finite wall"):
        ControlledClock(math.nan)
    with pytest.raises(InvalidArgumentError, match=r"^start=datetime\.datetime\(2024"):
        ControlledClock(datetime(2024, 1, 1))


def test_rejects_an_emit_that_is_not_callable() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^emit=5 \(type=int\) is not callable; pass a function taking one "
        r"Event, or None$",
    ):
        ControlledClock(emit=5)  # type: ignore[arg-type]


def test_a_clock_whose_wall_time_no_datetime_can_hold_still_prints() -> None:
    # Time is nanoseconds, so such a clock works; only its datetime cannot be
    # had, and printing it must not fail for that.
    clock = ControlledClock(NEW_YEAR_2024)
    clock.jump_wall(by=-1e20)

    assert repr(clock) == (
        f"<ControlledClock now=Instant(wall={clock.wall_ns()}ns, mono=0s) pending=0>"
    )


def test_a_timer_due_past_the_year_9999_still_shows_in_pending() -> None:
    # A delay that long never fires in practice, but it is a valid duration,
    # and listing it must work even though no datetime can show its due time.
    clock = ControlledClock()
    clock.call_later(10**30, _noop)

    (timer,) = clock.pending()

    assert timer.due.wall_ns == 10**39 + NEW_YEAR_2024 * 10**9
    assert repr(timer.due) == f"Instant(wall={timer.due.wall_ns}ns, mono={10**30}s)"


# -- exactness ------------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [0, NEW_YEAR_2024, RECENT_EPOCH, datetime(2031, 5, 17, 3, 2, 1, 999, tzinfo=UTC)],
    ids=["epoch", "new-year-2024", "recent-epoch-float", "datetime"],
)
def test_ten_advances_of_a_tenth_land_on_exactly_one_second(
    start: float | datetime,
) -> None:
    clock = ControlledClock(start)
    before = clock.now()

    for _ in range(10):
        clock.advance(0.1)

    assert clock.now().mono_ns == SECOND
    assert clock.now().wall_ns == before.wall_ns + SECOND


@given(
    st.one_of(
        st.integers(min_value=0, max_value=4_000_000_000),
        st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False),
        st.floats(min_value=1.7e9, max_value=1.9e9),
    ),
    st.integers(min_value=1, max_value=50),
)
def test_repeated_tenths_are_exact_at_any_start(start: float, steps: int) -> None:
    clock = ControlledClock(start)
    wall_before = clock.wall_ns()

    for _ in range(steps):
        clock.advance(0.1)

    assert clock.monotonic_ns() == steps * SECOND // 10
    assert clock.wall_ns() - wall_before == steps * SECOND // 10


def test_timers_fire_in_due_time_order_with_ties_in_scheduling_order() -> None:
    clock = ControlledClock()
    record = Recorder(clock)
    clock.call_later(2, record("c"))
    clock.call_later(1, record("a"))
    clock.call_later(2, record("d"))
    clock.call_later(timedelta(seconds=1), record("b"))
    clock.call_later(1.5, record("a2"))

    clock.advance(2)

    assert record.labels == ["a", "b", "a2", "c", "d"]


def test_each_callback_sees_now_equal_to_its_own_due_time() -> None:
    clock = ControlledClock(NEW_YEAR_2024)
    seen: list[Instant] = []
    for delay in (0.25, 1, 2.5, 2.75):
        clock.call_later(delay, lambda: seen.append(clock.now()))

    clock.advance(10)

    assert seen == [
        Instant(mono_ns=mono, wall_ns=NEW_YEAR_2024 * SECOND + mono)
        for mono in (SECOND // 4, SECOND, 5 * SECOND // 2, 11 * SECOND // 4)
    ]
    assert clock.now().mono_ns == 10 * SECOND


def test_a_timer_a_callback_schedules_inside_the_window_fires_in_the_same_advance() -> (
    None
):
    clock = ControlledClock()
    record = Recorder(clock)

    def first() -> None:
        record("first")()
        clock.call_later(2, record("inside"))
        clock.call_later(9, record("outside"))

    clock.call_later(1, first)
    clock.advance(5)

    assert record.calls == [("first", SECOND), ("inside", 3 * SECOND)]
    assert [timer.due.mono_ns for timer in clock.pending()] == [10 * SECOND]


def test_a_timer_due_now_fires_before_time_moves() -> None:
    clock = ControlledClock()
    record = Recorder(clock)
    clock.advance(1)
    clock.call_later(3, record("later"))
    clock.call_later(0, record("now"))

    clock.advance(5)

    assert record.calls == [("now", SECOND), ("later", 4 * SECOND)]


def test_a_zero_delay_timer_scheduled_by_a_callback_fires_at_that_instant() -> None:
    clock = ControlledClock()
    record = Recorder(clock)
    clock.call_later(1, lambda: clock.call_later(0, record("follow-up")))
    clock.call_later(1.5, record("next"))

    clock.advance(2)

    assert record.calls == [("follow-up", SECOND), ("next", 3 * SECOND // 2)]


def test_a_timer_cancelled_by_an_earlier_callback_of_the_advance_does_not_fire() -> (
    None
):
    clock = ControlledClock()
    record = Recorder(clock)
    doomed = clock.call_later(3, record("doomed"))
    tied = clock.call_later(1, record("tied"))

    def canceller() -> None:
        assert doomed.cancel() is True
        assert tied.cancel() is False

    clock.call_later(1, canceller)
    clock.call_later(1, lambda: tied_twin.cancel())
    tied_twin = clock.call_later(1, record("tied-twin"))
    clock.advance(5)

    assert record.labels == ["tied"]
    assert doomed.cancelled
    assert not doomed.fired
    assert tied.fired
    assert not tied.cancelled
    assert tied_twin.cancelled
    assert clock.pending() == []


def test_cancelling_many_timers_from_a_callback_keeps_the_advance_exact() -> None:
    # Enough cancellations to make the clock compact its heap in the middle
    # of the advance that is iterating over it.
    clock = ControlledClock()
    record = Recorder(clock)
    crowd = [clock.call_later(2, record(f"crowd{i}")) for i in range(300)]

    def cancel_crowd() -> None:
        for timer in crowd:
            timer.cancel()
        clock.call_later(0.5, record("scheduled-after-the-purge"))

    clock.call_later(1, cancel_crowd)
    clock.call_later(3, record("survivor"))
    clock.advance(5)
    clock.advance(5)

    assert record.calls == [
        ("scheduled-after-the-purge", 3 * SECOND // 2),
        ("survivor", 3 * SECOND),
    ]
    assert clock.pending() == []


def test_interval_ticks_at_start_plus_k_every_and_never_drifts() -> None:
    clock = ControlledClock()
    clock.advance(0.05)
    ticks: list[int] = []
    clock.interval(0.1, lambda: ticks.append(clock.monotonic_ns()))

    # Odd steps that never line up with the period.
    for _ in range(300):
        clock.advance(0.0333)

    start = SECOND // 20
    assert ticks == [start + k * SECOND // 10 for k in range(1, len(ticks) + 1)]
    assert len(ticks) == 99


def test_interval_catches_up_tick_by_tick_each_at_its_own_time() -> None:
    clock = ControlledClock()
    record = Recorder(clock)
    interval = clock.interval(1, record("tick"))

    clock.advance(3.5)

    assert record.calls == [
        ("tick", SECOND),
        ("tick", 2 * SECOND),
        ("tick", 3 * SECOND),
    ]
    assert interval.ticks == 3
    assert clock.next_due() == Instant(
        mono_ns=4 * SECOND, wall_ns=clock.now().wall_ns + SECOND // 2
    )


def test_interval_passes_its_arguments_and_stops_when_cancelled() -> None:
    clock = ControlledClock()
    seen: list[tuple[str, int]] = []
    interval = clock.interval(2, lambda name, n: seen.append((name, n)), "job", 7)
    clock.advance(4)

    assert interval.cancel() is True
    assert interval.cancel() is False
    clock.advance(10)

    assert seen == [("job", 7), ("job", 7)]
    assert interval.cancelled
    assert clock.pending() == []


def test_an_interval_callback_may_cancel_its_own_interval() -> None:
    clock = ControlledClock()
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(clock.monotonic_ns())
        if len(ticks) == 2:
            interval.cancel()

    interval = clock.interval(1, tick)
    clock.advance(10)

    assert ticks == [SECOND, 2 * SECOND]


def test_advance_zero_fires_what_is_already_due() -> None:
    clock = ControlledClock()
    record = Recorder(clock)
    clock.call_later(0, record("due"))
    clock.call_later(0.000000001, record("not-yet"))

    clock.advance(0)

    assert record.calls == [("due", 0)]
    assert clock.monotonic_ns() == 0


def test_advance_to_moves_to_an_instant_or_seconds_since_start() -> None:
    clock = ControlledClock()
    record = Recorder(clock)
    clock.call_later(2, record("two"))

    clock.advance_to(2)
    assert record.calls == [("two", 2 * SECOND)]

    clock.advance_to(Instant(mono_ns=5 * SECOND, wall_ns=0))
    assert clock.monotonic_ns() == 5 * SECOND

    clock.advance_to(clock.now())
    assert clock.monotonic_ns() == 5 * SECOND


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (
            3,
            r"^when=3 is 2s before now \(monotonic 5s\); monotonic time never goes "
            r"backwards: use jump_wall\(\) to move wall time back$",
        ),
        (4.5, r"^when=4\.5 is 0\.5s before now \(monotonic 5s\); "),
        (
            Instant(mono_ns=SECOND, wall_ns=0),
            r"^when=Instant\(wall=1970-01-01T00:00:00\+00:00, mono=1s\) is 4s before",
        ),
    ],
    ids=["seconds", "float", "instant"],
)
def test_advance_to_a_time_before_now_is_an_error_that_changes_nothing(
    when: float | Instant, message: str
) -> None:
    clock, events = make_clock()
    record = Recorder(clock)
    clock.advance(5)
    clock.call_later(1, record("pending"))
    before, pending_before = clock.now(), clock.pending()
    events.clear()

    with pytest.raises(InvalidArgumentError, match=message):
        clock.advance_to(when)

    assert clock.now() == before
    assert clock.pending() == pending_before
    assert record.calls == []
    assert events == []


@pytest.mark.parametrize(
    "jump",
    [
        {"by": -3600},
        {"by": 86_400.5},
        {"by": timedelta(hours=-2)},
        {"to": 0},
        {"to": datetime(2030, 1, 1, tzinfo=UTC)},
    ],
    ids=["back-an-hour", "forward-a-day", "back-timedelta", "to-epoch", "to-2030"],
)
def test_a_wall_jump_never_moves_monotonic_time_or_monotonic_timers(
    jump: dict[str, object],
) -> None:
    clock = ControlledClock(NEW_YEAR_2024)
    record = Recorder(clock)
    clock.advance(1)
    clock.call_later(10, record("ten-seconds-later"))

    clock.jump_wall(**jump)  # type: ignore[arg-type]
    assert clock.monotonic_ns() == SECOND
    clock.advance(9.999999999)
    assert record.calls == []
    clock.advance(0.000000001)

    assert record.calls == [("ten-seconds-later", 11 * SECOND)]


def test_jump_wall_moves_wall_time_by_or_to_the_given_amount() -> None:
    clock = ControlledClock(NEW_YEAR_2024)
    clock.advance(5)

    clock.jump_wall(by=-0.5)
    assert clock.wall_ns() == (NEW_YEAR_2024 + 5) * SECOND - SECOND // 2

    clock.jump_wall(to=datetime(2024, 6, 1, tzinfo=UTC))
    assert clock.now().datetime == datetime(2024, 6, 1, tzinfo=UTC)

    clock.advance(1)
    assert clock.now().datetime == datetime(2024, 6, 1, 0, 0, 1, tzinfo=UTC)


def test_monotonic_time_never_decreases_whatever_the_wall_does() -> None:
    clock = ControlledClock()
    readings = [clock.now()]
    for step, jump in [(0.5, -7200), (0, 3600), (1.25, -1), (0, 0), (3, -86_400)]:
        clock.advance(step)
        readings.append(clock.now())
        clock.jump_wall(by=jump)
        readings.append(clock.now())

    monos = [reading.mono_ns for reading in readings]
    assert monos == sorted(monos)
    assert monos[-1] == 4_750_000_000


def test_advancing_from_inside_a_callback_is_refused() -> None:
    clock = ControlledClock()
    failures: list[BaseException] = []

    def nested() -> None:
        try:
            clock.advance(1)
        except ClockError as error:
            failures.append(error)

    clock.call_later(1, nested)
    clock.advance(2)

    assert len(failures) == 1
    assert str(failures[0]).startswith(
        "advance() was called from inside a timer callback of the same clock;"
    )
    assert clock.monotonic_ns() == 2 * SECOND


# -- callback errors --------------------------------------------------------------


def exploding_callback() -> None:
    raise RuntimeError("reactor offline")


def test_a_callback_that_raises_is_emitted_logged_and_the_others_still_fire(
    caplog: pytest.LogCaptureFixture, callback_errors: CallbackErrors
) -> None:
    clock, events = make_clock()
    record = Recorder(clock)
    clock.call_later(1, record("before"))
    clock.call_later(2, exploding_callback)
    clock.call_later(3, record("after"))

    with caplog.at_level(logging.ERROR, logger="phyxius.clock"):
        clock.advance(5)

    assert record.labels == ["before", "after"]
    (error,) = [event for event in events if event.type == "clock.error"]
    assert error.at.mono_ns == 2 * SECOND
    assert dict(error.data) == {
        "callback": f"{__name__}.exploding_callback",
        "error_type": "RuntimeError",
        "error": "reactor offline",
    }
    (logged,) = caplog.records
    assert logged.name == "phyxius.clock"
    assert logged.getMessage() == (
        f"callback {__name__}.exploding_callback raised RuntimeError: reactor offline"
    )
    assert callback_errors.take() == [error]


def test_an_interval_whose_callback_raises_keeps_ticking(
    callback_errors: CallbackErrors,
) -> None:
    clock = ControlledClock()
    interval = clock.interval(1, exploding_callback)

    clock.advance(3)

    assert interval.ticks == 3
    assert [event.at.mono_ns for event in callback_errors.take()] == [
        SECOND,
        2 * SECOND,
        3 * SECOND,
    ]


def test_a_callback_returning_a_coroutine_is_reported_not_left_unawaited(
    callback_errors: CallbackErrors,
) -> None:
    clock = ControlledClock()

    async def forgot_to_wrap() -> None:
        pass

    clock.call_later(1, forgot_to_wrap)
    clock.advance(1)

    (event,) = callback_errors.take()
    assert event.data["error_type"] == "TypeError"
    assert str(event.data["error"]).startswith(
        "clock callbacks must be plain functions, but this one returned a coroutine"
    )


# -- events -----------------------------------------------------------------------


def test_every_step_of_timers_intervals_and_jumps_is_an_event(
    callback_errors: CallbackErrors,
) -> None:
    clock, events = make_clock(NEW_YEAR_2024)

    def noop() -> None:
        pass

    timer = clock.call_later(5, noop)
    interval = clock.interval(1, noop)
    clock.advance(2)
    assert timer.cancel() is True
    assert timer.cancel() is False
    clock.jump_wall(by=-60)
    interval.cancel()
    clock.call_later(0, exploding_callback)
    clock.advance(0)
    callback_errors.take()

    noop_name = f"{__name__}.{noop.__qualname__}"
    wall = NEW_YEAR_2024 * SECOND
    assert [(event.type, event.at, dict(event.data)) for event in events] == [
        (
            "clock.interval_set",
            Instant(mono_ns=0, wall_ns=wall),
            {"callback": noop_name, "every_ns": SECOND},
        ),
        (
            "clock.tick",
            Instant(mono_ns=SECOND, wall_ns=wall + SECOND),
            {"callback": noop_name, "tick": 1},
        ),
        (
            "clock.tick",
            Instant(mono_ns=2 * SECOND, wall_ns=wall + 2 * SECOND),
            {"callback": noop_name, "tick": 2},
        ),
        (
            "clock.advanced",
            Instant(mono_ns=2 * SECOND, wall_ns=wall + 2 * SECOND),
            {"by_ns": 2 * SECOND, "autojump": False},
        ),
        (
            "clock.cancelled",
            Instant(mono_ns=2 * SECOND, wall_ns=wall + 2 * SECOND),
            {"callback": noop_name, "kind": "timer"},
        ),
        (
            "clock.wall_jumped",
            Instant(mono_ns=2 * SECOND, wall_ns=wall - 58 * SECOND),
            {
                "from_wall_ns": wall + 2 * SECOND,
                "to_wall_ns": wall - 58 * SECOND,
                "by_ns": -60 * SECOND,
            },
        ),
        (
            "clock.cancelled",
            Instant(mono_ns=2 * SECOND, wall_ns=wall - 58 * SECOND),
            {"callback": noop_name, "kind": "interval"},
        ),
        (
            "clock.error",
            Instant(mono_ns=2 * SECOND, wall_ns=wall - 58 * SECOND),
            {
                "callback": f"{__name__}.exploding_callback",
                "error_type": "RuntimeError",
                "error": "reactor offline",
            },
        ),
        (
            "clock.advanced",
            Instant(mono_ns=2 * SECOND, wall_ns=wall - 58 * SECOND),
            {"by_ns": 0, "autojump": False},
        ),
    ]


def test_sleeps_and_deadlines_are_events() -> None:
    clock, events = make_clock(NEW_YEAR_2024)

    async def scenario() -> None:
        sleeper = asyncio.create_task(clock.sleep(1.5))
        on_time = asyncio.create_task(clock.deadline(NEW_YEAR_2024 + 2))
        late = asyncio.create_task(clock.deadline(NEW_YEAR_2024 + 30))
        await asyncio.sleep(0)
        await clock.advance_async(2)
        await asyncio.gather(sleeper, on_time)
        clock.jump_wall(by=40)
        await late

    asyncio.run(scenario())

    interesting = [
        (event.type, event.at.mono_ns, dict(event.data))
        for event in events
        if event.type != "clock.advanced" and event.type != "clock.wall_jumped"
    ]
    assert interesting == [
        ("clock.sleep_started", 0, {"duration_ns": 3 * SECOND // 2}),
        ("clock.sleep_finished", 3 * SECOND // 2, {"duration_ns": 3 * SECOND // 2}),
        (
            "clock.deadline_on_time",
            2 * SECOND,
            {"target_wall_ns": (NEW_YEAR_2024 + 2) * SECOND, "late_ns": 0},
        ),
        (
            "clock.deadline_late",
            2 * SECOND,
            {"target_wall_ns": (NEW_YEAR_2024 + 30) * SECOND, "late_ns": 12 * SECOND},
        ),
    ]


def test_no_emit_means_no_events_and_no_cost() -> None:
    clock = ControlledClock()
    clock.interval(1, print)
    clock.advance(0)
    clock.jump_wall(by=1)


# -- bad input ------------------------------------------------------------------


def _noop() -> None:
    pass


BAD_CALLS: list[tuple[str, Callable[[ControlledClock], object], str]] = [
    (
        "call_later-negative",
        lambda c: c.call_later(-1, _noop),
        r"^delay=-1 is negative; durations must be zero or more seconds$",
    ),
    (
        "call_later-nan",
        lambda c: c.call_later(math.nan, _noop),
        r"^delay=nan is not a finite duration; pass a finite number of seconds$",
    ),
    (
        "call_later-bool",
        lambda c: c.call_later(True, _noop),
        r"^delay=True \(type=bool\) is not a duration; pass seconds as an int or "
        r"float, or a datetime\.timedelta$",
    ),
    (
        "call_later-str",
        lambda c: c.call_later("5", _noop),
        r"^delay='5' \(type=str\) is not a duration; ",
    ),
    (
        "call_later-not-callable",
        lambda c: c.call_later(1, "ring"),
        r"^callback='ring' \(type=str\) is not callable; pass a function to call "
        r"when the timer fires$",
    ),
    (
        "interval-zero",
        lambda c: c.interval(0, _noop),
        r"^every=0 is zero; an interval needs a positive period$",
    ),
    (
        "interval-negative",
        lambda c: c.interval(-0.5, _noop),
        r"^every=-0\.5 is negative; ",
    ),
    (
        "interval-infinite",
        lambda c: c.interval(math.inf, _noop),
        r"^every=inf is not a finite duration; ",
    ),
    (
        "interval-not-callable",
        lambda c: c.interval(1, None),
        r"^callback=None \(type=NoneType\) is not callable; ",
    ),
    (
        "advance-negative",
        lambda c: c.advance(-1),
        r"^duration=-1 is negative; ",
    ),
    (
        "advance-negative-timedelta",
        lambda c: c.advance(timedelta(seconds=-1)),
        r"^duration=datetime\.timedelta\(days=-1, seconds=86399\) is negative; ",
    ),
    (
        "advance-nan",
        lambda c: c.advance(math.nan),
        r"^duration=nan is not a finite duration; ",
    ),
    (
        "advance-none",
        lambda c: c.advance(None),
        r"^duration=None \(type=NoneType\) is not a duration; ",
    ),
    (
        "advance_to-negative",
        lambda c: c.advance_to(-1),
        r"^when=-1 is negative; ",
    ),
    (
        "jump_wall-neither",
        lambda c: c.jump_wall(),
        r"^jump_wall\(to=None, by=None\): give exactly one of `to` \(a wall time\) "
        r"or `by` \(a signed number of seconds\)$",
    ),
    (
        "jump_wall-both",
        lambda c: c.jump_wall(0, by=1),
        r"^jump_wall\(to=0, by=1\): give exactly one of ",
    ),
    (
        "jump_wall-naive",
        lambda c: c.jump_wall(datetime(2024, 1, 1)),
        r"^to=datetime\.datetime\(2024, 1, 1, 0, 0\) is a naive datetime; ",
    ),
    (
        "jump_wall-nan",
        lambda c: c.jump_wall(by=math.nan),
        r"^by=nan is not a finite duration; ",
    ),
    (
        "jump_wall-str",
        lambda c: c.jump_wall(by="1"),
        r"^by='1' \(type=str\) is not a duration; ",
    ),
    (
        "timeout-negative",
        lambda c: c.timeout(-1),
        r"^duration=-1 is negative; ",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"),
    [(call, message) for _, call, message in BAD_CALLS],
    ids=[name for name, _, _ in BAD_CALLS],
)
def test_bad_input_is_rejected_clearly_and_changes_nothing(
    call: Callable[[ControlledClock], object], message: str
) -> None:
    clock, events = make_clock()
    clock.advance(1)
    clock.call_later(1, _noop)
    before, pending_before = clock.now(), clock.pending()
    events.clear()

    with pytest.raises(InvalidArgumentError, match=message):
        call(clock)

    assert clock.now() == before
    assert clock.pending() == pending_before
    assert events == []


def test_duration_errors_from_the_clock_are_duration_errors() -> None:
    clock = ControlledClock()

    with pytest.raises(InvalidDurationError):
        clock.call_later(-1, _noop)
    with pytest.raises(TypeError):
        clock.advance("1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wait", "message"),
    [
        (lambda c: c.sleep(-1), r"^duration=-1 is negative; "),
        (lambda c: c.sleep(math.inf), r"^duration=inf is not a finite duration; "),
        (lambda c: c.deadline("noon"), r"^wall='noon' \(type=str\) is not a wall "),
        (
            lambda c: c.deadline(NEW_YEAR_2024, tolerance=-1),
            r"^tolerance=-1 is negative; ",
        ),
    ],
    ids=["sleep-negative", "sleep-infinite", "deadline-str", "deadline-tolerance"],
)
def test_bad_waits_are_rejected_before_anything_is_scheduled(
    wait: Callable[[ControlledClock], object], message: str
) -> None:
    clock, events = make_clock()

    async def scenario() -> None:
        with pytest.raises(InvalidArgumentError, match=message):
            await wait(clock)  # type: ignore[misc]

    asyncio.run(scenario())

    assert clock.pending() == []
    assert events == []


# -- handles, pending, next_due -------------------------------------------------


def test_timer_handles_report_their_state() -> None:
    clock = ControlledClock()
    fired = clock.call_later(1, _noop)
    cancelled = clock.call_later(1, _noop)
    assert isinstance(fired, ControlledTimer)
    assert repr(fired) == f"<ControlledTimer pending {__name__}._noop>"

    assert cancelled.cancel() is True
    clock.advance(1)

    assert fired.fired
    assert not fired.cancelled
    assert fired.cancel() is False
    assert cancelled.cancelled
    assert not cancelled.fired
    assert repr(cancelled) == f"<ControlledTimer cancelled {__name__}._noop>"
    assert repr(fired) == f"<ControlledTimer fired {__name__}._noop>"


def test_cancelling_a_fired_timer_emits_nothing() -> None:
    clock, events = make_clock()
    timer = clock.call_later(0, _noop)
    clock.advance(0)
    events.clear()

    assert timer.cancel() is False
    assert events == []


def test_pending_lists_what_will_fire_in_order_naming_the_real_callback() -> None:
    clock = ControlledClock(NEW_YEAR_2024)
    clock.call_later(3, _noop)
    clock.interval(2, print)
    cancelled = clock.call_later(1, _noop)
    cancelled.cancel()
    clock.call_later(3, len, "")

    assert clock.pending() == [
        PendingTimer(
            Instant(mono_ns=2 * SECOND, wall_ns=(NEW_YEAR_2024 + 2) * SECOND),
            "builtins.print",
            "interval",
        ),
        PendingTimer(
            Instant(mono_ns=3 * SECOND, wall_ns=(NEW_YEAR_2024 + 3) * SECOND),
            f"{__name__}._noop",
            "timer",
        ),
        PendingTimer(
            Instant(mono_ns=3 * SECOND, wall_ns=(NEW_YEAR_2024 + 3) * SECOND),
            "builtins.len",
            "timer",
        ),
    ]
    assert clock.next_due() == clock.pending()[0].due


def test_pending_shows_sleeps_deadlines_and_timeouts_by_kind() -> None:
    clock = ControlledClock(NEW_YEAR_2024)
    kinds: list[tuple[str, str, int]] = []

    async def scenario() -> None:
        async def wait_in_a_timeout() -> None:
            async with clock.timeout(7):
                await clock.sleep(1)

        tasks = [
            asyncio.create_task(wait_in_a_timeout()),
            asyncio.create_task(clock.deadline(NEW_YEAR_2024 + 5)),
        ]
        await asyncio.sleep(0)
        kinds.extend(
            (timer.kind, timer.callback, timer.due.mono_ns) for timer in clock.pending()
        )
        clock.advance(5)
        await asyncio.gather(*tasks)

    asyncio.run(scenario())

    assert [(kind, mono) for kind, _, mono in kinds] == [
        ("sleep", SECOND),
        ("deadline", 5 * SECOND),
        ("timeout", 7 * SECOND),
    ]
    assert kinds[0][1] == "sleep"
    assert clock.pending() == []


def test_next_due_is_none_when_nothing_is_pending() -> None:
    clock = ControlledClock()
    assert clock.next_due() is None

    clock.call_later(1, _noop).cancel()
    assert clock.next_due() is None


def test_repr_shows_the_reading_and_the_pending_count() -> None:
    clock = ControlledClock(NEW_YEAR_2024)
    clock.call_later(1, _noop)

    assert repr(clock) == (
        "<ControlledClock now=Instant(wall=2024-01-01T00:00:00+00:00, mono=0s) "
        "pending=1>"
    )
    assert isinstance(clock.interval(1, _noop), ControlledInterval)


# -- sleeping, deadlines and timeouts ------------------------------------------


def test_sleep_wakes_exactly_when_the_clock_reaches_it() -> None:
    clock = ControlledClock()
    woke: list[int] = []

    async def scenario() -> None:
        async def sleeper() -> None:
            await clock.sleep(timedelta(milliseconds=1500))
            woke.append(clock.monotonic_ns())

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)
        clock.advance(1.499999999)
        await asyncio.sleep(0)
        assert woke == []
        clock.advance(0.000000001)
        await task

    asyncio.run(scenario())

    assert woke == [3 * SECOND // 2]


def test_a_cancelled_sleep_leaves_no_timer_behind() -> None:
    clock = ControlledClock()

    async def scenario() -> None:
        task = asyncio.create_task(clock.sleep(10))
        await asyncio.sleep(0)
        assert len(clock.pending()) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())

    assert clock.pending() == []


def test_deadline_reached_by_advancing_is_on_time() -> None:
    clock = ControlledClock(NEW_YEAR_2024)

    async def scenario() -> None:
        task = asyncio.create_task(clock.deadline(NEW_YEAR_2024 + 10))
        await asyncio.sleep(0)
        clock.advance(10)
        result = await task

        assert result.on_time
        assert not result.late
        assert result.late_ns == 0
        assert result.lateness == 0.0
        assert result.target_wall_ns == (NEW_YEAR_2024 + 10) * SECOND
        assert result.fired_at == clock.now()
        assert repr(result).startswith("DeadlineResult(on time, late by 0s, fired_at=")

    asyncio.run(scenario())


def test_deadline_overshot_by_a_wall_jump_is_late_by_the_overshoot() -> None:
    clock = ControlledClock(NEW_YEAR_2024)

    async def scenario() -> None:
        task = asyncio.create_task(clock.deadline(NEW_YEAR_2024 + 10))
        await asyncio.sleep(0)
        clock.advance(4)
        clock.jump_wall(by=7.25)
        result = await task

        assert result.late
        assert result.late_ns == 5 * SECOND // 4
        assert result.lateness == 1.25
        assert result.fired_at.mono_ns == 4 * SECOND
        assert repr(result).startswith("DeadlineResult(late, late by 1.25s, ")

    asyncio.run(scenario())


def test_deadline_lengthened_by_a_backward_wall_jump() -> None:
    clock = ControlledClock(NEW_YEAR_2024)

    async def scenario() -> None:
        task = asyncio.create_task(clock.deadline(NEW_YEAR_2024 + 10))
        await asyncio.sleep(0)
        clock.advance(4)
        clock.jump_wall(by=-60)
        # Time moves on before the waiting task gets to run again.
        clock.advance(6)
        await asyncio.sleep(0)
        assert not task.done()
        clock.advance(59.999999999)
        await asyncio.sleep(0)
        assert not task.done()
        clock.advance(0.000000001)
        await asyncio.sleep(0)
        assert task.done()
        result = task.result()

        assert result.on_time
        assert result.fired_at.mono_ns == 70 * SECOND

    asyncio.run(scenario())


def test_deadline_in_the_past_returns_at_once_late_by_the_gap() -> None:
    clock = ControlledClock(NEW_YEAR_2024)

    async def scenario() -> None:
        result = await clock.deadline(datetime(2023, 12, 31, 23, 59, 30, tzinfo=UTC))
        assert result.late_ns == 30 * SECOND
        strict = await clock.deadline(NEW_YEAR_2024 - 1, tolerance=timedelta(seconds=1))
        assert strict.on_time
        assert strict.late_ns == SECOND

    asyncio.run(scenario())


def test_timeout_cancels_the_block_exactly_at_its_duration() -> None:
    clock = ControlledClock()
    reached: list[int] = []

    async def scenario() -> None:
        async def guarded() -> None:
            with pytest.raises(
                ClockTimeoutError,
                match=r"^block did not finish within 2\.5s on its clock; allow more "
                r"time or make the work faster$",
            ):
                async with clock.timeout(2.5) as timeout:
                    await clock.sleep(10)
            assert timeout.expired()
            reached.append(clock.monotonic_ns())

        task = asyncio.create_task(guarded())
        await asyncio.sleep(0)
        await clock.advance_async(3)
        await task

    asyncio.run(scenario())

    assert reached == [5 * SECOND // 2]


def test_timeout_that_is_not_reached_lets_the_block_finish() -> None:
    clock = ControlledClock()

    async def scenario() -> str:
        async with clock.timeout(timedelta(seconds=5)) as timeout:
            task = asyncio.create_task(clock.sleep(1))
            await asyncio.sleep(0)
            await clock.advance_async(1)
            await task
        assert not timeout.expired()
        return repr(timeout)

    assert asyncio.run(scenario()) == "<Timeout finished delay=5s>"
    assert clock.pending() == []


def test_timeout_does_not_swallow_an_outer_cancellation() -> None:
    clock = ControlledClock()

    async def scenario() -> None:
        async def guarded() -> None:
            async with clock.timeout(5):
                await clock.sleep(10)

        task = asyncio.create_task(guarded())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_a_timeout_is_entered_once_and_only_inside_a_task() -> None:
    clock = ControlledClock()
    timeout = clock.timeout(1)

    async def scenario() -> None:
        async with timeout:
            pass
        with pytest.raises(ClockError, match=r"^this timeout was already entered; "):
            async with timeout:
                pass

    asyncio.run(scenario())

    # Driven by hand, outside any task: refused with a clear message.
    entering = clock.timeout(1).__aenter__()
    with pytest.raises(ClockError, match=r"^clock\.timeout\(\) must be used inside "):
        entering.send(None)


# -- advance_async --------------------------------------------------------------


def test_advance_async_lets_a_task_sleeping_1s_three_times_wake_at_1_2_and_3() -> None:
    clock = ControlledClock()
    woke: list[int] = []

    async def sleeper() -> None:
        for _ in range(3):
            await clock.sleep(1)
            woke.append(clock.monotonic_ns())

    async def scenario() -> None:
        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)
        await clock.advance_async(3)
        assert task.done()

    asyncio.run(scenario())

    assert woke == [SECOND, 2 * SECOND, 3 * SECOND]


def test_plain_advance_wakes_the_task_only_once_time_has_moved() -> None:
    # The contrast with advance_async: without yielding, the task runs after
    # the whole advance, sees the final time and goes back to sleep.
    clock = ControlledClock()
    woke: list[int] = []

    async def sleeper() -> None:
        for _ in range(3):
            await clock.sleep(1)
            woke.append(clock.monotonic_ns())

    async def scenario() -> None:
        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)
        clock.advance(3)
        for _ in range(5):
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(scenario())

    assert woke == [3 * SECOND]


@pytest.mark.phyxius(autojump=False)
async def test_advance_async_on_the_virtual_time_loop(
    controlled_clock: ControlledClock,
) -> None:
    woke: list[float] = []

    async def sleeper() -> None:
        for _ in range(3):
            await asyncio.sleep(1)
            woke.append(asyncio.get_running_loop().time())

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    await controlled_clock.advance_async(timedelta(seconds=3))

    assert task.done()
    assert woke == [1.0, 2.0, 3.0]
    assert controlled_clock.monotonic_ns() == 3 * SECOND


async def test_advance_to_async_stops_exactly_at_the_target(
    controlled_clock: ControlledClock,
) -> None:
    record = Recorder(controlled_clock)
    controlled_clock.call_later(2, record("two"))
    controlled_clock.call_later(2.000000001, record("later"))

    await controlled_clock.advance_to_async(2)

    assert record.calls == [("two", 2 * SECOND)]
    assert controlled_clock.monotonic_ns() == 2 * SECOND


@pytest.mark.phyxius(autojump=False)
async def test_pending_shows_the_loops_own_timers(
    controlled_clock: ControlledClock,
) -> None:
    task = asyncio.create_task(asyncio.sleep(5))
    await asyncio.sleep(0)

    (timer,) = controlled_clock.pending()
    assert timer.kind == "loop"
    assert timer.due.mono_ns == 5 * SECOND

    await controlled_clock.advance_async(5)
    assert task.done()
