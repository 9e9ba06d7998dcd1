"""Alongside anyio's pytest plugin: Phyxius tests run once, on virtual time."""

from __future__ import annotations

import pytest

pytest.importorskip("anyio")

# anyio's plugin loads from its entry point; pytest-asyncio and looptime stay out.
WITH_ANYIO = ("-p", "no:asyncio", "-p", "no:looptime_plugin")

CONFTEST = """
import asyncio
import pathlib

from phyxius.clock import VirtualTimeEventLoop

RUNS = pathlib.Path(__file__).parent / "runs.txt"

def record(name):
    loop = asyncio.get_running_loop()
    kind = "virtual" if isinstance(loop, VirtualTimeEventLoop) else "anyio"
    with RUNS.open("a") as runs:
        runs.write(f"{name} {kind}\\n")
"""

TESTS = """
import anyio
import pytest

from conftest import record

@pytest.fixture
async def phyxius_resource(controlled_clock):
    record("phyxius_resource")
    yield
    await anyio.sleep(1)

@pytest.fixture
async def anyio_resource():
    record("anyio_resource")

@pytest.mark.anyio
async def test_phyxius(controlled_clock, phyxius_resource):
    record("test_phyxius")
    with anyio.fail_after(7200):
        await anyio.sleep(3600)
    assert anyio.current_time() == 3600.0
    assert controlled_clock.now().mono == 3600

@pytest.mark.anyio
async def test_plain_anyio(anyio_resource):
    record("test_plain_anyio")
    await anyio.sleep(0.001)
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_mixed=TESTS)
    return pytester


def run(pytester: pytest.Pytester, *ini: str) -> pytest.RunResult:
    pytester.makeini("\n".join(["[pytest]", "filterwarnings = error", *ini]))
    return pytester.runpytest("-p", "no:cacheprovider", *WITH_ANYIO)


def runs(pytester: pytest.Pytester) -> list[str]:
    return sorted((pytester.path / "runs.txt").read_text().splitlines())


def test_marked_phyxius_tests_run_once_on_virtual_time(inner: pytest.Pytester) -> None:
    run(inner).assert_outcomes(passed=2)
    assert runs(inner) == [
        "anyio_resource anyio",
        "phyxius_resource virtual",
        "test_phyxius virtual",
        "test_plain_anyio anyio",
    ]


def test_auto_mode_leaves_phyxius_tests_on_virtual_time(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_auto="""
        import anyio

        from conftest import record

        async def test_auto_phyxius(controlled_clock):
            record("test_auto_phyxius")
            await anyio.sleep(60)
            assert controlled_clock.now().mono == 60

        async def test_auto_plain():
            record("test_auto_plain")
        """
    )
    run(inner, "anyio_mode = auto").assert_outcomes(passed=4)
    assert runs(inner) == [
        "anyio_resource anyio",
        "phyxius_resource virtual",
        "test_auto_phyxius virtual",
        "test_auto_plain anyio",
        "test_phyxius virtual",
        "test_plain_anyio anyio",
    ]


def test_several_backends_keep_one_variant_of_each_phyxius_test(
    inner: pytest.Pytester,
) -> None:
    inner.makeconftest(
        CONFTEST
        + """
import pytest

@pytest.fixture(
    params=["asyncio", ("asyncio", {"debug": True})], ids=["plain", "debug"]
)
def anyio_backend(request):
    return request.param
"""
    )
    result = run(inner)
    result.assert_outcomes(passed=3, deselected=1)
    assert runs(inner) == [
        "anyio_resource anyio",
        "anyio_resource anyio",
        "phyxius_resource virtual",
        "test_phyxius virtual",
        "test_plain_anyio anyio",
        "test_plain_anyio anyio",
    ]
