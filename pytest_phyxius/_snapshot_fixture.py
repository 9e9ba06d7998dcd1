"""The ``journal_snapshot`` fixture: compare journals with stored snapshots.

Each comparison is one *snapshot* of the test, named by the test (``name=``)
or numbered in the order of the unnamed comparisons (``"1"``, ``"2"``, ...).
All the snapshots of one test live in one file; see `pytest_phyxius.snapshot`
for the workflow.

A run of ``--phyxius-runs`` (``test[phyxius-run-3]``) or of
``--phyxius-seed`` is the test under another schedule: it compares with the
test's own file and snapshots, and never writes one. A missing snapshot
fails it, asking for a run of the test as it is to record the snapshot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeAlias, final

import pytest

from phyxius import InvalidArgumentError
from phyxius.journal import Entry, Journal, JournalSnapshot
from pytest_phyxius._simulation import SimulationRun, explored_run, plain_run_command
from pytest_phyxius._snapshot_codec import (
    EntryHook,
    encode_entry,
    plain_document,
    raw_entry,
)
from pytest_phyxius._snapshot_diff import describe_difference
from pytest_phyxius._snapshot_errors import (
    SnapshotFileError,
    SnapshotNameError,
    SnapshotNotFoundError,
)
from pytest_phyxius._snapshot_files import (
    StoredFile,
    default_filename,
    read_file,
    render_file,
    write_atomic,
)
from pytest_phyxius._snapshot_layout import Location
from pytest_phyxius._snapshot_matcher import (
    Compared,
    SnapshotMatcher,
    check_name,
    entries_of,
    wrong_type,
)
from pytest_phyxius._snapshot_replay import (
    read_journal_snapshot,
    read_name,
    snapshot_from_document,
)
from pytest_phyxius._snapshot_session import SnapshotSession
from pytest_phyxius._snapshot_values import ValueHook, canonical
from pytest_phyxius._snapshot_volatile import Paths, apply_volatile, parse_paths

__all__ = [
    "SESSION_KEY",
    "JournalSnapshotFixture",
    "SnapshotMatcher",
    "journal_snapshot",
    "read_journal_snapshot",
    "snapshot_document",
]

SESSION_KEY: Final = pytest.StashKey[SnapshotSession]()
"""Where the run's `SnapshotSession` is kept on the config."""

Comparable: TypeAlias = Journal | JournalSnapshot | Sequence[Entry]
"""What a snapshot compares with: a journal, its snapshot, or a list of entries."""

_UPDATE_HINT: Final = (
    "Run pytest --phyxius-update to accept the journal as the snapshot."
)


def snapshot_document(
    compared: Compared,
    exclude: Paths,
    replace: Paths,
    value_hook: ValueHook | None,
    entry_hook: EntryHook | None,
) -> tuple[dict[str, Any], bool]:
    """The snapshot document of ``compared``, and whether it is raw.

    A JSON-codec journal compared without an entry hook or volatile paths
    gets a raw document (see `raw_entry`): the common case, made cheap. A raw
    document compares by its canonical text; `plain_document` turns it into
    what the file holds.
    """
    raw = compared.json_codec and entry_hook is None and not exclude and not replace
    if raw:
        documents = [raw_entry(entry) for entry in compared.entries]
    else:
        documents = [
            encode_entry(entry, value_hook, entry_hook) for entry in compared.entries
        ]
        apply_volatile(documents, exclude, replace)
    document: dict[str, Any] = {}
    if compared.journal is not None:
        document["journal"] = compared.journal
    if compared.first_sequence:
        document["first_sequence"] = compared.first_sequence
    document["entries"] = documents
    return document, raw


