"""Where snapshot files live: one per test, in a folder per test module.

While collecting, each process (the only one, or every pytest-xdist worker,
which all collect the same tests) works out each test's file (through the
``pytest_phyxius_snapshot_dir`` and ``_filename`` hooks, or by default),
refuses two tests one file, and notes for each folder whether every test
module writing to it was collected in full and selected in full: only then
can a file in it that no test owns be called unused, and only if the file
names one of those modules (a folder the ``pytest_phyxius_snapshot_dir`` hook
gives several modules also holds the files of modules this session did not
collect).

The runs of ``--phyxius-runs`` are one test under several schedules: each
gets the file of the test itself, named without the ``phyxius-run-k`` part,
and sharing it is no clash. Those runs, and the tests a ``--phyxius-seed``
replays, are noted in `SnapshotLayout.explored`: they only compare.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, final

import pytest

from pytest_phyxius._simulation import base_nodeid, is_explored
from pytest_phyxius._snapshot_errors import SnapshotNameError
from pytest_phyxius._snapshot_files import SUFFIX, check_filename, default_filename

__all__ = ["FIXTURE_NAME", "Location", "SnapshotLayout", "module_reference"]

FIXTURE_NAME: Final = "journal_snapshot"


@final
@dataclass(frozen=True, slots=True)
class Location:
    """Where one test's snapshots live."""

    path: Path
    """The test's snapshot file."""

    test_name: str
    """The test's node id within its module, as written in the file."""

    module_nodeid: str
    """The node id of the test's module."""

    module: str = ""
    """The test module's path relative to the file's folder, as the file records it."""

    clash: str | None = None
    """Why the test may not use snapshots (it would share a file), or None."""


def module_reference(module_path: Path, folder: Path) -> str:
    """``module_path`` relative to the snapshot ``folder``, with ``/`` separators.

    What a snapshot file records as its ``"module"``: unlike a node id, it
    does not change with pytest's rootdir.
    """
    try:
        relative = os.path.relpath(module_path, folder)
    except ValueError:  # another drive, on Windows
        relative = os.fspath(module_path)
    return relative.replace(os.sep, "/")


@dataclass(slots=True)
class _Folder:
    path: Path
    modules: list[str] = field(default_factory=list)  # as `module_reference`s
    complete: bool = True
    names: dict[str, list[str]] = field(default_factory=dict)  # file name -> nodeids


