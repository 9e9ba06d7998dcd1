"""Alongside pytest-asyncio: Phyxius tests run once, on virtual time; others are its.

Each inner run loads pytest-asyncio (the project's own suite disables it) and
records in a file every run of a test body and the loop it ran on, because
"exactly once" is the point.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_asyncio")

# pytest-asyncio loads from its entry point; anyio and looptime stay out.
WITH_ASYNCIO = ("-p", "no:anyio", "-p", "no:looptime_plugin")

# Shared by the inner test modules: record each run of a test body and the
# kind of loop it ran on.
CONFTEST = """
import asyncio
import pathlib

import pytest

from phyxius.clock import VirtualTimeEventLoop

RUNS = pathlib.Path(__file__).parent / "runs.txt"

def record(name):
    loop = asyncio.get_running_loop()
    kind = "virtual" if isinstance(loop, VirtualTimeEventLoop) else type(loop).__name__
    with RUNS.open("a") as runs:
        runs.write(f"{name} {kind}\\n")
"""

TESTS = """
import asyncio
import pytest
import pytest_asyncio

from conftest import record

@pytest.fixture
async def phyxius_resource(controlled_clock):
    await asyncio.sleep(10)
    record("phyxius_resource")
    yield asyncio.get_running_loop()
    await asyncio.sleep(1)

@pytest_asyncio.fixture
async def asyncio_resource():
    record("asyncio_resource")
    return asyncio.get_running_loop()

async def test_phyxius_unmarked(controlled_clock, phyxius_resource):
    record("test_phyxius_unmarked")
    assert phyxius_resource is asyncio.get_running_loop()
    await asyncio.sleep(3600)
    assert controlled_clock.now().mono == 3610

@pytest.mark.asyncio
async def test_phyxius_marked(controlled_clock):
    record("test_phyxius_marked")
    await asyncio.sleep(3600)
    assert controlled_clock.now().mono == 3600

@pytest.mark.asyncio
async def test_plain_asyncio(asyncio_resource):
    record("test_plain_asyncio")
    assert asyncio_resource is asyncio.get_running_loop()
    await asyncio.sleep(0.001)
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_mixed=TESTS)
    return pytester


def run(pytester: pytest.Pytester, mode: str, *args: str) -> pytest.RunResult:
    pytester.makeini(
        f"""
        [pytest]
        filterwarnings = error
        asyncio_mode = {mode}
        asyncio_default_fixture_loop_scope = function
        """
    )
    return pytester.runpytest("-p", "no:cacheprovider", *WITH_ASYNCIO, *args)


def runs(pytester: pytest.Pytester) -> list[str]:
    return sorted((pytester.path / "runs.txt").read_text().splitlines())


def test_strict_mode_runs_phyxius_tests_once_on_virtual_time(
    inner: pytest.Pytester,
) -> None:
    run(inner, "strict").assert_outcomes(passed=3)
    assert runs(inner) == [
        "asyncio_resource _UnixSelectorEventLoop",
        "phyxius_resource virtual",
        "test_phyxius_marked virtual",
        "test_phyxius_unmarked virtual",
        "test_plain_asyncio _UnixSelectorEventLoop",
    ]


def test_auto_mode_runs_phyxius_tests_once_on_virtual_time(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_auto="""
        import asyncio
        import pytest

        from conftest import record

        @pytest.fixture
        async def auto_resource():
            record("auto_resource")

        async def test_auto_plain(auto_resource):
            record("test_auto_plain")

        async def test_auto_phyxius(controlled_clock):
            record("test_auto_phyxius")
            await asyncio.sleep(60)
        """
    )
    run(inner, "auto").assert_outcomes(passed=5)
    assert runs(inner) == [
        "asyncio_resource _UnixSelectorEventLoop",
        "auto_resource _UnixSelectorEventLoop",
        "phyxius_resource virtual",
        "test_auto_phyxius virtual",
        "test_auto_plain _UnixSelectorEventLoop",
        "test_phyxius_marked virtual",
        "test_phyxius_unmarked virtual",
        "test_plain_asyncio _UnixSelectorEventLoop",
    ]


LOOP_FACTORIES = """

class CustomLoop(asyncio.SelectorEventLoop):
    pass

def pytest_asyncio_loop_factories(config, item):
    return {factories}
"""


def test_a_single_loop_factory_from_the_hook_leaves_phyxius_tests_virtual(
    inner: pytest.Pytester,
) -> None:
    inner.makeconftest(
        CONFTEST + LOOP_FACTORIES.format(factories='{"custom": CustomLoop}')
    )
    run(inner, "auto").assert_outcomes(passed=3)
    assert runs(inner) == [
        "asyncio_resource CustomLoop",
        "phyxius_resource virtual",
        "test_phyxius_marked virtual",
        "test_phyxius_unmarked virtual",
        "test_plain_asyncio CustomLoop",
    ]


def test_several_loop_factories_keep_one_variant_of_each_phyxius_test(
    inner: pytest.Pytester,
) -> None:
    inner.makeconftest(
        CONFTEST
        + LOOP_FACTORIES.format(
            factories='{"custom": CustomLoop, "default": asyncio.SelectorEventLoop}'
        )
    )
    result = run(inner, "auto", "-v")
    # The plain test runs on both loops; each Phyxius test once, its other
    # variant deselected since it would run on the same virtual-time loop.
    result.assert_outcomes(passed=4, deselected=2)
    result.stdout.fnmatch_lines_random(
        [
            "*test_phyxius_unmarked?custom? PASSED*",
            "*test_phyxius_marked?custom? PASSED*",
            "*test_plain_asyncio?custom? PASSED*",
            "*test_plain_asyncio?default? PASSED*",
        ]
    )
    assert runs(inner) == [
        "asyncio_resource CustomLoop",
        "asyncio_resource _UnixSelectorEventLoop",
        "phyxius_resource virtual",
        "test_phyxius_marked virtual",
        "test_phyxius_unmarked virtual",
        "test_plain_asyncio CustomLoop",
        "test_plain_asyncio _UnixSelectorEventLoop",
    ]


def test_a_deadlock_under_pytest_asyncio_still_fails_at_the_tests_line(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_stuck="""
        import asyncio
        import pytest

        @pytest.mark.asyncio
        async def test_stuck(controlled_clock):
            await asyncio.Event().wait()
        """
    )
    result = run(inner, "strict", "test_stuck.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [">       await asyncio.Event().wait()", "*DeadlockError: deadlock*"]
    )
