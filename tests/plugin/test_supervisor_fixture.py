"""The ``supervisor`` fixture, end to end through pytester.

A scenario runs once in one process and once on two pytest-xdist workers
where the fixture's behaviour could differ between them (the seed).
"""

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

WORKER = """
from phyxius.process import ProcessSpec


def worker():
    def handle(state, msg, tools):
        if msg == "boom":
            raise RuntimeError("boom")
        tools.reply(msg)
        return state

    return ProcessSpec(handle=handle)
"""


def test_a_supervised_worker_crashes_restarts_and_is_asserted_on(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_worker=WORKER
        + """

async def test_restart(supervisor):
    ref = await supervisor.spawn(worker(), name="worker")

    ref.send("boom")
    await supervisor.wait_for("restarted", "worker")

    supervisor.assert_restarted("worker", times=1)
    assert supervisor.restarts(ref) == 1
    assert await ref.ask("still there") == "still there"
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=1)


def test_assert_restarted_lists_the_lifecycle_events_that_did_happen(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_worker=WORKER
        + """

async def test_restart_count(supervisor):
    ref = await supervisor.spawn(worker(), name="worker")
    ref.send("boom")
    await supervisor.wait_for("restarted", ref)

    supervisor.assert_restarted(ref, times=2)
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: expected 'worker' to be restarted 2 times, but it was "
            "restarted once.",
            "E*lifecycle events of 'worker' (6):",
            "E*+0s process.spawned 'worker' (supervisor='root', kind='process', "
            "restart='permanent')",
            "E*+0s process.started 'worker' (supervisor='root', incarnation=1)",
            "E*+0s process.dead_letter 'worker' (supervisor='root', reason='crashed', "
            "message=\"'boom'\")",
            "E*+0s process.crashed 'worker' (supervisor='root', incarnation=1, "
            "during='handle', error_type='RuntimeError', error='RuntimeError: boom', "
            "message=\"'boom'\")",
            "E*+0s process.restart_scheduled 'worker' (supervisor='root', delay_ns=0, "
            "attempt=1, strategy='one_for_one', group=[[]'worker'[]], "
            "reason='crashed')",
            "E*+0s process.restarted 'worker' (supervisor='root', incarnation=2, "
            "attempt=1)",
        ]
    )


def test_assert_not_restarted_and_unknown_names_say_what_happened(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_worker=WORKER
        + """

async def test_not_restarted(supervisor):
    ref = await supervisor.spawn(worker(), name="worker")
    ref.send("boom")
    await supervisor.wait_for("restarted", ref)
    supervisor.assert_not_restarted("worker")


async def test_unknown_name(supervisor):
    await supervisor.spawn(worker(), name="worker")
    supervisor.assert_restarted("wroker")


async def test_unknown_name_is_not_taken_for_never_restarted(supervisor):
    await supervisor.spawn(worker(), name="worker")
    supervisor.assert_not_restarted("wroker")


async def test_unknown_name_is_not_taken_for_restarted_zero_times(supervisor):
    await supervisor.spawn(worker(), name="worker")
    supervisor.assert_restarted("wroker", times=0)
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(failed=4)
    for expected in ("not to be restarted", "to be restarted 0 times"):
        result.stdout.fnmatch_lines(
            [
                f"E*AssertionError: expected 'wroker' {expected}, but nothing of "
                "that name was ever spawned in this tree.",
                "E*no lifecycle event names 'wroker'; lifecycle events of the tree "
                "(2):",
            ]
        )
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: expected 'worker' not to be restarted, but it was "
            "restarted once.",
            "E*lifecycle events of 'worker' (6):",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: expected 'wroker' to be restarted at least once, but "
            "it was restarted 0 times.",
            "E*no lifecycle event names 'wroker'; lifecycle events of the tree (2):",
            "E*+0s process.spawned 'worker'*",
        ]
    )


def test_wait_for_fails_after_its_timeout_on_the_clock_listing_the_events(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_worker=WORKER
        + """

async def test_wait(supervisor):
    await supervisor.spawn(worker(), name="worker")
    await supervisor.wait_for("restarted", "worker", timeout=7)
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: process.restarted for 'worker' did not happen once "
            "within 7 seconds of the clock (it happened 0 times).",
            "E*lifecycle events of 'worker' (2):",
        ]
    )


def test_the_lifecycle_is_journaled_in_the_fixtures_journal(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_worker=WORKER
        + """
from phyxius import Event


async def test_journal(supervisor):
    ref = await supervisor.spawn(worker(), name="worker")
    ref.send("boom")
    await supervisor.wait_for("restarted", ref)

    entries = supervisor.journal.get_all()
    assert supervisor.journal.name == "supervisor"
    assert [e.data for e in entries] == supervisor.events
    assert all(isinstance(e.data, Event) for e in entries)
    assert [e.sequence for e in entries] == list(range(6))
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=1)


def test_teardown_shuts_the_tree_down_and_kills_a_process_that_will_not_stop(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_worker="""
import asyncio

from phyxius.process import ProcessSpec

refs = []


async def hang(state, msg, tools):
    await asyncio.sleep(3600)


async def test_leaves_a_busy_process(supervisor):
    ref = await supervisor.spawn(ProcessSpec(handle=hang), name="busy", shutdown=2)
    ref.send("work")
    await asyncio.sleep(0)
    refs.append(ref)


def test_it_was_killed_at_teardown():
    assert refs[0].status == "stopped"
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=2)


