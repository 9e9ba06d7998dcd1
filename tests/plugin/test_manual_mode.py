"""Manual mode: time moves only when the test advances it (marker or ini)."""

from __future__ import annotations

import pytest

ALONE = ("-p", "no:asyncio", "-p", "no:anyio", "-p", "no:looptime_plugin")

STEPPING_TEST = """
import asyncio
import pytest

async def heartbeat(beats):
    while True:
        await asyncio.sleep(10)
        beats.append(asyncio.get_running_loop().time())

{marker}
async def test_step_by_step(controlled_clock):
    assert asyncio.get_running_loop().autojump is False
    beats = []
    task = asyncio.create_task(heartbeat(beats))

    await asyncio.sleep(0)
    assert beats == []

    await controlled_clock.advance_async(9)
    assert beats == []
    assert controlled_clock.now().mono == 9

    await controlled_clock.advance_async(1)
    assert beats == [10.0]

    await controlled_clock.advance_async(25)
    assert beats == [10.0, 20.0, 30.0]
    assert controlled_clock.now().mono == 35

    task.cancel()
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    return pytester


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *ALONE)


def test_the_marker_puts_one_test_in_manual_mode(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        STEPPING_TEST.format(marker="@pytest.mark.phyxius(autojump=False)")
    )
    run(inner).assert_outcomes(passed=1)


def test_the_ini_option_puts_every_test_in_manual_mode(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\nfilterwarnings = error\nphyxius_autojump = false\n")
    inner.makepyfile(STEPPING_TEST.format(marker=""))
    run(inner).assert_outcomes(passed=1)


def test_the_marker_turns_autojump_back_on_under_a_manual_ini(
    inner: pytest.Pytester,
) -> None:
    inner.makeini("[pytest]\nfilterwarnings = error\nphyxius_autojump = false\n")
    inner.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.phyxius(autojump=True)
        async def test_jumps(controlled_clock):
            await asyncio.sleep(3600)
            assert controlled_clock.now().mono == 3600

        async def test_does_not_jump(controlled_clock):
            assert asyncio.get_running_loop().autojump is False
        """
    )
    run(inner).assert_outcomes(passed=2)


def test_without_the_marker_autojump_is_on(inner: pytest.Pytester) -> None:
    inner.makepyfile(STEPPING_TEST.format(marker=""))
    result = run(inner)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [">       assert asyncio.get_running_loop().autojump is False"]
    )


def test_a_manual_test_that_waits_on_time_it_never_moves_fails_as_a_deadlock(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_forgot="""
        import asyncio
        import pytest

        @pytest.mark.phyxius(autojump=False)
        async def test_forgot_to_advance(controlled_clock):
            await asyncio.sleep(5)
        """
    )
    result = run(inner)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">       await asyncio.sleep(5)",
            "*DeadlockError: deadlock: 1 task(s) blocked and nothing can wake them: "
            "autojump is off, so time moves only when the test advances the clock "
            "(next timer due at monotonic 5s)*",
            "*task 'Task-*' waits at test_forgot.py:6 in test_forgot_to_advance: "
            "await asyncio.sleep(5)*",
        ]
    )


def test_a_sync_test_can_step_the_clock_in_manual_mode(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.phyxius(autojump=False)
        def test_sync(controlled_clock):
            fired = []
            controlled_clock.call_later(5, fired.append, "five")
            controlled_clock.advance(4)
            assert fired == []
            controlled_clock.advance(1)
            assert fired == ["five"]
        """
    )
    run(inner).assert_outcomes(passed=1)


def test_a_bad_autojump_marker_stops_the_run(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.phyxius(autojump="no")
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
            "*test_it: phyxius(autojump='no') must be True or False*",
        ]
    )


def test_a_bad_autojump_ini_value_stops_the_run(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\nphyxius_autojump = sometimes\n")
    inner.makepyfile("def test_never_runs(): pass")
    result = run(inner)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*phyxius_autojump='sometimes' is not an autojump setting; use true or false*"]
    )
