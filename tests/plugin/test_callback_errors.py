"""A clock callback that raises fails the test that caused it, naming the callback."""

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


def test_a_failing_clock_callback_fails_the_test_and_is_named(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_billing="""
        fired = []

        def charge_card():
            raise ConnectionError("payment gateway down")

        def test_renewal(controlled_clock):
            controlled_clock.call_later(1, charge_card)
            controlled_clock.call_later(2, fired.append, "receipt")
            controlled_clock.advance(5)
            # The other timers still fired; the test body itself passes.
            assert fired == ["receipt"]
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_renewal _*",
            "1 Phyxius callback error(s) during the test; a callback that raised "
            "cannot fail the test by itself, so the plugin does (claim expected ones "
            "with the callback_errors fixture's take()):",
            "clock.error from test_billing.charge_card: callback "
            "test_billing.charge_card raised ConnectionError: payment gateway down",
            "Traceback (most recent call last):",
            '*File "*test_billing.py", line 4, in charge_card',
            "ConnectionError: payment gateway down",
            "FAILED test_billing.py::test_renewal - Failed: 1 Phyxius callback error*",
        ]
    )


def test_an_expected_callback_error_is_claimed_with_take(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def charge_card():
            raise ConnectionError("payment gateway down")

        def test_renewal_survives(controlled_clock, callback_errors):
            controlled_clock.call_later(1, charge_card)
            controlled_clock.advance(1)

            (error,) = callback_errors.take()
            assert error.type == "clock.error"
            assert error.data["callback"].endswith(".charge_card")
            assert error.data["error_type"] == "ConnectionError"
            assert error.at.mono_ns == 1_000_000_000
            assert len(callback_errors) == 0
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=1)


def test_every_error_of_an_interval_is_listed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_poll="""
        def poll():
            raise TimeoutError("upstream slow")

        def test_polling(controlled_clock):
            controlled_clock.interval(10, poll)
            controlled_clock.advance(30)
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["3 Phyxius callback error(s) during the test;*"])
    # Count in the failure section only: with CI set, pytest repeats the whole
    # message in its short summary instead of cutting it to one line.
    failure_section = result.stdout.str().split("short test summary info")[0]
    assert failure_section.count("clock.error from test_poll.poll:") == 3


def test_a_callback_error_in_teardown_fails_the_teardown(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_flush="""
        import pytest

        def flush():
            raise OSError("disk full")

        @pytest.fixture
        def buffered(controlled_clock):
            controlled_clock.call_later(60, flush)
            yield
            controlled_clock.advance(60)

        def test_buffers(buffered):
            pass
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_buffers*",
            "1 Phyxius callback error(s) during teardown;*",
            "clock.error from test_flush.flush:*OSError: disk full",
        ]
    )


def test_a_callback_error_in_setup_fails_the_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_warmup="""
        import pytest

        def warm_cache():
            raise KeyError("missing")

        @pytest.fixture
        def warmed(controlled_clock):
            controlled_clock.call_later(0, warm_cache)
            controlled_clock.advance(0)

        def test_uses_cache(warmed):
            pass
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_uses_cache*",
            "1 Phyxius callback error(s) during setup;*",
            "clock.error from test_warmup.warm_cache:*",
        ]
    )


def test_a_test_that_fails_anyway_keeps_its_own_failure_and_names_the_callback(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_both="""
        def explode():
            raise RuntimeError("boom")

        def test_two_problems(controlled_clock):
            controlled_clock.call_later(1, explode)
            controlled_clock.advance(1)
            assert 1 + 1 == 3, "arithmetic is broken"
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: arithmetic is broken*",
            "*1 Phyxius callback error(s) during the test;*",
            "*clock.error from test_both.explode:*",
        ]
    )


def test_errors_belong_to_the_test_that_caused_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def explode():
            raise RuntimeError("boom")

        def test_causes_it(controlled_clock):
            controlled_clock.call_later(1, explode)
            controlled_clock.advance(1)

        def test_innocent_bystander(controlled_clock):
            controlled_clock.advance(1)
        """
    )

    result = pytester.runpytest("-p", "no:randomly", *ALONE)

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_causes_it - *"])


def test_an_async_test_is_failed_by_its_callback_errors_too(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_async_error="""
        import asyncio

        def explode():
            raise RuntimeError("late boom")

        async def test_async(controlled_clock):
            controlled_clock.call_later(5, explode)
            await asyncio.sleep(10)
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["clock.error from test_async_error.explode:*"])


def test_errors_of_any_primitive_are_collected(pytester: pytest.Pytester) -> None:
    # Every primitive reports through the same path; the plugin listens to all.
    pytester.makepyfile(
        test_watchers="""
        from phyxius._events import report_callback_error

        def on_change():
            pass

        def test_watcher(controlled_clock):
            report_callback_error(
                None, "atom.error", controlled_clock, on_change, ValueError("bad")
            )
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["atom.error from test_watchers.on_change:*"])


def test_plain_error_logs_do_not_fail_a_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import logging

        def test_logs(controlled_clock):
            logging.getLogger("phyxius.clock").error("an ordinary error record")
        """
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=1)
