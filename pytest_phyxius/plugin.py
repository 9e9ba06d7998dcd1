"""The Phyxius pytest plugin: options, markers, fixtures and the async test runner.

pytest loads this module through the ``pytest11`` entry point named
``phyxius``; no conftest is needed. ``async def`` tests that use a Phyxius
fixture run on a `VirtualTimeEventLoop` driven by that test's
``controlled_clock``, so they need no other async plugin.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Generator, Iterator

import pytest

from phyxius.clock import ControlledClock, VirtualTimeEventLoop
from pytest_phyxius._callback_errors import CallbackErrors, CollectingHandler
from pytest_phyxius._settings import INI_OPTIONS, MARKER_KEYS, Settings, settings_for

# The fixtures of each primitive live in their own private module; importing
# them here is what registers them with pytest. Keep this list and __all__ in
# step.

__all__ = [
    "callback_errors",
    "controlled_clock",
    "phyxius_runner",
    "phyxius_settings",
]

_callback_errors_key = pytest.StashKey[CallbackErrors]()


# -- options and markers ------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the plugin's ini options."""
    for name, (help_text, kind) in INI_OPTIONS.items():
        if kind == "bool":
            parser.addini(name, help_text, type="bool", default=True)
        else:
            parser.addini(name, help_text, default="")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``phyxius`` marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        "phyxius("
        + ", ".join(f"{key}=..." for key in sorted(MARKER_KEYS))
        + "): configure Phyxius fixtures for this test (start: wall time of "
        "controlled_clock; autojump: jump virtual time when every task is "
        "blocked; io_grace: real seconds to wait for socket I/O before jumping; "
        "freeze_time: make datetime.now()/time.time() follow the clock; seed: "
        "seed for ids and scheduling).",
    )


# -- fixtures -------------------------------------------------------------------


@pytest.fixture
def phyxius_settings(request: pytest.FixtureRequest) -> Settings:
    """The test's Phyxius settings: its ``phyxius`` marker over the ini options."""
    return settings_for(request.node)


@pytest.fixture
def controlled_clock(phyxius_settings: Settings) -> ControlledClock:
    """A `ControlledClock` for this test.

    It starts at 2024-01-01T00:00:00Z (change it with
    ``@pytest.mark.phyxius(start=...)`` or the ``phyxius_start`` ini option)
    with monotonic time 0, and stays usable through the test's teardown.
    """
    return ControlledClock(phyxius_settings.start_wall_ns / 1_000_000_000)


@pytest.fixture
def phyxius_runner(
    controlled_clock: ControlledClock, phyxius_settings: Settings
) -> Iterator[asyncio.Runner]:
    """The `asyncio.Runner` whose virtual-time loop runs this test's coroutines.

    Fixtures that must run async code on the test's loop (for example to shut
    processes down at teardown) request it; it is closed after them.
    """
    runner = asyncio.Runner(
        loop_factory=lambda: VirtualTimeEventLoop(
            controlled_clock,
            autojump=phyxius_settings.autojump,
            io_grace=phyxius_settings.io_grace,
        )
    )
    with runner:
        yield runner


@pytest.fixture
def callback_errors(request: pytest.FixtureRequest) -> CallbackErrors:
    """The Phyxius callback errors collected during this test.

    Any left unclaimed fail the test; a test that provokes one on purpose
    claims it with ``callback_errors.take()``.
    """
    errors: CallbackErrors = request.node.stash[_callback_errors_key]
    return errors


# -- running async tests on virtual time --------------------------------------


def _uses_phyxius(item: pytest.Function) -> bool:
    return "controlled_clock" in item.fixturenames


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests that use Phyxius fixtures on the virtual-time loop."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj) or not _uses_phyxius(pyfuncitem):
        return None
    runner: asyncio.Runner = pyfuncitem._request.getfixturevalue("phyxius_runner")
    arguments = {
        name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames
    }
    runner.run(pyfuncitem.obj(**arguments))
    return True


# -- failing tests for callback errors ----------------------------------------


def _watch_callback_errors(
    item: pytest.Item, phase: str
) -> Generator[None, None, None]:
    errors = item.stash.setdefault(_callback_errors_key, CallbackErrors())
    handler = CollectingHandler(errors)
    logger = logging.getLogger("phyxius")
    logger.addHandler(handler)
    try:
        yield
    except BaseException as error:
        if errors:
            error.add_note(errors._failure_message(phase))
            errors.take()
        raise
    finally:
        logger.removeHandler(handler)
    if errors:
        message = errors._failure_message(phase)
        errors.take()
        pytest.fail(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the setup phase for callback errors raised during it."""
    yield from _watch_callback_errors(item, "setup")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test for callback errors raised while it ran."""
    yield from _watch_callback_errors(item, "the test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, None, None]:
    """Fail the teardown phase for callback errors raised during it."""
    yield from _watch_callback_errors(item, "teardown")