def test_a_task_still_running_after_teardown_fails_the_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_leak="""
import asyncio


async def test_leaks_a_task(supervisor):
    asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="forgotten")
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*supervisor fixture teardown: 1 task(s) still running after the "
            "supervision tree shut down (stop what you start, or cancel it before "
            "the test ends):",
            "*task 'forgotten' waits at *",
        ]
    )


def test_a_process_that_ignores_cancellation_fails_the_test_instead_of_hanging(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_stubborn="""
import asyncio

from phyxius.process import ProcessSpec


async def stubborn(state, msg, tools):
    while True:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            pass


async def test_leaves_it(supervisor):
    ref = await supervisor.spawn(ProcessSpec(handle=stubborn), name="stubborn")
    ref.send("work")
    await asyncio.sleep(0)


def test_the_next_test_runs():
    pass
"""
    )

    # In a subprocess with a timeout: before the fix, closing the test's loop
    # waited for the handler's task for ever.
    result = pytester.runpytest_subprocess(*ARGS, timeout=120)

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*supervisor fixture teardown: the supervision tree did not shut down "
            "within 60.0 seconds of the clock",
            "*task 'phyxius.process:stubborn#1' waits at *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*1 task(s) still ran 60 seconds of the clock after the test's loop "
            "cancelled them at teardown, so their coroutines were closed instead; *",
            "*task 'phyxius.process:stubborn#1' waits at test_stubborn.py:9 in "
            "stubborn: await asyncio.sleep(1)*",
        ]
    )


def test_a_root_failure_the_test_never_looked_at_fails_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_worker=WORKER
        + """
import asyncio

import pytest

from phyxius.process import SupervisorFailedError


async def test_ignores_the_failure(supervisor):
    supervisor.configure(max_restarts=0)
    ref = await supervisor.spawn(worker(), name="worker")
    ref.send("boom")
    await asyncio.sleep(1)


async def test_looks_at_the_failure(supervisor):
    supervisor.configure(max_restarts=0)
    ref = await supervisor.spawn(worker(), name="worker")
    ref.send("boom")
    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_ignores_the_failure*",
            "*supervisor fixture teardown: the root supervisor gave up and the test "
            "never looked at it (await supervisor.wait() or read "
            "supervisor.failure): supervisor 'root' gave up: 1 restarts within 5s "
            "exceed max_restarts=0; the last was 'worker' (RuntimeError: boom)",
        ]
    )


def test_a_handled_crash_does_not_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_worker=WORKER
        + """

async def test_crash_and_restart(supervisor):
    ref = await supervisor.spawn(worker(), name="worker")
    ref.send("boom")
    await supervisor.wait_for("restarted", ref)
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "dist", [pytest.param((), id="serial"), pytest.param(("-n", "2"), id="xdist")]
)
def test_the_seed_comes_from_the_marker_or_the_test_id_on_any_worker(
    pytester: pytest.Pytester, dist: tuple[str, ...]
) -> None:
    pytester.makepyfile(
        test_seed="""
import zlib

import pytest


@pytest.mark.phyxius(seed=1234)
def test_marker_seed(supervisor):
    assert supervisor.seed == 1234


@pytest.mark.parametrize("n", range(4))
def test_derived_seed(supervisor, request, n):
    assert supervisor.seed == zlib.crc32(request.node.nodeid.encode())
"""
    )

    result = pytester.runpytest(*ARGS, *dist)

    result.assert_outcomes(passed=5)


def test_configure_after_spawning_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_worker=WORKER
        + r"""
import pytest


async def test_late_configure(supervisor):
    await supervisor.spawn(worker())
    with pytest.raises(
        pytest.UsageError,
        match=r"^supervisor\.configure\(\) must come before the first spawn; "
        r"configure the root first, then spawn$",
    ):
        supervisor.configure(max_restarts=1)
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=1)


def test_bad_assertion_arguments_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_usage=r"""
import pytest


async def test_bad_arguments(supervisor):
    with pytest.raises(
        pytest.UsageError,
        match=r"^times=-1 must be an int, zero or more, or None for 'at least once'$",
    ):
        supervisor.assert_restarted("x", times=-1)
    with pytest.raises(
        pytest.UsageError, match=r"^count=0 must be an int, 1 or more$"
    ):
        await supervisor.wait_for("restarted", "x", count=0)
    with pytest.raises(
        pytest.UsageError,
        match=r"^event='' must be a lifecycle step such as 'restarted'$",
    ):
        await supervisor.wait_for("", "x")
    with pytest.raises(
        pytest.UsageError,
        match=r"^event='restart' is not a lifecycle step; use one of crashed, "
        r"dead_letter, error, gave_up, mailbox_overflow, restart_scheduled, "
        r"restarted, spawned, started, stopped, or a full event type such as "
        r"'order\.placed'$",
    ):
        await supervisor.wait_for("restart", "x")
    assert supervisor.clock.now().mono == 0  # refused at once, not after a wait
    with pytest.raises(
        pytest.UsageError,
        match=r"^42 \(type=int\) names no process; pass a name, a ProcessRef or a "
        r"Supervisor$",
    ):
        supervisor.restarts(42)
"""
    )

    result = pytester.runpytest(*ARGS)

    result.assert_outcomes(passed=1)
