"""The ``atom`` fixture, and how the plugin treats atom errors (through pytester)."""

from __future__ import annotations

import asyncio
import operator

import pytest

from phyxius.atom import Atom
from phyxius.clock import ControlledClock, SystemClock, VirtualTimeEventLoop
from pytest_phyxius import AtomFactory

# Inner runs leave out the other async plugins of the dev set-up, and the
# cache, and turn warnings into errors as this suite does.
_ALONE = (
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


def test_atoms_run_on_the_tests_controlled_clock(
    atom: AtomFactory, controlled_clock: ControlledClock
) -> None:
    counter = atom(0)
    controlled_clock.advance(5)
    counter.update(operator.add, 1)

    assert isinstance(counter, Atom)
    assert counter.clock is controlled_clock
    assert counter.snapshot().at == controlled_clock.now()


def test_atoms_keep_their_whole_history_by_default(atom: AtomFactory) -> None:
    counter = atom(0)
    for _ in range(300):
        counter.update(operator.add, 1)

    assert [s.value for s in counter.get_history()] == list(range(301))


def test_options_pass_through_and_may_override_the_defaults(
    atom: AtomFactory,
) -> None:
    clock = SystemClock()
    small = atom("a", history=2, name="small", clock=clock)
    small.set("b")
    small.set("c")

    assert [s.value for s in small.get_history()] == ["b", "c"]
    assert small.name == "small"
    assert small.clock is clock


def test_unknown_options_are_refused(atom: AtomFactory) -> None:
    with pytest.raises(ValueError, match=r"^validate=None is not an option"):
        atom(0, validate=None)


def test_the_factory_has_a_readable_repr(atom: AtomFactory) -> None:
    assert repr(atom).startswith("<atom factory on <ControlledClock")


async def test_an_async_test_using_the_fixture_runs_on_virtual_time(
    atom: AtomFactory,
) -> None:
    flag = atom(False)

    async def later() -> None:
        await asyncio.sleep(86_400)
        flag.set(True)

    task = asyncio.create_task(later())
    assert await flag.wait_for(bool, timeout=100_000) is True
    await task
    assert isinstance(asyncio.get_running_loop(), VirtualTimeEventLoop)
    assert flag.snapshot().at.mono == 86_400


def test_a_raising_watcher_fails_the_test_that_caused_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def broken_watcher(change):
            raise RuntimeError(f"cannot handle {change.new}")

        def test_watched(atom):
            counter = atom(0, name="counter")
            counter.watch(broken_watcher)
            counter.set(1)
            assert counter.get() == 1

        def test_unrelated():
            pass
        """
    )

    result = pytester.runpytest(*_ALONE)

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 Phyxius callback error(s) during the test*",
            "*atom.error from test_a_raising_watcher_fails_the_test_that_caused_it"
            ".broken_watcher*",
            "*RuntimeError: cannot handle 1*",
        ]
    )


def test_a_test_can_claim_an_expected_watcher_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_expected(atom, callback_errors):
            counter = atom(0)
            counter.watch(lambda change: 1 / 0)
            counter.set(1)
            [event] = callback_errors.take()
            assert event.type == "atom.error"
            assert event.data["error_type"] == "ZeroDivisionError"
        """
    )

    result = pytester.runpytest(*_ALONE)

    result.assert_outcomes(passed=1)


def test_a_watcher_writing_to_its_own_atom_fails_the_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_feedback(atom):
            level = atom(0, name="level")
            level.watch(lambda change: level.set(change.new + 1))
            level.set(1)
            assert level.version == 1
        """
    )

    result = pytester.runpytest(*_ALONE)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*AtomReentrancyError: atom 'level'.set() was called from one of its own*"]
    )