@final
class JournalSnapshotFixture:
    """The ``journal_snapshot`` fixture: this test's stored journal snapshots.

    ``assert journal == journal_snapshot`` compares ``journal`` with the
    test's next numbered snapshot; `assert_match` and calling the fixture
    take a ``name`` and volatile paths. On a developer's machine a missing
    snapshot is written and the comparison passes; with the ``CI``
    environment variable set it fails instead; ``--phyxius-update`` writes
    missing and changed snapshots. The file is written when the test ends.
    A run under ``--phyxius-runs`` or ``--phyxius-seed`` only compares, with
    the snapshots of the test itself.
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self, session: SnapshotSession, item: pytest.Item, location: Location
    ) -> None:
        self._session = session
        self._item = item
        self._location = location
        self._exclude: Paths = ()
        self._replace: Paths = ()
        self._counter = 0
        self._used: set[str] = set()
        self._pending: dict[str, dict[str, Any]] = {}
        self._stored: StoredFile | None = None
        self._loaded = False
        self._explanation: list[str] | None = None
        self._explored: SimulationRun | None = explored_run(item)

        config = item.config
        value_hook = item.ihook.pytest_phyxius_snapshot_value
        entry_hook = item.ihook.pytest_phyxius_snapshot_entry
        self._value_hook: ValueHook | None = (
            (lambda value: value_hook(value=value, config=config))
            if value_hook.get_hookimpls()
            else None
        )
        self._entry_hook: EntryHook | None = (
            (
                lambda entry, document: entry_hook(
                    entry=entry, document=document, config=config
                )
            )
            if entry_hook.get_hookimpls()
            else None
        )

    # -- what it is --------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The file holding this test's snapshots (it may not exist yet)."""
        return self._location.path

    @property
    def test_name(self) -> str:
        """The test's node id within its module, as the file records it."""
        return self._location.test_name

    def __repr__(self) -> str:
        return f"<journal_snapshot of {self.test_name} in {os.fspath(self.path)}>"

    # -- comparing ---------------------------------------------------------------

    def configure(self, *, exclude: object = None, replace: object = None) -> None:
        """Set the volatile paths every later comparison of this test uses.

        The paths of each comparison are added to these. A conftest fixture
        that overrides ``journal_snapshot`` can set them for a whole folder.

        Raises:
            InvalidArgumentError: a path is malformed (nothing is changed).
        """
        excluded = parse_paths(exclude, "exclude")
        replaced = parse_paths(replace, "replace")
        self._exclude = excluded
        self._replace = replaced

    def __call__(
        self, *, name: str | None = None, exclude: object = None, replace: object = None
    ) -> SnapshotMatcher:
        """A matcher for one comparison with ``name`` and extra volatile paths.

        Raises:
            InvalidArgumentError: ``name`` or a path is malformed.
        """
        return SnapshotMatcher(
            self,
            check_name(name),
            self._exclude + parse_paths(exclude, "exclude"),
            self._replace + parse_paths(replace, "replace"),
        )

    def __eq__(self, other: object) -> bool:
        entries = entries_of(other)
        if entries is None:
            self._explanation = [wrong_type(other)]
            return NotImplemented
        ok, self._explanation = self._compare(
            entries, None, self._exclude, self._replace
        )
        return ok

    def _phyxius_snapshot_explanation(self) -> list[str] | None:
        return self._explanation

    def assert_match(
        self,
        journal: Comparable,
        *,
        name: str | None = None,
        exclude: object = None,
        replace: object = None,
    ) -> None:
        """Assert that ``journal`` matches the test's snapshot ``name``.

        ``exclude`` and ``replace`` are volatile paths (see the README),
        added to those given to `configure`.

        Raises:
            AssertionError: the journal differs (the message is the diff), or
                the snapshot is missing while ``CI`` is set.
            InvalidArgumentError: ``journal`` is not a journal, or ``name`` or
                a path is malformed (nothing is compared or written).
        """
        __tracebackhide__ = True
        matcher = self(name=name, exclude=exclude, replace=replace)
        entries = entries_of(journal)
        if entries is None:
            raise InvalidArgumentError(
                f"journal={journal!r} (type={type(journal).__name__}): "
                + wrong_type(journal)
            )
        ok, explanation = self._compare(
            entries, matcher._name, matcher._exclude, matcher._replace
        )
        if not ok:
            raise AssertionError("\n".join(explanation or ()))

    def _compare(
        self,
        entries: Compared,
        name: str | None,
        exclude: Paths,
        replace: Paths,
    ) -> tuple[bool, list[str] | None]:
        document, raw = snapshot_document(
            entries, exclude, replace, self._value_hook, self._entry_hook
        )
        stored_file = self._load()

        # The name is taken only once the journal converted without error.
        if name is None:
            self._counter += 1
            key = str(self._counter)
        else:
            key = name
        if key in self._used:
            raise SnapshotNameError(
                f"test {self._item.nodeid} compares with snapshot {key!r} twice; "
                "give each comparison its own name="
            )
        self._used.add(key)

        stored = self._pending.get(key)
        if stored is None and stored_file is not None:
            stored = stored_file.snapshots.get(key)
        session = self._session
        if stored is not None and canonical(stored) == canonical(document):
            session.record_outcome("passed", self.path, key)
            return True, None

        if raw:
            document = plain_document(document)
        where = self._shown_path()
        if self._explored is not None:
            session.record_outcome("failed", self.path, key)
            return False, self._explored_failure(key, where, stored, document)
        if stored is None and (session.update or not session.ci):
            self._pending[key] = document
            session.record_outcome("written", self.path, key)
            return True, None
        if stored is not None and session.update:
            self._pending[key] = document
            session.record_outcome("updated", self.path, key)
            return True, None

        session.record_outcome("failed", self.path, key)
        if stored is None:
            return False, [
                f"journal snapshot {key!r} does not exist in {where}",
                "The CI environment variable is set "
                f"(CI={os.environ.get('CI', '')!r}), so a missing snapshot fails "
                "instead of being written. Run the test without CI set, or with "
                "--phyxius-update, on a development machine and commit the file.",
            ]
        return False, [
            f"journal differs from snapshot {key!r} in {where}",
            *describe_difference(stored, document),
            _UPDATE_HINT,
        ]

    def _explored_failure(
        self,
        key: str,
        where: str,
        stored: dict[str, Any] | None,
        document: dict[str, Any],
    ) -> list[str]:
        run = self._explored
        assert run is not None
        if run.source == "runs":
            how = f"seed {run.seed} (run {run.run} of {run.runs}, --phyxius-runs)"
            option = "--phyxius-runs"
        else:
            how = f"seed {run.seed} (--phyxius-seed)"
            option = "--phyxius-seed"
        if stored is None:
            return [
                f"journal snapshot {key!r} does not exist in {where}",
                f"This run follows {how}: it compares with the snapshots of test "
                f"{self.test_name} and never records them. Run the test once "
                f"without {option} ({plain_run_command(self._item)}) to record the "
                "snapshot, and commit the file.",
            ]
        return [
            f"journal differs from snapshot {key!r} in {where}",
            *describe_difference(stored, document),
            f"This run follows {how}, and the snapshot holds the journal of the "
            "test run as it is: the journal depends on the schedule. Fix the "
            "race, or leave what may differ out of the comparison (exclude=, "
            "replace=). --phyxius-update records snapshots only without "
            f"{option}.",
        ]

    def _load(self) -> StoredFile | None:
        if self._loaded:
            return self._stored
        try:
            stored = read_file(self.path)
        except SnapshotFileError:
            if not self._session.update:
                raise
            stored = None  # --phyxius-update rewrites a damaged file
        module = self._location.module
        if stored is not None and (
            stored.test != self.test_name or stored.module not in (None, module)
        ):
            raise SnapshotNameError(
                f"snapshot file {os.fspath(self.path)} belongs to test "
                f"{stored.test!r} of module {stored.module!r}, not {self.test_name!r}"
                f" of {module!r}; two tests were given one file (check the "
                "pytest_phyxius_snapshot_* hooks), or the file was copied or its "
                "module moved: delete or rename it"
            )
        self._stored = stored
        self._loaded = True
        return stored

    def _shown_path(self) -> str:
        base = self._item.config.invocation_params.dir
        try:
            return os.path.relpath(self.path, base)
        except ValueError:
            return os.fspath(self.path)

    # -- replay --------------------------------------------------------------------

    def read(self, name: str | int = 1, *, test: str | None = None) -> JournalSnapshot:
        """A stored snapshot as a `JournalSnapshot`, to seed a journal.

        ``name`` is a snapshot's name or number (1 for the first unnamed
        one); ``test`` is another test of this module, by its node id within
        the module (``"test_checkout"``, ``"TestCart::test_total[card]"``);
        by default this test. A snapshot read here counts as used, so
        ``--phyxius-update`` keeps it as long as this test runs with it.

        Raises:
            SnapshotNotFoundError: there is no such snapshot.
            SnapshotReplayError: the snapshot left out a field an entry needs
                (``exclude=``) or holds a value that cannot be rebuilt.
        """
        key = read_name(name)
        if test is None:
            path = self.path
            stored_file = self._load()
            document = self._pending.get(key)
            if document is None and stored_file is not None:
                document = stored_file.snapshots.get(key)
        else:
            path = self._path_of(test)
            stored_file = read_file(path)
            document = None if stored_file is None else stored_file.snapshots.get(key)
        if document is None:
            owner = self.test_name if test is None else test
            raise SnapshotNotFoundError(
                f"no snapshot {key!r} of test {owner!r} in {os.fspath(path)}; run "
                "that test first to write it"
            )
        self._session.record_read(path, key)
        return snapshot_from_document(
            document, f"snapshot {key!r} in {os.fspath(path)}"
        )

    def replay(
        self, journal: Journal, name: str | int = 1, *, test: str | None = None
    ) -> Journal:
        """Load a stored snapshot into the new, never-written ``journal``.

        The entries keep their ids, sequences, times, data and metadata.
        Returns ``journal``. See `read` for ``name`` and ``test``.
        """
        journal.load(self.read(name, test=test).entries)
        return journal

    def _path_of(self, test: str) -> Path:
        if not isinstance(test, str) or not test:
            raise InvalidArgumentError(
                f"test={test!r} (type={type(test).__name__}) is not a test name; "
                'pass its node id within this module, such as "test_checkout"'
            )
        module_nodeid = self._location.module_nodeid
        location = self._session.layout.locations.get(f"{module_nodeid}::{test}")
        if location is not None:
            return location.path
        return self.path.parent / default_filename(test)

    # -- the end of the test -----------------------------------------------------

    def _finish(self) -> None:
        """Write the new and changed snapshots; tell the session what was used."""
        stored = self._stored
        if not self._loaded and self._session.layout.stored_at_collection(self.path):
            try:
                stored = self._load()
            except (SnapshotFileError, SnapshotNameError):
                stored = None

        if self._explored is not None:
            # The test run as it is decides what it uses; this run only
            # marks what it compared with, which keeps it in use.
            for key in self._used:
                self._session.record_read(self.path, key)
            return

        if self._pending:
            snapshots = dict(stored.snapshots) if stored is not None else {}
            snapshots.update(self._pending)
            write_atomic(
                self.path,
                render_file(self.test_name, snapshots, self._location.module),
            )

        stale = set() if stored is None else set(stored.snapshots) - self._used
        self._session.record_use(self._item.nodeid, self.path, self._used, stale)


@pytest.fixture
def journal_snapshot(
    request: pytest.FixtureRequest,
) -> Iterator[JournalSnapshotFixture]:
    """This test's stored journal snapshots: ``assert journal == journal_snapshot``.

    The first run writes the snapshot beside the test module, in
    ``__snapshots__/<module>/<test>.json``; later runs compare and show a diff;
    ``--phyxius-update`` rewrites. See the README, "Journal snapshots".
    """
    session = request.config.stash[SESSION_KEY]
    location = session.layout.location_of(request.node)
    fixture = JournalSnapshotFixture(session, request.node, location)
    yield fixture
    fixture._finish()
