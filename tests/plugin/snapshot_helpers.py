"""Helpers for the journal-snapshot plugin tests: a small project run by pytester.

Every scenario runs twice, without pytest-xdist and with ``-n 2`` (the
``DIST`` parameters). The ``CI`` variable is always set explicitly, since
CI runs this suite with ``CI=true``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

# Inner runs load every installed plugin; only pytest-xdist and Phyxius are
# kept (syrupy would report snapshots of its own, and the others cost a
# second of start-up in every process).
PLUGINS_OFF = tuple(
    option
    for plugin in (
        "cacheprovider",
        "asyncio",
        "anyio",
        "benchmark",
        "hypothesispytest",
        "looptime_plugin",
        "looptime_chronometers",
        "looptime_timeproxies",
        "syrupy",
        "time_machine",
    )
    for option in ("-p", f"no:{plugin}")
)

DIST = [pytest.param((), id="serial"), pytest.param(("-n", "2"), id="xdist")]
"""Parametrize a scenario over: one process, and two pytest-xdist workers."""


class Project:
    """A throw-away pytest project with journal snapshots."""

    def __init__(
        self,
        pytester: pytest.Pytester,
        monkeypatch: pytest.MonkeyPatch,
        dist: tuple[str, ...],
    ) -> None:
        self.pytester = pytester
        self.monkeypatch = monkeypatch
        self.dist = dist
        self.root = pytester.path
        pytester.makeini(
            """
            [pytest]
            filterwarnings = error
            markers =
                slow: a slow test
            """
        )

    def module(self, name: str, source: str) -> Path:
        """Write the test module ``name`` (without ``.py``)."""
        path: Path = self.pytester.makepyfile(**{name: source})
        # Assertion rewriting caches by mtime and size; a module rewritten
        # within the same second must not be read back from the cache.
        shutil.rmtree(path.parent / "__pycache__", ignore_errors=True)
        return path

    def run(
        self, *args: str, ci: str | None = None, cache: bool = False
    ) -> pytest.RunResult:
        """Run pytest on the project; ``ci`` is the CI variable (None: unset).

        ``cache`` keeps pytest's cache plugin (for ``--last-failed``).
        """
        if ci is None:
            self.monkeypatch.delenv("CI", raising=False)
        else:
            self.monkeypatch.setenv("CI", ci)
        plugins = PLUGINS_OFF[2:] if cache else PLUGINS_OFF
        return self.pytester.runpytest(*plugins, "--tb=short", *self.dist, *args)

    def folder(self, module: str = "test_orders") -> Path:
        """The snapshot folder of ``module``."""
        return self.root / "__snapshots__" / module

    def files(self, module: str = "test_orders") -> dict[str, str]:
        """Every snapshot file of ``module``: name -> text."""
        folder = self.folder(module)
        if not folder.exists():
            return {}
        return {
            path.name: path.read_text(encoding="utf-8")
            for path in sorted(folder.iterdir())
        }

    def snapshots(self, file: str, module: str = "test_orders") -> dict[str, Any]:
        """The snapshots stored in one file: name -> document."""
        text = (self.folder(module) / file).read_text(encoding="utf-8")
        snapshots: dict[str, Any] = json.loads(text)["snapshots"]
        return snapshots

    def add_snapshot(
        self, file: str, name: str = "99", module: str = "test_orders"
    ) -> None:
        """Add a snapshot no test uses to an existing file."""
        path = self.folder(module) / file
        document = json.loads(path.read_text(encoding="utf-8"))
        document["snapshots"][name] = {"journal": "default", "entries": []}
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    def add_orphan(self, file: str, module: str = "test_orders") -> None:
        """Write a snapshot file that belongs to no test (a removed test)."""
        document = {
            "format": "phyxius.journal-snapshots",
            "version": 1,
            "test": file.removesuffix(".json"),
            "module": f"../../{module}.py",
            "snapshots": {"1": {"journal": "default", "entries": []}},
        }
        path = self.folder(module) / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


# A module whose tests each write a snapshot of a small journal: plain
# functions, a parametrized test, a class, and a test with a marker.
ORDERS = """
import pytest

def place(journal, what):
    journal.append({"type": "order.placed", "what": what})
    journal.append({"type": "order.paid", "what": what})
    return journal

def test_alpha(journal, journal_snapshot):
    assert place(journal, "alpha") == journal_snapshot

@pytest.mark.parametrize("n", [1, 2])
def test_beta(journal, journal_snapshot, n):
    assert place(journal, f"beta {n}") == journal_snapshot

class TestGroup:
    def test_gamma(self, journal, journal_snapshot):
        assert place(journal, "gamma") == journal_snapshot

@pytest.mark.slow
def test_delta(journal, journal_snapshot):
    assert place(journal, "delta") == journal_snapshot
"""

ORDERS_FILES = [
    "TestGroup.test_gamma.json",
    "test_alpha.json",
    "test_beta[1].json",
    "test_beta[2].json",
    "test_delta.json",
]


def prepared_orders(project: Project) -> dict[str, str]:
    """Write ORDERS with its snapshots, plus an unused snapshot in every file
    and an orphan file; return the files as they are then.

    The snapshots are written in one process even for an xdist scenario:
    what the scenario checks is the run after this one.
    """
    project.module("test_orders", ORDERS)
    dist, project.dist = project.dist, ()
    try:
        project.run("--phyxius-update").assert_outcomes(passed=5)
    finally:
        project.dist = dist
    assert sorted(project.files()) == ORDERS_FILES
    for name in ORDERS_FILES:
        project.add_snapshot(name)
    project.add_orphan("test_removed.json")
    return project.files()


def unused_lines(result: pytest.RunResult) -> list[str]:
    """The files listed as unused (or removed) in the run's summary."""
    return sorted(
        line for line in result.outlines if line.startswith("  __snapshots__")
    )


def check_selection(
    project: Project,
    before: dict[str, str],
    selected: list[str],
    *args: str,
    cache: bool = False,
) -> None:
    """Run ``--phyxius-update`` with ``args``; check that exactly the unused
    snapshots of the ``selected`` files were reported and removed."""
    result = project.run("--phyxius-update", *args, cache=cache)
    result.assert_outcomes(passed=len(selected))
    assert unused_lines(result) == sorted(
        f"  __snapshots__/test_orders/{name}: '99' of test_orders.py::"
        + name.removesuffix(".json").replace(".", "::")
        for name in selected
    )

    after = project.files()
    assert sorted(after) == sorted(before), "a file was removed"
    for name, text in before.items():
        if name in selected:
            assert list(project.snapshots(name)) == ["1"]
        else:
            assert after[name] == text, f"{name} changed"
