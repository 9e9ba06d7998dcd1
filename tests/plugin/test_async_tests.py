"""The plugin's async runner: Phyxius tests run on virtual time with no other plugin."""

from __future__ import annotations

import pytest

# Inner runs load plugins from entry points; these keep every other async
# plugin out, so that what passes here passes on the Phyxius plugin alone.
ALONE = ("-p", "no:asyncio", "-p", "no:anyio", "-p", "no:looptime_plugin")


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        """
        [pytest]
        filterwarnings = error
        """
    )
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *ALONE, *args)


def test_an_async_test_sleeps_an_hour_of_virtual_time(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import asyncio
        from datetime import UTC, datetime

        from phyxius.clock import VirtualTimeEventLoop

        async def test_an_hour(controlled_clock):
            assert isinstance(asyncio.get_running_loop(), VirtualTimeEventLoop)
            await asyncio.sleep(3600)
            assert controlled_clock.now().mono_ns == 3600 * 10**9
            one_hour_on = datetime(2024, 1, 1, 1, tzinfo=UTC)
            assert controlled_clock.now().datetime == one_hour_on
        """
    )
    run(inner).assert_outcomes(passed=1)


def test_a_fixture_that_uses_the_clock_makes_an_async_test_a_phyxius_test(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.fixture
        def ticker(controlled_clock):
            return controlled_clock

        async def test_indirect(ticker):
            await asyncio.sleep(60)
            assert ticker.monotonic_ns() == 60 * 10**9
        """
    )
    run(inner).assert_outcomes(passed=1)


def test_an_async_test_without_phyxius_fixtures_is_not_run_by_phyxius(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        async def test_plain():
            pass
        """
    )
    result = run(inner)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])


def test_async_fixtures_run_on_the_tests_loop_and_clock(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import asyncio
        import contextvars
        import pytest

        request_id = contextvars.ContextVar("request_id")
        log = []

        @pytest.fixture
        async def service(controlled_clock):
            await asyncio.sleep(5)
            request_id.set("abc")
            return asyncio.get_running_loop()

        @pytest.fixture
        async def connection(service, controlled_clock):
            log.append(("open", controlled_clock.now().mono))
            yield "connection"
            await asyncio.sleep(2)
            log.append(("closed", controlled_clock.now().mono))

        async def test_uses_them(service, connection, controlled_clock):
            assert service is asyncio.get_running_loop()
            assert connection == "connection"
            assert request_id.get() == "abc"
            await asyncio.sleep(10)

        def test_teardown_ran_on_virtual_time():
            assert log == [("open", 5.0), ("closed", 17.0)]
        """
    )
    run(inner).assert_outcomes(passed=2)


def test_an_async_fixture_that_yields_twice_is_an_error(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.fixture
        async def greedy(controlled_clock):
            yield 1
            yield 2

        async def test_it(greedy):
            pass
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*async fixture 'greedy' yielded more than once; an async generator "
            "fixture yields exactly one value*"
        ]
    )


def test_async_fixtures_in_a_class_are_bound_to_the_test_instance(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import pytest

        class TestService:
            greeting = "hello"

            @pytest.fixture
            async def hello(self, controlled_clock):
                return self.greeting

            async def test_bound(self, hello):
                assert hello == "hello"
        """
    )
    run(inner).assert_outcomes(passed=1)


def test_a_sync_fixture_can_run_coroutines_on_the_tests_loop_at_teardown(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import asyncio
        import pytest

        stopped = []

        @pytest.fixture
        def worker(phyxius_runner, controlled_clock):
            loop = asyncio.get_event_loop()
            assert loop is phyxius_runner.get_loop()
            yield
            async def stop():
                await asyncio.sleep(1)
                stopped.append(controlled_clock.now().mono)
            phyxius_runner.run(stop())

        async def test_it(worker):
            await asyncio.sleep(3)

        def test_stopped_after_the_test():
            assert stopped == [4.0]
        """
    )
    run(inner).assert_outcomes(passed=2)


def test_a_deadlocked_test_fails_at_its_own_await_with_every_blocked_task(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_stuck="""
        import asyncio

        async def helper(event):
            await event.wait()

        async def test_stuck(controlled_clock):
            event = asyncio.Event()
            task = asyncio.create_task(helper(event), name="helper")
            await task
        """
    )
    result = run(inner)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">       await task",
            "*DeadlockError: deadlock: 2 task(s) blocked and nothing can wake them*",
            "*task 'Task-*' waits at test_stuck.py:9 in test_stuck: await task",
            "*task 'helper' waits at test_stuck.py:4 in helper: await event.wait()*",
        ]
    )


