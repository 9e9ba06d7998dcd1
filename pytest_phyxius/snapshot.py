"""Journal snapshots on disk: golden journals that pytest writes, compares and tidies.

A test pins the behaviour of a whole scenario with
``assert journal == journal_snapshot``. The first run writes the journal to
``__snapshots__/<module>/<test>.json`` beside the test module; every later
run compares and, when they differ, fails with a diff of the entries;
``pytest --phyxius-update`` rewrites changed snapshots and removes unused
ones. With the ``CI`` environment variable set, a missing snapshot fails
instead of being written. The runs of ``--phyxius-runs`` and a
``--phyxius-seed`` replay compare with the test's own snapshots and never
write them. The README's "Journal snapshots" section is the guide; this
module holds the names a test or conftest may import.

- `JournalSnapshotFixture`: what the ``journal_snapshot`` fixture gives a test.
- `SnapshotMatcher`: one comparison with options, ``journal_snapshot(name=...)``.
- `read_journal_snapshot`: read a stored snapshot outside a test, for replay.
- The errors, all `phyxius.PhyxiusError`: `SnapshotError` and its subclasses.
- `pytest_phyxius.hooks`: the hooks that change file locations and contents.
"""

from __future__ import annotations

import pytest

from pytest_phyxius import hooks
from pytest_phyxius._snapshot_errors import (
    SnapshotError,
    SnapshotFileError,
    SnapshotNameError,
    SnapshotNotFoundError,
    SnapshotReplayError,
    SnapshotValueError,
)
from pytest_phyxius._snapshot_files import default_filename
from pytest_phyxius._snapshot_fixture import (
    SESSION_KEY,
    JournalSnapshotFixture,
    SnapshotMatcher,
    journal_snapshot,
    read_journal_snapshot,
)
from pytest_phyxius._snapshot_session import SnapshotSession

__all__ = [
    "JournalSnapshotFixture",
    "SnapshotError",
    "SnapshotFileError",
    "SnapshotMatcher",
    "SnapshotNameError",
    "SnapshotNotFoundError",
    "SnapshotReplayError",
    "SnapshotValueError",
    "default_filename",
    "journal_snapshot",
    "pytest_addhooks_snapshot",
    "pytest_addoption_snapshot",
    "pytest_configure_snapshot",
    "read_journal_snapshot",
]


@pytest.hookimpl(specname="pytest_addhooks")
def pytest_addhooks_snapshot(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register the ``pytest_phyxius_*`` hook specifications."""
    pluginmanager.add_hookspecs(hooks)


@pytest.hookimpl(specname="pytest_addoption")
def pytest_addoption_snapshot(parser: pytest.Parser) -> None:
    """Register ``--phyxius-update``."""
    group = parser.getgroup("phyxius", "Phyxius")
    group.addoption(
        "--phyxius-update",
        action="store_true",
        dest="phyxius_update",
        default=False,
        help="journal snapshots: write new and changed snapshots, and remove the "
        "unused ones of the tests that ran to completion",
    )


@pytest.hookimpl(specname="pytest_configure")
def pytest_configure_snapshot(config: pytest.Config) -> None:
    """Start the run's snapshot bookkeeping (a plugin object of its own)."""
    session = SnapshotSession(config)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "phyxius-snapshots")
