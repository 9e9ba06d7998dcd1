"""Hook specifications of the Phyxius pytest plugin.

A project customises the plugin by implementing these hooks in a
``conftest.py`` (or any pytest plugin), as it would pytest's own hooks. The
plugin registers this module with ``pluginmanager.add_hookspecs`` when pytest
loads it, so an implementation is checked against the signature here: a
misspelt hook or argument name is an error at start-up, not a silent no-op.

Every hook is named ``pytest_phyxius_<area>_<what>``. An implementation may
take any subset of the arguments, as with every pluggy hook. Hooks marked
*first result* stop at the first implementation that returns something other
than ``None``; returning ``None`` passes the decision on (in the end to the
plugin's default).

Journal snapshots (see the README section "Journal snapshots"):

- `pytest_phyxius_snapshot_dir`: the folder holding a test module's snapshot
  files (default: ``__snapshots__/<module name>/`` beside the module).
- `pytest_phyxius_snapshot_filename`: the file name of one test's snapshots
  inside that folder (default: the test's name, escaped).
- `pytest_phyxius_snapshot_entry`: edit the document written for each journal
  entry (rename, drop or add fields).
- `pytest_phyxius_snapshot_value`: the document of a value the plugin does not
  know how to write (a class of your own).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from phyxius.journal import Entry

__all__ = [
    "pytest_phyxius_snapshot_dir",
    "pytest_phyxius_snapshot_entry",
    "pytest_phyxius_snapshot_filename",
    "pytest_phyxius_snapshot_value",
]


# -- journal snapshots: where they live --------------------------------------


@pytest.hookspec(firstresult=True)
def pytest_phyxius_snapshot_dir(
    module_path: Path, config: pytest.Config
) -> Path | None:
    """The folder holding the snapshot files of the tests in ``module_path``.

    First result. Return a path (a relative one is taken from pytest's
    rootdir, ``config.rootpath``), or ``None`` for the default
    ``module_path.parent / "__snapshots__" / module_path.stem``. Several
    modules may share a folder: each file records its module, so cleaning up
    after a run of one module never touches another module's files. Tests of
    two modules that would get one file name in it are reported as a name
    clash (and a file of another module is never taken over), so give each
    module a folder of its own when their test names overlap.

    Called once per test module, while collecting.
    """


@pytest.hookspec(firstresult=True)
def pytest_phyxius_snapshot_filename(
    item: pytest.Item, test_name: str, default: str, config: pytest.Config
) -> str | None:
    """The file name of ``item``'s snapshots inside its module's folder.

    First result. ``test_name`` is the test's node id within its module
    (``"TestCart::test_total[card]"``); ``default`` is the plugin's own
    name for it, escaped so that it is a safe file name and no two tests
    share one. Return a single file name (no folder separator, not starting
    with ``"."``) ending in ``".json"``, or ``None`` for ``default``. Two
    tests given one name (also when the names differ only in letter case)
    fail with a name-clash error instead of sharing the file.

    Called once per collected test, while collecting.
    """


# -- journal snapshots: how entries are written ------------------------------


def pytest_phyxius_snapshot_entry(
    entry: Entry, document: dict[str, Any], config: pytest.Config
) -> None:
    """Edit, in place, the document written and compared for one journal entry.

    ``document`` holds ``sequence``, ``id``, ``at``, ``data`` and (when the
    entry has any) ``metadata``, already converted to JSON types. Delete a
    key to leave it out of every snapshot, or set new keys to JSON values
    (``str``, ``int``, ``float``, ``bool``, ``None``, ``list`` and ``dict``
    with ``str`` keys). Every implementation is called, in pluggy's order,
    each seeing the edits of the ones before. ``exclude=`` and ``replace=``
    paths apply to the document after this hook.

    Called for each entry of each journal compared with a snapshot, so keep
    it quick.
    """


@pytest.hookspec(firstresult=True)
def pytest_phyxius_snapshot_value(value: object, config: pytest.Config) -> object:
    """What to write for a value of a type the snapshot writer does not know.

    First result. Called only for values that are none of the types the
    plugin writes itself (JSON types, tuples, sets, ``datetime``, ``date``,
    ``time``, ``timedelta``, ``Decimal``, ``UUID``, ``bytes``, ``Instant``
    and ``Event``); dataclasses and enums come here before the plugin's own
    fallback for them. Return a value the writer knows (it is converted in
    turn, so it may hold ``datetime`` and the like), or ``None`` to decline.
    """