def _scan(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(
                entry.name
                for entry in entries
                if entry.name.endswith(SUFFIX)
                and not entry.name.startswith(".")
                and entry.is_file()
            )
    except (FileNotFoundError, NotADirectoryError):
        return []


def _test_name(item: pytest.Item, module: pytest.Module) -> str:
    nodeid = base_nodeid(item)
    prefix = module.nodeid + "::"
    if nodeid.startswith(prefix):
        return nodeid[len(prefix) :]
    return nodeid.partition("::")[2] or item.name


@final
class SnapshotLayout:
    """Where every collected test's snapshots live, worked out while collecting.

    One per process that collects (not pytest-xdist's controller). It also
    knows, for each snapshot folder, whether the test modules writing to it
    were collected and selected in full, and which files it held.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

        # Collector node id -> its children, as collected (until `build`).
        self._children: dict[str, list[pytest.Item | pytest.Collector]] = {}
        self.locations: dict[str, Location] = {}
        self._folders: dict[Path, _Folder] = {}
        self._stored: dict[str, list[str]] = {}  # folder -> stored file names
        self.explored: set[str] = set()
        """The node ids of the tests run under another seed (they only compare)."""

    def note_collected(self, report: pytest.CollectReport) -> None:
        """Note what a collector collected (``pytest_collectreport``)."""
        # Two collectors may share a node id (a module and its doctests under
        # --doctest-modules): their children add up.
        if report.passed and report.result is not None:
            self._children.setdefault(report.nodeid, []).extend(report.result)

    def build(self, session: pytest.Session) -> None:
        """Give every collected test its snapshot file and check for clashes."""
        selected = {item.nodeid for item in session.items}
        items: dict[str, pytest.Item] = {}
        for children in self._children.values():
            for node in children:
                if isinstance(node, pytest.Item):
                    items.setdefault(node.nodeid, node)
        for item in session.items:
            items.setdefault(item.nodeid, item)

        modules: dict[str, tuple[pytest.Module, list[pytest.Item]]] = {}
        for item in items.values():
            module = item.getparent(pytest.Module)
            if module is not None:
                modules.setdefault(module.nodeid, (module, []))[1].append(item)

        for module_id, (module, module_items) in modules.items():
            try:
                folder_path = self.folder_for(module)
            except SnapshotNameError as error:
                for item in module_items:
                    self.locations[item.nodeid] = Location(
                        module.path, "", module_id, clash=str(error)
                    )
                continue
            folder = self._folders.setdefault(folder_path, _Folder(folder_path))
            reference = module_reference(module.path, folder_path)
            folder.modules.append(reference)
            if not self._selected_in_full(module_id, selected):
                folder.complete = False
            for item in module_items:
                if is_explored(item):
                    self.explored.add(item.nodeid)
                test_name = _test_name(item, module)
                try:
                    name = self.filename_for(item, test_name)
                except SnapshotNameError as error:
                    # The test fails when it asks for its snapshots; its
                    # folder can no longer be told complete.
                    folder.complete = False
                    self.locations[item.nodeid] = Location(
                        folder_path, test_name, module_id, reference, str(error)
                    )
                    continue
                folder.names.setdefault(name, []).append(item.nodeid)
                self.locations[item.nodeid] = Location(
                    folder_path / name, test_name, module_id, reference
                )

        for folder in self._folders.values():
            self._check_clashes(folder, items)
            stored = _scan(folder.path)
            if stored:
                self._stored[os.fspath(folder.path)] = stored
        self._children.clear()

    def _selected_in_full(self, nodeid: str, selected: set[str]) -> bool:
        # A collector is in full when pytest reported collecting it and each
        # of its children is a selected test or a collector in full. Node-id
        # arguments (file.py::test) collect a module without reporting it,
        # and -k/-m/--deselect leave tests out of the selection. A module
        # that collected nothing (as --last-failed makes of modules without
        # failures) is never in full.
        children = self._children.get(nodeid)
        if not children:
            return False
        for child in children:
            if isinstance(child, pytest.Item):
                if child.nodeid not in selected:
                    return False
            elif not self._selected_in_full(child.nodeid, selected):
                return False
        return True

    def folder_for(self, module: pytest.Module) -> Path:
        """The folder of ``module``'s snapshot files (the hook, or the default)."""
        hook = module.ihook.pytest_phyxius_snapshot_dir
        if hook.get_hookimpls():
            chosen = hook(module_path=module.path, config=self.config)
            if isinstance(chosen, str | os.PathLike):
                # Relative to the rootdir, not to the working directory, which
                # changes with where pytest is started.
                return Path(os.path.normpath(self.config.rootpath / chosen))
            if chosen is not None:
                raise SnapshotNameError(
                    f"pytest_phyxius_snapshot_dir returned {chosen!r} (type="
                    f"{type(chosen).__name__}) for module {module.nodeid}; return a "
                    "path (pathlib.Path or str), or None for the default folder"
                )
        return module.path.parent / "__snapshots__" / module.path.stem

    def filename_for(self, item: pytest.Item, test_name: str) -> str:
        """The file name of ``item``'s snapshots (the hook, or the default)."""
        default = default_filename(test_name)
        hook = item.ihook.pytest_phyxius_snapshot_filename
        if hook.get_hookimpls():
            chosen = hook(
                item=item, test_name=test_name, default=default, config=self.config
            )
            if chosen is not None:
                return check_filename(chosen, test_name)
        return default

    def _check_clashes(self, folder: _Folder, items: Mapping[str, pytest.Item]) -> None:
        # File systems that ignore letter case (macOS, Windows) would merge
        # names that differ only in case, so such names clash everywhere.
        groups: dict[str, list[str]] = {}
        spellings: dict[str, set[str]] = {}
        for name, nodeids in folder.names.items():
            groups.setdefault(name.casefold(), []).extend(nodeids)
            spellings.setdefault(name.casefold(), set()).add(name)
        for folded, nodeids in groups.items():
            unique = sorted(set(nodeids))
            # The runs of one test under --phyxius-runs share its file.
            if len({base_nodeid(items[n]) for n in unique}) < 2:
                continue
            if not any(FIXTURE_NAME in _fixturenames(items[n]) for n in unique):
                continue

            # The plugin's own names are distinct for distinct tests, so one
            # name for two tests came from the hooks; only names that differ
            # in letter case alone can come from the tests' ids.
            if len(spellings[folded]) == 1:
                reason = (
                    "the pytest_phyxius_snapshot_dir/filename hooks gave them "
                    "one file); fix the hooks so that each test gets a file of "
                    "its own"
                )
            else:
                reason = (
                    "file names that differ only in letter case are the same "
                    "file on macOS and Windows); give the tests ids that differ "
                    "in more than that, or fix the "
                    "pytest_phyxius_snapshot_dir/filename hooks"
                )
            for nodeid in unique:
                others = ", ".join(n for n in unique if n != nodeid)
                location = self.locations[nodeid]
                message = (
                    f"test {nodeid} would share the snapshot file "
                    f"{location.path.name!r} in {os.fspath(folder.path)} with "
                    f"{others} ({reason}"
                )
                self.locations[nodeid] = Location(
                    location.path,
                    location.test_name,
                    location.module_nodeid,
                    location.module,
                    message,
                )

    def location_of(self, item: pytest.Item) -> Location:
        """Where ``item``'s snapshots live.

        Raises:
            SnapshotNameError: the test would share its file with another.
        """
        location = self.locations.get(item.nodeid)
        if location is None:
            # A test pytest did not report collecting (made by a plugin).
            module = item.getparent(pytest.Module)
            if module is None:
                raise SnapshotNameError(
                    f"test {item.nodeid} is not in a Python test module, so "
                    "journal_snapshot has no folder for it"
                )
            test_name = _test_name(item, module)
            name = self.filename_for(item, test_name)
            folder_path = self.folder_for(module)
            location = Location(
                folder_path / name,
                test_name,
                module.nodeid,
                module_reference(module.path, folder_path),
            )
            self.locations[item.nodeid] = location
        if location.clash is not None:
            raise SnapshotNameError(location.clash)
        return location

    def stored_at_collection(self, path: Path) -> bool:
        """Whether ``path`` existed when the session collected."""
        return path.name in self._stored.get(os.fspath(path.parent), ())

    def folders_payload(self) -> list[dict[str, Any]]:
        """The folders that held snapshot files, in the plain types xdist sends."""
        folders = []
        for folder in self._folders.values():
            stored = self._stored.get(os.fspath(folder.path))
            if stored:
                nodeids = [n for ids in folder.names.values() for n in ids]
                folders.append(
                    {
                        "path": os.fspath(folder.path),
                        "complete": folder.complete,
                        "modules": sorted(set(folder.modules)),
                        "stored": stored,
                        "known": sorted(folder.names),
                        "tests": sorted(nodeids),
                    }
                )
        return folders

    def blocked(self) -> list[str]:
        """The files that two tests would share: never decided on."""
        return sorted(
            os.fspath(location.path)
            for location in self.locations.values()
            if location.clash is not None and location.path.suffix == SUFFIX
        )


def _fixturenames(item: pytest.Item) -> tuple[str, ...]:
    names: Iterable[str] = getattr(item, "fixturenames", ())
    return tuple(names)
