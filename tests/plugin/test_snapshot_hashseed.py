"""Sets and dicts serialise in an order that does not depend on PYTHONHASHSEED."""

from __future__ import annotations

import shutil

import pytest

from .snapshot_helpers import DIST, PLUGINS_OFF, Project

MODULE = """
def test_orders(journal_factory, journal_snapshot):
    # The pickle codec keeps sets; iterating a set of strings follows the
    # process's hash seed, and so does every dict built from one.
    words = {f"word-{n}" for n in range(40)}
    journal = journal_factory(codec="pickle")
    journal.append({
        "set": words,
        "frozen": frozenset(words),
        "built": {word: len(word) for word in words},
        "keyed": {(word, 1): word for word in words},
        "nested": [{word} for word in sorted(words)[:3]],
    })
    assert journal == journal_snapshot
"""


@pytest.mark.parametrize("dist", DIST)
def test_snapshots_are_the_same_bytes_under_any_hash_seed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", MODULE)
    monkeypatch.delenv("CI", raising=False)
    written = {}

    for seed in ("1", "2"):
        shutil.rmtree(project.root / "__snapshots__", ignore_errors=True)
        monkeypatch.setenv("PYTHONHASHSEED", seed)
        result = pytester.runpytest_subprocess(*PLUGINS_OFF, *dist)
        result.assert_outcomes(passed=1)
        written[seed] = (project.folder() / "test_orders.json").read_bytes()

    monkeypatch.setenv("PYTHONHASHSEED", "3")
    monkeypatch.setenv("CI", "true")
    compared = pytester.runpytest_subprocess(*PLUGINS_OFF, *dist)

    assert written["1"] == written["2"]
    compared.assert_outcomes(passed=1)
    compared.stdout.fnmatch_lines(["journal snapshots: 1 passed"])
