"""The ``phyxius`` report section: clock, journal tail and crashes of a failing test."""

from __future__ import annotations

import pytest

PLUGINS_OFF = tuple(
    option
    for plugin in (
        "cacheprovider",
        "asyncio",
        "anyio",
        "benchmark",
        "looptime_plugin",
        "syrupy",
        "time_machine",
    )
    for option in ("-p", f"no:{plugin}")
)
ARGS = (*PLUGINS_OFF, "-W", "error")


def test_a_failing_test_shows_the_clock_the_journal_tail_and_every_crash(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_orders="""
import asyncio

from phyxius.process import ProcessSpec


def handle(state, msg, tools):
    if msg == "boom":
        raise KeyError("order 42 is missing")
    return state


async def test_orders(supervisor):
    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="orders")
    await asyncio.sleep(90)
    ref.send("boom")
    await supervisor.wait_for("restarted", ref)
    assert ref.restarts == 0, "the order process should never have crashed"
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- phyxius -*",
            "clock: 2024-01-01T00:01:30+00:00 (monotonic 90s), 0 timer(s) pending",
            "journal 'supervisor' (last 6 of 6 entries):",
            "  #0 +0s process.spawned 'orders' *",
            "  #1 +0s process.started 'orders' *",
            "  #2 +90s process.dead_letter 'orders' *",
            "  #3 +90s process.crashed 'orders' *",
            "  #4 +90s process.restart_scheduled 'orders' *",
            "  #5 +90s process.restarted 'orders' *",
            "process crashes (1):",
            "  'orders' at 90s (incarnation 1, in handle): KeyError: 'order 42 is "
            "missing'",
            "    Traceback (most recent call last):",
            '      File "*test_orders.py", line 8, in handle',
            '        raise KeyError("order 42 is missing")',
            "    KeyError: 'order 42 is missing'",
        ]
    )


def test_the_journal_fixtures_tail_is_shown_up_to_ten_entries(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_ledger="""
def test_ledger(journal, controlled_clock):
    for n in range(25):
        controlled_clock.advance(1)
        journal.append({"n": n})
    assert len(journal) == 24
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- phyxius -*",
            "clock: 2024-01-01T00:00:25+00:00 (monotonic 25s), 0 timer(s) pending",
            "journal '*' (last 10 of 25 entries):",
            "  #15 +16s {'n': 15}",
            "  #24 +25s {'n': 24}",
        ]
    )
    assert "#14 " not in result.stdout.str()


def test_a_passing_test_gets_no_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_ok="""
def test_ok(supervisor):
    pass
"""
    )

    result = pytester.runpytest(*ARGS, "-rA")

    result.assert_outcomes(passed=1)
    assert "- phyxius -" not in result.stdout.str()


def test_a_failing_test_without_phyxius_fixtures_gets_no_section(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_plain="""
def test_plain():
    assert 1 == 2
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(failed=1)
    assert "- phyxius -" not in result.stdout.str()


def test_a_teardown_failure_of_the_supervisor_fixture_gets_the_section(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_leak="""
import asyncio


async def test_leaks(supervisor):
    asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="forgotten")
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks*",
            "*- phyxius -*",
            "clock: * (monotonic 0s), * timer(s) pending*",
            "journal 'supervisor' (last 1 of 1 entries):",
            "  #0 +0s process.stopped 'root' *",
            "process crashes: none",
        ]
    )