def test_tasks_left_running_are_cancelled_and_their_cleanup_runs_on_virtual_time(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import asyncio

        cleaned = []

        async def test_leaves_a_worker(controlled_clock):
            async def worker():
                try:
                    await asyncio.sleep(3600)
                finally:
                    await asyncio.sleep(5)  # cleanup may take time of its own
                    cleaned.append(controlled_clock.now().mono)

            asyncio.create_task(worker())
            await asyncio.sleep(1)

        def test_the_worker_was_cancelled_at_teardown():
            assert cleaned == [6.0]
        """
    )
    run(inner).assert_outcomes(passed=2)


def test_a_task_that_ignores_cancellation_fails_the_test_instead_of_hanging(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_stubborn="""
        import asyncio

        async def forever():
            while True:
                try:
                    await asyncio.sleep(1)
                except asyncio.CancelledError:
                    pass

        async def test_leaves_it(controlled_clock):
            asyncio.create_task(forever(), name="stubborn")
            await asyncio.sleep(0)

        def test_the_next_test_runs():
            pass
        """
    )
    # In a subprocess with a timeout: before the fix, closing the test's loop
    # waited for the task for ever.
    result = inner.runpytest_subprocess("-p", "no:cacheprovider", *ALONE, timeout=120)

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_it*",
            "1 task(s) still ran 60 seconds of the clock after the test's loop "
            "cancelled them at teardown, so their coroutines were closed instead; "
            "let CancelledError propagate (clean up in finally, then re-raise):",
            "  task 'stubborn' waits at test_stubborn.py:6 in forever: "
            "await asyncio.sleep(1)  (inside asyncio.tasks.sleep)",
        ]
    )


def test_a_failing_assertion_points_at_the_tests_own_line(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_wrong="""
        import asyncio

        async def test_wrong(controlled_clock):
            await asyncio.sleep(1)
            assert controlled_clock.now().mono == 2
        """
    )
    result = run(inner)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([">       assert controlled_clock.now().mono == 2"])
    result.stdout.no_fnmatch_line("*run_on_virtual_time*")


def test_the_io_grace_marker_and_ini_option_reach_the_loop(
    inner: pytest.Pytester,
) -> None:
    inner.makeini(
        """
        [pytest]
        filterwarnings = error
        phyxius_io_grace = 0.25
        """
    )
    inner.makepyfile(
        """
        import asyncio
        import pytest

        async def test_from_ini(controlled_clock):
            assert asyncio.get_running_loop().io_grace == 0.25

        @pytest.mark.phyxius(io_grace=2)
        async def test_from_marker(controlled_clock):
            assert asyncio.get_running_loop().io_grace == 2.0
        """
    )
    run(inner).assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        (
            "phyxius_io_grace = soon",
            "*phyxius_io_grace='soon' is not a grace period; give a finite number of "
            "real seconds, zero or more*",
        ),
        (
            "phyxius_io_grace = -1",
            "*phyxius_io_grace='-1' is not a grace period*",
        ),
    ],
)
def test_a_bad_io_grace_ini_value_stops_the_run(
    inner: pytest.Pytester, ini: str, message: str
) -> None:
    inner.makeini(f"[pytest]\n{ini}\n")
    inner.makepyfile("def test_never_runs(): pass")
    result = run(inner)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_bad_io_grace_marker_value_stops_the_run(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.phyxius(io_grace="long")
        async def test_it(controlled_clock):
            pass
        """
    )
    result = run(inner)
    # Reported as pytest reports an unknown marker: a collection error.
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting*",
            "*test_a_bad_io_grace_marker_value_stops_the_run.py::test_it: "
            "phyxius(io_grace)='long' is not a grace period*",
        ]
    )


# -- freeze_time -------------------------------------------------------------------


def test_the_freeze_time_marker_freezes_wall_time_for_the_whole_test(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import asyncio
        import time
        from datetime import UTC, date, datetime
        import pytest

        @pytest.fixture
        def created_at():
            return datetime.now(UTC)

        @pytest.mark.phyxius(freeze_time=True, start="2030-05-01T08:00:00Z")
        async def test_async(controlled_clock, created_at):
            assert created_at == datetime(2030, 5, 1, 8, tzinfo=UTC)
            await asyncio.sleep(3600)
            assert datetime.now(UTC) == datetime(2030, 5, 1, 9, tzinfo=UTC)
            assert date.today() == date(2030, 5, 1)
            assert asyncio.get_running_loop().time() == 3600.0

        @pytest.mark.phyxius(freeze_time=True, start="2030-05-01T08:00:00Z")
        def test_sync_without_asking_for_the_clock(created_at):
            assert created_at == datetime(2030, 5, 1, 8, tzinfo=UTC)
            assert time.time() == datetime(2030, 5, 1, 8, tzinfo=UTC).timestamp()

        def test_unmarked_tests_keep_real_time():
            assert datetime.now(UTC).year != 2030
        """
    )
    run(inner).assert_outcomes(passed=3)


def test_freeze_time_can_name_time_machine_as_the_backend(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import time
        from datetime import UTC, datetime
        import pytest

        @pytest.mark.phyxius(freeze_time="time-machine")
        def test_it(controlled_clock):
            # Nanoseconds survive: time-machine, not freezegun (microseconds).
            controlled_clock.advance(0.000_000_123)
            assert time.time_ns() == controlled_clock.wall_ns()
            assert time.time_ns() % 1000 == 123
            # And no freezegun class stands in for datetime.
            assert type(datetime.now()) is datetime
        """
    )
    run(inner).assert_outcomes(passed=1)


