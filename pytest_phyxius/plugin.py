"""The Phyxius pytest plugin: options, markers, fixtures and the async test runner.

pytest loads this module through the ``pytest11`` entry point named
``phyxius``; no conftest is needed. ``async def`` tests that use a Phyxius
fixture run on a `VirtualTimeEventLoop` driven by that test's
``controlled_clock``, so they need no other async plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Generator

import pytest

from phyxius._time import Instant
from phyxius.clock import ControlledClock
from pytest_phyxius._callback_errors import CallbackErrors, CollectingHandler
from pytest_phyxius._settings import (
    INI_OPTIONS,
    MARKER_KEYS,
    Settings,
    parse_start,
    settings_for,
)
from pytest_phyxius._virtual_time import (
    phyxius_frozen_wall_time,
    phyxius_runner,
    pytest_collection_modifyitems_virtual_time,
    pytest_configure_virtual_time,
    pytest_fixture_setup,
    pytest_pyfunc_call,
    pytest_runtest_setup_virtual_time,
)

# isort: split
# The fixtures of each primitive live in their own private module; importing
# them here is what registers them with pytest. Keep this list and __all__ in
# step.
from pytest_phyxius._atom_fixtures import atom
from pytest_phyxius._journal_fixtures import journal, journal_factory
from pytest_phyxius._process_fixtures import supervisor
from pytest_phyxius._report import pytest_runtest_makereport
from pytest_phyxius._simulation import (
    phyxius_run,
    pytest_addoption_simulation,
    pytest_configure_simulation,
    pytest_generate_tests_simulation,
    pytest_pyfunc_call_simulation,
    pytest_report_header_simulation,
    pytest_runtest_makereport_simulation,
    pytest_terminal_summary_simulation,
    settings_with_run_seed,
    simulation,
)
from pytest_phyxius.snapshot import (
    journal_snapshot,
    pytest_addhooks_snapshot,
    pytest_addoption_snapshot,
    pytest_configure_snapshot,
)

__all__ = [
    "atom",
    "callback_errors",
    "controlled_clock",
    "journal",
    "journal_factory",
    "journal_snapshot",
    "phyxius_frozen_wall_time",
    "phyxius_run",
    "phyxius_runner",
    "phyxius_settings",
    "pytest_addhooks_snapshot",
    "pytest_addoption_simulation",
    "pytest_addoption_snapshot",
    "pytest_collection_modifyitems_virtual_time",
    "pytest_configure_simulation",
    "pytest_configure_snapshot",
    "pytest_configure_virtual_time",
    "pytest_fixture_setup",
    "pytest_generate_tests_simulation",
    "pytest_pyfunc_call",
    "pytest_pyfunc_call_simulation",
    "pytest_report_header_simulation",
    "pytest_runtest_makereport",
    "pytest_runtest_makereport_simulation",
    "pytest_runtest_setup_virtual_time",
    "pytest_terminal_summary_simulation",
    "simulation",
    "supervisor",
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

    # A bad ini value is a usage error of the whole run, reported once and
    # before any test starts, rather than as an error of every test.
    ini_start = config.getini("phyxius_start")
    if ini_start:
        parse_start(ini_start, source="phyxius_start")


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, object, object]:
    """Check the ``phyxius`` marker of every test as it is collected.

    A bad marker is a collection error of its module, naming the test and the
    value, as pytest reports an unknown marker under ``--strict-markers``; the
    run stops before any test runs, with or without pytest-xdist (whose
    workers cannot report a usage error raised later).
    """
    result = yield
    collected = result if isinstance(result, list) else [result]
    for item in collected:
        if isinstance(item, pytest.Function) and item.get_closest_marker("phyxius"):
            try:
                settings_for(item)
            except pytest.UsageError as error:
                problem = str(error)
            else:
                continue
            pytest.fail(problem, pytrace=False)
    return result


# -- fixtures -------------------------------------------------------------------


@pytest.fixture
def phyxius_settings(request: pytest.FixtureRequest) -> Settings:
    """The test's Phyxius settings: its ``phyxius`` marker over the ini options.

    Under ``--phyxius-seed`` or ``--phyxius-runs`` the seed of a simulated
    test (async on the virtual-time loop, or using ``simulation``) is the
    run's; other tests keep their own.
    """
    return settings_with_run_seed(settings_for(request.node), request.node)


@pytest.fixture
def controlled_clock(phyxius_settings: Settings) -> ControlledClock:
    """A `ControlledClock` for this test.

    It starts at 2024-01-01T00:00:00Z (change it with
    ``@pytest.mark.phyxius(start=...)`` or the ``phyxius_start`` ini option)
    with monotonic time 0, and stays usable through the test's teardown.
    """
    # An Instant carries the start exactly; epoch seconds as a float would not.
    return ControlledClock(Instant(mono_ns=0, wall_ns=phyxius_settings.start_wall_ns))


@pytest.fixture
def callback_errors(request: pytest.FixtureRequest) -> CallbackErrors:
    """The Phyxius callback errors collected during this test.

    Any left unclaimed fail the test; a test that provokes one on purpose
    claims it with ``callback_errors.take()``.
    """
    errors: CallbackErrors = request.node.stash[_callback_errors_key]
    return errors


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
