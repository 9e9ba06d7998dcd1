"""The session side of journal snapshots: what tests used, and what is unused.

While running, each process (the only one, or every pytest-xdist worker)
notes which tests ran to completion (setup, call and teardown all passed)
and which snapshots each used or read. At the end a worker hands these
records to the controller through ``workeroutput``; the controller (or the
only process) merges them and decides. Where the files are, and which
folders were collected and selected in full, comes from `SnapshotLayout`.

A snapshot is *unused* when it belongs to a test that ran to completion and
did not use it (nor did any test read it for replay). A whole file is
unused when no collected test owns it any more (the test was renamed or
removed), which is decided only for folders whose modules were collected and
selected in full and all of whose tests finished, and only for a file that
records one of those modules as its own. Runs under ``--phyxius-runs`` or
``--phyxius-seed`` never count as having run to completion here: they follow
another schedule than the test's own. Everything else, in
particular tests deselected by ``-k``, ``-m`` or node ids, skipped, failed
or interrupted tests, and tests of a crashed worker, leaves files alone.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, final

import pytest

from pytest_phyxius._snapshot_errors import SnapshotError
from pytest_phyxius._snapshot_files import remove_snapshots
from pytest_phyxius._snapshot_layout import SnapshotLayout
from pytest_phyxius._snapshot_unused import (
    Unused,
    decide_unused,
    merge_payloads,
    summary_lines,
)

__all__ = ["SnapshotSession", "ci_enabled"]

WORKEROUTPUT_KEY: Final = "phyxius_snapshots"
_FALSE_WORDS: Final = frozenset({"", "0", "false", "no", "off"})


def ci_enabled(environ: Mapping[str, str]) -> bool:
    """Whether the ``CI`` environment variable says this is a CI run.

    Set to anything but an empty string, ``0``, ``false``, ``no`` or
    ``off`` (in any letter case).
    """
    return environ.get("CI", "").strip().lower() not in _FALSE_WORDS


@final
class SnapshotSession:
    """The plugin object registered for journal snapshots; one per pytest run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.update: bool = bool(config.getoption("phyxius_update", False))
        self.ci = ci_enabled(os.environ)
        self.is_worker = hasattr(config, "workerinput")

        self.layout = SnapshotLayout(config)

        # Running: invariant: a node id is in `completed` only if its setup,
        # call and teardown reports (the last run's, under reruns) all passed.
        self._phases_ok: dict[str, bool] = {}
        self.completed: set[str] = set()
        self.finished: set[str] = set()
        self.uses: dict[str, dict[str, Any]] = {}
        self.reads: dict[str, set[str]] = {}
        self.counts: Counter[str] = Counter()
        self.changes: dict[str, list[str]] = {"written": [], "updated": []}

        self._payloads: list[dict[str, Any]] = []
        self.unused: list[Unused] = []
        self.removed = False
        self.problems: list[str] = []

    # -- roles -----------------------------------------------------------------

    @property
    def is_controller(self) -> bool:
        """Whether this is pytest-xdist's controller, which runs no test itself."""
        return self.config.pluginmanager.has_plugin("dsession")

    # -- collection --------------------------------------------------------------

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Note what each collector collected."""
        self.layout.note_collected(report)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Give every collected test its snapshot file and check for clashes."""
        if not self.is_controller:
            self.layout.build(session)

    # -- running -------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Note which tests ran to completion."""
        if self.is_controller:
            return
        nodeid = report.nodeid
        if report.when == "setup":
            self._phases_ok[nodeid] = report.passed
        elif report.when == "call":
            self._phases_ok[nodeid] = (
                self._phases_ok.get(nodeid, False) and report.passed
            )
        elif report.when == "teardown":
            ok = self._phases_ok.pop(nodeid, False) and report.passed
            self.finished.add(nodeid)
            if ok:
                self.completed.add(nodeid)
            else:
                self.completed.discard(nodeid)

    def record_use(
        self, nodeid: str, path: Path, used: Iterable[str], stale: Iterable[str]
    ) -> None:
        """Note the snapshots a test used and the stored ones it did not."""
        self.uses[nodeid] = {
            "path": os.fspath(path),
            "used": sorted(used),
            "stale": sorted(stale),
        }

    def record_read(self, path: Path, name: str) -> None:
        """Note that a test read a snapshot for replay (which keeps it in use)."""
        self.reads.setdefault(os.fspath(path), set()).add(name)

    def record_outcome(self, outcome: str, path: Path, name: str) -> None:
        """Count one comparison: passed, written, updated or failed."""
        self.counts[outcome] += 1
        if outcome in self.changes:
            self.changes[outcome].append(f"{os.fspath(path)}: {name}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_assertrepr_compare(
        self, op: str, left: object, right: object
    ) -> list[str] | None:
        """Explain a failed ``journal == journal_snapshot`` with the diff."""
        if op != "==":
            return None
        for side in (right, left):
            # Looked up on the type: a Mock answers any attribute name.
            explain = getattr(type(side), "_phyxius_snapshot_explanation", None)
            if explain is not None:
                lines: list[str] | None = explain(side)
                return lines
        return None

    # -- the end of the session ------------------------------------------------

    def payload(self) -> dict[str, Any]:
        """This process's records, in the plain types xdist can send."""
        layout = self.layout
        relevant: dict[str, str] = {}
        for nodeid, location in layout.locations.items():
            if nodeid in self.uses or layout.stored_at_collection(location.path):
                relevant[nodeid] = os.fspath(location.path)
        return {
            "folders": layout.folders_payload(),
            "files": relevant,
            "blocked": layout.blocked(),
            # A run under another seed says nothing about which snapshots the
            # test uses: only runs of the test as it is decide what is unused.
            "completed": sorted(
                n for n in self.completed if n in relevant and n not in layout.explored
            ),
            "finished": sorted(self.finished),
            "uses": self.uses,
            "reads": {path: sorted(names) for path, names in self.reads.items()},
            "counts": dict(self.counts),
            "changes": self.changes,
        }

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Take a pytest-xdist worker's records (a crashed worker sends none)."""
        output = getattr(node, "workeroutput", None)
        if isinstance(output, dict) and WORKEROUTPUT_KEY in output:
            self._payloads.append(output[WORKEROUTPUT_KEY])

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Workers send their records; the controller or the only process decides."""
        if self.is_worker:
            workeroutput: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
            workeroutput[WORKEROUTPUT_KEY] = self.payload()
            return
        payloads = self._payloads if self.is_controller else [self.payload()]
        merged = merge_payloads(payloads)
        self.counts = Counter(merged["counts"])
        self.changes = merged["changes"]
        self.unused = decide_unused(merged, self.problems)
        if self.update and self.unused:
            self._remove_unused()

    def _remove_unused(self) -> None:
        for unused in self.unused:
            path = Path(unused.path)
            try:
                remove_snapshots(
                    path, None if unused.names is None else set(unused.names)
                )
            except (SnapshotError, OSError) as error:
                self.problems.append(f"could not remove from {unused.path}: {error}")
        self.removed = True

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Report the snapshots' outcome and the unused ones."""
        if self.is_worker:
            return
        lines = self.summary_lines(terminalreporter.config.invocation_params.dir)
        if lines:
            terminalreporter.section("phyxius journal snapshots")
            for line in lines:
                terminalreporter.line(line)

    def summary_lines(self, base: Path) -> list[str]:
        """The lines of the terminal summary (empty when there is nothing to say)."""
        return summary_lines(
            self.counts, self.changes, self.unused, self.removed, self.problems, base
        )
