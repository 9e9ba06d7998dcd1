"""The ``controlled_clock`` fixture, end to end through pytester.

Every inner run disables the other async plugins installed in the dev set-up
(pytest-asyncio, anyio, looptime), so what runs ``async def`` tests there is
the Phyxius plugin alone.
"""

from __future__ import annotations

import pytest

ALONE = (
    "-p",
    "no:asyncio",
    "-p",
    "no:anyio",
    "-p",
    "no:looptime_plugin",
    "-p",
    "no:cacheprovider",
    "-W",
    "error",
)


def test_fixture_is_available_through_the_entry_point_with_no_conftest(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        from datetime import UTC, datetime

        from phyxius.clock import ControlledClock

        def test_clock(controlled_clock):
            assert isinstance(controlled_clock, ControlledClock)
            assert controlled_clock.now().datetime == datetime(2024, 1, 1, tzinfo=UTC)
            assert controlled_clock.monotonic_ns() == 0
        """
    )
    assert not list(pytester.path.glob("**/conftest.py"))

    # A fresh interpreter, so only the installed entry point can load the plugin.
    result = pytester.runpytest_subprocess(*ALONE)

    result.assert_outcomes(passed=1)


def test_fixture_is_listed_with_its_documented_start(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures", "-v", *ALONE)

    result.stdout.fnmatch_lines(
        [
            "controlled_clock -- *",
            "*A `ControlledClock` for this test.",
            "*It starts at 2024-01-01T00:00:00Z*",
        ]
    )
    assert result.ret == 0


def test_each_test_gets_a_fresh_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("run", range(3))
        def test_clock_starts_fresh(controlled_clock, run):
            assert controlled_clock.monotonic_ns() == 0
            assert controlled_clock.pending() == []
            controlled_clock.call_later(10, print)
            controlled_clock.advance(5)
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=3)


def test_an_async_test_runs_on_virtual_time_with_no_other_async_plugin(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import time

        from phyxius.clock import VirtualTimeEventLoop

        async def test_sleeps_an_hour(controlled_clock):
            real_start = time.monotonic()
            loop = asyncio.get_running_loop()
            assert isinstance(loop, VirtualTimeEventLoop)
            assert loop.clock is controlled_clock

            await asyncio.sleep(3600)
            await controlled_clock.sleep(1.5)

            assert controlled_clock.monotonic_ns() == 3601_500_000_000
            assert loop.time() == 3601.5
            # An hour of virtual time takes far less than an hour.
            assert time.monotonic() - real_start < 60
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=1)


def test_an_async_test_gets_the_clock_through_another_fixture(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest

        class Heartbeat:
            def __init__(self, clock):
                self.clock = clock
                self.beats = []

            async def run(self, count):
                for _ in range(count):
                    await self.clock.sleep(30)
                    self.beats.append(self.clock.monotonic_ns() // 1_000_000_000)

        @pytest.fixture
        def heartbeat(controlled_clock):
            return Heartbeat(controlled_clock)

        async def test_heartbeat(heartbeat):
            await heartbeat.run(3)
            assert heartbeat.beats == [30, 60, 90]
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=1)


def test_an_async_test_without_the_fixture_is_left_to_other_plugins(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        async def test_not_ours():
            pass
        """
    )

    result = pytester.runpytest(*ALONE[:-2])

    # pytest itself fails an async test that no plugin ran: Phyxius claims only
    # the tests that use its clock.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["async def functions are not natively supported."])


def test_the_fixture_stays_usable_in_the_tests_own_teardown(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        fired = []

        @pytest.fixture
        def session_expiry(controlled_clock, request):
            controlled_clock.call_later(60, fired.append, "expired")

            def after_the_test():
                # Finalizers run before the clock fixture is torn down.
                controlled_clock.advance(30)
                fired.append(("finalizer", controlled_clock.monotonic_ns()))

            request.addfinalizer(after_the_test)
            yield controlled_clock
            controlled_clock.advance(60)
            fired.append(("teardown", controlled_clock.monotonic_ns()))

        def test_uses_expiry(session_expiry):
            session_expiry.advance(10)

        def test_teardown_ran():
            assert fired == [
                "expired",
                ("teardown", 70_000_000_000),
                ("finalizer", 100_000_000_000),
            ]
        """
    )

    result = pytester.runpytest("-p", "no:randomly", *ALONE)

    result.assert_outcomes(passed=2)


def test_a_fixture_that_fails_its_own_teardown_is_reported_as_an_error(
    pytester: pytest.Pytester,
) -> None:
    # The teardown phase is real: an assertion there is an error of that test.
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def must_drain(controlled_clock):
            yield controlled_clock
            assert controlled_clock.pending() == [], "timers left behind"

        def test_leaves_a_timer(must_drain):
            must_drain.call_later(1, print)
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*timers left behind*"])
