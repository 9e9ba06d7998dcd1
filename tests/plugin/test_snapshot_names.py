"""Test ids map to snapshot file names one to one, inside the snapshot folder."""

from __future__ import annotations

import json

import pytest

from .snapshot_helpers import DIST, Project

IDS = [
    "a/b",
    "a\\\\b",
    "a_b",
    "a%2Fb",
    "a:b",
    "a::b",
    "a.b",
    "..",
    "../../escaped",
    "/absolute",
    "a b",
    "tab\\there",
    "tab\there",
    "line\nbreak",
    "line\r\nbreak",
    "\u00e9",
    "e\u0301",
    "\u2028",
    "CON",
    "x" * 400,
    "x" * 399 + "y",
    '*?<>|"',
]

MODULE = f"""
import pytest

IDS = {IDS!r}

@pytest.mark.parametrize("case", IDS, ids=IDS)
def test_case(journal, journal_snapshot, case):
    journal.append({{"case": case}})
    assert journal == journal_snapshot
"""


@pytest.mark.parametrize("dist", DIST)
def test_ids_differing_in_special_characters_never_share_or_escape(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    pytester.makeini(
        """
        [pytest]
        filterwarnings = error
        disable_test_id_escaping_and_forfeit_all_rights_to_community_support = true
        """
    )
    project.module("test_orders", MODULE)

    written = project.run()
    again = project.run()

    written.assert_outcomes(passed=len(IDS))
    files = project.files()
    assert len(files) == len(IDS)
    assert all(len(name.encode()) <= 160 for name in files)
    every_file = sorted(p for p in project.root.rglob("*") if p.is_file())
    assert [p for p in every_file if p.suffix == ".json"] == sorted(
        project.folder() / name for name in files
    )
    tests = {json.loads(text)["test"]: text for text in files.values()}
    assert sorted(tests) == sorted(f"test_case[{case}]" for case in IDS)
    for case in IDS:
        stored = json.loads(tests[f"test_case[{case}]"])
        assert stored["snapshots"]["1"]["entries"][0]["data"] == {"case": case}
    again.assert_outcomes(passed=len(IDS))


@pytest.mark.parametrize("dist", DIST)
def test_ids_differing_only_in_letter_case_are_a_name_clash(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module(
        "test_orders",
        """
        import pytest

        @pytest.mark.parametrize("kind", ["Card", "card"])
        def test_pay(journal, journal_snapshot, kind):
            assert journal == journal_snapshot

        @pytest.mark.parametrize("kind", ["Cash", "cash"])
        def test_without_snapshots(kind):
            pass
        """,
    )

    result = project.run()

    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "E   pytest_phyxius._snapshot_errors.SnapshotNameError: test "
            "test_orders.py::test_pay?Card? would share the snapshot file "
            "'test_pay?Card?.json' in */__snapshots__/test_orders with "
            "test_orders.py::test_pay?card? (file names that differ only in letter "
            "case are the same file on macOS and Windows); give the tests ids that "
            "differ in more than that, or fix the "
            "pytest_phyxius_snapshot_dir/filename hooks",
        ]
    )
    assert project.files() == {}
