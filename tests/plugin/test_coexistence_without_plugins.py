"""The plugin on its own, and with pytest-asyncio and anyio loaded together."""

from __future__ import annotations

import sys
import textwrap

import pytest

TESTS = """
import asyncio
from datetime import UTC, datetime

import pytest

from phyxius.clock import VirtualTimeEventLoop

@pytest.fixture
async def resource(controlled_clock):
    await asyncio.sleep(1)
    yield asyncio.get_running_loop()

@pytest.mark.phyxius(freeze_time=True)
async def test_phyxius(controlled_clock, resource):
    assert isinstance(resource, VirtualTimeEventLoop)
    await asyncio.sleep(3600)
    assert datetime.now(UTC) == datetime(2024, 1, 1, 1, 0, 1, tzinfo=UTC)
"""


def test_the_plugin_works_when_neither_async_plugin_can_be_imported(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_alone=TESTS)
    # A fresh interpreter in which pytest-asyncio and anyio cannot be
    # imported at all, and only the Phyxius plugin is loaded.
    script = pytester.makepyfile(
        run_alone=textwrap.dedent(
            """
            import sys

            for blocked in ("pytest_asyncio", "anyio", "sniffio"):
                sys.modules[blocked] = None

            import pytest

            code = pytest.main(
                ["-p", "pytest_phyxius.plugin", "-p", "no:cacheprovider",
                 "-W", "error", "test_alone.py"]
            )
            assert sys.modules["pytest_asyncio"] is None
            raise SystemExit(code)
            """
        )
    )
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.run(sys.executable, str(script))
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*1 passed*"])


def test_with_pytest_asyncio_and_anyio_both_loaded_a_phyxius_test_runs_once(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(
        """
        [pytest]
        filterwarnings = error
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
        """
    )
    pytester.makepyfile(
        test_both=TESTS
        + """
runs = []

@pytest.mark.anyio
async def test_marked_for_anyio_too(controlled_clock):
    runs.append(type(asyncio.get_running_loop()).__name__)
    await asyncio.sleep(60)

def test_ran_once_on_virtual_time():
    assert runs == ["VirtualTimeEventLoop"]
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:looptime_plugin")
    result.assert_outcomes(passed=3)