def test_the_freeze_time_ini_option_freezes_every_phyxius_test(
    inner: pytest.Pytester,
) -> None:
    inner.makeini(
        """
        [pytest]
        filterwarnings = error
        phyxius_freeze_time = true
        """
    )
    inner.makepyfile(
        """
        from datetime import UTC, datetime
        import pytest

        def test_frozen(controlled_clock):
            controlled_clock.advance(30)
            assert datetime.now(UTC) == datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)

        @pytest.mark.phyxius(freeze_time=False)
        def test_opted_out(controlled_clock):
            assert datetime.now(UTC).year != 2024 or datetime.now(UTC).month != 1

        def test_not_a_phyxius_test():
            assert datetime.now(UTC).year != 2024 or datetime.now(UTC).month != 1
        """
    )
    run(inner).assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "freeze_time='yes please'",
            "*test_it: phyxius(freeze_time)='yes please' is not a freeze_time "
            "setting; use True or False (freezegun), or a backend name: "
            "'freezegun' or 'time-machine'*",
        ),
        ("freeze_time=1", "*phyxius(freeze_time)=1 is not a freeze_time setting*"),
    ],
)
def test_a_bad_freeze_time_marker_stops_the_run(
    inner: pytest.Pytester, marker: str, message: str
) -> None:
    inner.makepyfile(
        f"""
        import pytest

        @pytest.mark.phyxius({marker})
        def test_it(controlled_clock):
            pass
        """
    )
    result = run(inner)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting*", message])


def test_a_bad_freeze_time_ini_value_stops_the_run(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\nphyxius_freeze_time = sometimes\n")
    inner.makepyfile("def test_never_runs(): pass")
    result = run(inner)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*phyxius_freeze_time='sometimes' is not a freeze_time setting*"]
    )


def test_the_phyxius_frozen_wall_time_fixture_freezes_on_request(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        from datetime import UTC, datetime

        def test_it(phyxius_frozen_wall_time):
            phyxius_frozen_wall_time.advance(1)
            assert datetime.now(UTC) == datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)
        """
    )
    run(inner).assert_outcomes(passed=1)


def test_everything_works_with_xdist(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import asyncio
        from datetime import UTC, datetime
        import pytest

        @pytest.mark.parametrize("hours", [1, 2, 3, 4])
        @pytest.mark.phyxius(freeze_time=True)
        async def test_it(controlled_clock, hours):
            await asyncio.sleep(hours * 3600)
            assert datetime.now(UTC).hour == hours
        """
    )
    run(inner, "-n", "2").assert_outcomes(passed=4)


def test_broader_scoped_fixtures_are_not_created_under_a_tests_freeze(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        from datetime import UTC, datetime
        import pytest

        @pytest.fixture(scope="session")
        def session_started():
            return datetime.now(UTC)

        @pytest.fixture
        def test_started():
            return datetime.now(UTC)

        @pytest.mark.phyxius(freeze_time=True)
        def test_it(session_started, test_started):
            assert test_started == datetime(2024, 1, 1, tzinfo=UTC)
            assert session_started.year != 2024 or session_started.month != 1
        """
    )
    run(inner).assert_outcomes(passed=1)


def test_an_async_hypothesis_test_runs_its_examples_on_virtual_time(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import asyncio
        from hypothesis import HealthCheck, given, settings, strategies as st

        from phyxius.clock import VirtualTimeEventLoop

        examples = []

        @settings(
            max_examples=10,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(seconds=st.integers(1, 3600))
        async def test_sleeps(controlled_clock, seconds):
            assert isinstance(asyncio.get_running_loop(), VirtualTimeEventLoop)
            before = controlled_clock.now().mono_ns
            await asyncio.sleep(seconds)
            assert controlled_clock.now().mono_ns - before == seconds * 10**9
            examples.append(seconds)

        def test_every_example_ran():
            assert len(examples) >= 2
        """
    )
    run(inner).assert_outcomes(passed=2)
