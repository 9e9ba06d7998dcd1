"""The pytest plugin of Phyxius.

pytest loads `pytest_phyxius.plugin` through the ``pytest11`` entry point, so
installing ``phyxius[pytest]`` is all a project needs. This package re-exports
what a test may want to name in a type annotation.
"""

from pytest_phyxius._atom_fixtures import AtomFactory
from pytest_phyxius._callback_errors import CallbackErrors
from pytest_phyxius._journal_fixtures import JournalFactory
from pytest_phyxius._process_fixtures import SupervisorFixture
from pytest_phyxius._settings import Settings
from pytest_phyxius._snapshot_fixture import JournalSnapshotFixture

__all__ = [
    "AtomFactory",
    "CallbackErrors",
    "JournalFactory",
    "JournalSnapshotFixture",
    "Settings",
    "SupervisorFixture",
]
