"""The ``journal_snapshot`` fixture: write, compare, name, diff, volatile values.

These scenarios are about one test's comparisons, which do not depend on how
tests are distributed, so they run in one process; the options and every
deselection case run both without pytest-xdist and with ``-n 2`` in their
own files.
"""

from __future__ import annotations

import json

import pytest

from .snapshot_helpers import Project


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch, ())


def test_the_first_run_writes_and_later_runs_compare(project: Project) -> None:
    source = """
        def test_orders(journal, journal_snapshot):
            journal.append({"type": "order.placed", "total": TOTAL})
            assert journal == journal_snapshot
    """
    project.module("test_orders", "TOTAL = 10\n" + _dedent(source))

    first = project.run()
    written = project.files()
    second = project.run()

    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(
        [
            "journal snapshots: 1 written",
            "Written:",
            "  __snapshots__/test_orders/test_orders.json: 1",
        ]
    )
    assert list(written) == ["test_orders.json"]
    assert project.snapshots("test_orders.json")["1"]["entries"][0]["data"] == {
        "total": 10,
        "type": "order.placed",
    }
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["journal snapshots: 1 passed"])
    assert project.files() == written

    project.module("test_orders", "TOTAL = 12\n" + _dedent(source))
    third = project.run()

    third.assert_outcomes(failed=1)
    third.stdout.fnmatch_lines(
        [
            "E   *assert journal differs from snapshot '1' in "
            "__snapshots__/test_orders/test_orders.json",
            "E     entries: 1 changed (snapshot 1, journal 1)",
            "E     entry sequence 0 differs from the snapshot's entry sequence 0:",
            "E         data.total: 10 in the snapshot, 12 now",
            "E     Run pytest --phyxius-update to accept the journal as the snapshot.",
            "journal snapshots: 1 failed",
        ]
    )
    assert project.files() == written


def test_a_test_takes_several_snapshots_numbered_and_named(project: Project) -> None:
    project.module(
        "test_orders",
        """
        def test_orders(journal, journal_snapshot):
            journal.append({"step": 1})
            assert journal == journal_snapshot
            journal_snapshot.assert_match(journal, name="after-placing")
            journal.append({"step": 2})
            assert journal == journal_snapshot
            assert journal == journal_snapshot(name="after paying")
        """,
    )

    project.run().assert_outcomes(passed=1)
    snapshots = project.snapshots("test_orders.json")

    assert list(snapshots) == ["1", "2", "after paying", "after-placing"]
    assert [len(snapshots[key]["entries"]) for key in snapshots] == [1, 2, 2, 1]
    project.run().stdout.fnmatch_lines(["journal snapshots: 4 passed"])


def test_parametrized_tests_and_test_classes_get_a_file_each(project: Project) -> None:
    project.module(
        "test_orders",
        """
        import pytest

        @pytest.mark.parametrize("kind", ["card", "cash"])
        def test_pay(journal, journal_snapshot, kind):
            journal.append({"paid": kind})
            assert journal == journal_snapshot

        class TestCart:
            def test_add(self, journal, journal_snapshot):
                journal.append({"added": 1})
                assert journal == journal_snapshot

            class TestNested:
                @pytest.mark.parametrize("n", [1, 2])
                def test_remove(self, journal, journal_snapshot, n):
                    journal.append({"removed": n})
                    assert journal == journal_snapshot
        """,
    )

    project.run().assert_outcomes(passed=5)

    assert sorted(project.files()) == [
        "TestCart.TestNested.test_remove[1].json",
        "TestCart.TestNested.test_remove[2].json",
        "TestCart.test_add.json",
        "test_pay[card].json",
        "test_pay[cash].json",
    ]
    stored = json.loads(project.files()["TestCart.TestNested.test_remove[2].json"])
    assert stored["test"] == "TestCart::TestNested::test_remove[2]"
    assert stored["snapshots"]["1"]["entries"][0]["data"] == {"removed": 2}
    project.run().assert_outcomes(passed=5)


VOLATILE = """
from phyxius.journal import create_journal

def test_orders(journal_snapshot):
    # The system clock and random ids: both change on every run.
    journal = create_journal()
    first = journal.append({"type": "order.placed"})
    journal.append({"type": "order.paid", "order": first.id})
    journal.append({"type": "order.shipped", "order": REFERENCE})
    assert journal == journal_snapshot(replace=["id", "data.order"], exclude=["at"])
"""


def test_volatile_values_are_replaced_and_identity_is_still_checked(
    project: Project,
) -> None:
    project.module("test_orders", VOLATILE.replace("REFERENCE", "first.id"))

    project.run().assert_outcomes(passed=1)
    project.run().assert_outcomes(passed=1)

    entries = project.snapshots("test_orders.json")["1"]["entries"]
    assert [entry["id"] for entry in entries] == ["<id:1>", "<id:2>", "<id:3>"]
    assert [entry["data"].get("order") for entry in entries] == [
        None,
        "<id:1>",
        "<id:1>",
    ]
    assert all("at" not in entry for entry in entries)

    # Shipping refers to the payment now, not the order: another identity.
    project.module("test_orders", VOLATILE.replace("REFERENCE", "journal.get(1).id"))
    result = project.run()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ['E         data.order: "<id:1>" in the snapshot, "<id:2>" now']
    )


def test_the_diff_names_changed_added_and_missing_entries(project: Project) -> None:
    source = """
        def test_orders(journal, journal_snapshot):
            for step in STEPS:
                journal.append(step)
            assert journal == journal_snapshot
    """
    before = '[{"a": 1}, {"b": 2}, {"c": 3}, {"d": 4}]'
    after = '[{"a": 1}, {"new": 0}, {"b": 2}, {"c": 30}]'
    project.module("test_orders", f"STEPS = {before}\n" + _dedent(source))
    project.run().assert_outcomes(passed=1)
    project.module("test_orders", f"STEPS = {after}\n" + _dedent(source))

    result = project.run("-vv")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E     entries: 1 changed, 1 moved, 1 added, 1 missing "
            "(snapshot 4, journal 4)",
            'E     entry sequence 1 was added (not in the snapshot): {"id": *, '
            '"data": {"new": 0}}',
            "E     entry sequence 2 moved from sequence 1 (id changed with it)",
            "E     entry sequence 3 differs from the snapshot's entry sequence 2:",
            "E         sequence: 2 in the snapshot, 3 now",
            "E         id: * in the snapshot, * now",
            "E         data.c: 3 in the snapshot, 30 now",
            'E     entry sequence 3 is missing (in the snapshot only): {"id": *, '
            '"data": {"d": 4}}',
        ]
    )


def test_assert_match_explains_without_assertion_rewriting(project: Project) -> None:
    project.module(
        "test_orders",
        """
        import os

        def test_orders(journal, journal_snapshot):
            journal.append({"n": int(os.environ.get("N", "1"))})
            journal_snapshot.assert_match(journal, name="state")
        """,
    )
    project.run().assert_outcomes(passed=1)
    project.monkeypatch.setenv("N", "2")

    result = project.run("--assert=plain")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   AssertionError: journal differs from snapshot 'state' in "
            "__snapshots__/test_orders/test_orders.json",
            "E   entries: 1 changed (snapshot 1, journal 1)",
            "E       data.n: 1 in the snapshot, 2 now",
        ]
    )


def test_journal_snapshots_and_lists_of_entries_compare_too(project: Project) -> None:
    project.module(
        "test_orders",
        """
        def test_orders(journal, journal_snapshot):
            for n in range(4):
                journal.append({"n": n})
            assert journal.snapshot() == journal_snapshot
            assert journal.read(2) == journal_snapshot(name="tail")
            assert list(journal) == journal_snapshot(name="all")
        """,
    )

    project.run().assert_outcomes(passed=1)

    snapshots = project.snapshots("test_orders.json")
    assert snapshots["1"]["journal"] == "default"
    assert "journal" not in snapshots["tail"]
    assert [e["sequence"] for e in snapshots["tail"]["entries"]] == [2, 3]
    assert snapshots["all"]["entries"] == snapshots["1"]["entries"]
    project.run().assert_outcomes(passed=1)


def test_a_name_used_twice_in_one_test_is_an_error(project: Project) -> None:
    project.module(
        "test_orders",
        """
        def test_orders(journal, journal_snapshot):
            journal_snapshot.assert_match(journal, name="state")
            journal_snapshot.assert_match(journal, name="state")
        """,
    )

    result = project.run()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   pytest_phyxius._snapshot_errors.SnapshotNameError: test "
            "test_orders.py::test_orders compares with snapshot 'state' twice; give "
            "each comparison its own name="
        ]
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            'journal_snapshot.assert_match(journal, exclude="data..x")',
            "E   phyxius._errors.InvalidArgumentError: exclude='data..x' (type=str) "
            "holds the path 'data..x', which has an empty segment; *",
            id="empty-segment",
        ),
        pytest.param(
            'journal_snapshot.assert_match(journal, replace=["data.nope"])',
            "E   phyxius._errors.InvalidArgumentError: exclude/replace path "
            "'data.nope' matched no value in any of the 1 entries; *",
            id="unmatched-path",
        ),
        pytest.param(
            'journal_snapshot.assert_match(journal, name="7")',
            "E   phyxius._errors.InvalidArgumentError: name='7' (type=str) is not a "
            "snapshot name; *",
            id="digit-name",
        ),
        pytest.param(
            "journal_snapshot.assert_match([1, 2])",
            "E   phyxius._errors.InvalidArgumentError: journal=[1, 2] (type=list): "
            "journal_snapshot compares with a Journal, a JournalSnapshot or a list "
            "of Entry, not list",
            id="not-a-journal",
        ),
    ],
)
def test_bad_arguments_fail_clearly_and_write_nothing(
    project: Project, call: str, message: str
) -> None:
    project.module(
        "test_orders",
        f"""
        def test_orders(journal, journal_snapshot):
            journal.append({{"x": 1}})
            {call}
        """,
    )

    result = project.run()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert project.files() == {}


def test_a_comparison_with_something_else_explains_what_it_takes(
    project: Project,
) -> None:
    project.module(
        "test_orders",
        """
        def test_orders(journal_snapshot):
            assert {"n": 1} == journal_snapshot
        """,
    )

    result = project.run()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   assert journal_snapshot compares with a Journal, a "
            "JournalSnapshot or a list of Entry, not dict"
        ]
    )
    assert project.files() == {}


def test_a_value_without_a_stable_form_is_an_error(project: Project) -> None:
    project.module(
        "test_orders",
        """
        class Opaque:
            pass

        def test_orders(journal_factory, journal_snapshot):
            journal = journal_factory(codec="pickle")
            journal.append({"thing": Opaque()})
            assert journal == journal_snapshot
        """,
    )

    result = project.run()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   pytest_phyxius._snapshot_errors.SnapshotValueError: entry 0 "
            "data?'thing'?=<test_orders.Opaque object at 0x*> (type=Opaque) has no "
            "stable form: its repr shows a memory address, *"
        ]
    )
    assert project.files() == {}


def test_values_json_cannot_hold_are_tagged_and_compare(project: Project) -> None:
    project.module(
        "test_orders",
        """
        from datetime import date
        from decimal import Decimal

        def test_orders(journal_factory, journal_snapshot):
            journal = journal_factory(codec="pickle")
            journal.append(
                {"tags": {"b", "a", "c"}, "pair": (1, 2), "codes": {1: "one"},
                 "day": date(2024, 5, 1), "price": Decimal("1.10"),
                 "ratio": float("nan")}
            )
            assert journal == journal_snapshot
        """,
    )

    project.run().assert_outcomes(passed=1)

    data = project.snapshots("test_orders.json")["1"]["entries"][0]["data"]
    assert data == {
        "codes": {"__phyxius__": "dict", "items": [[1, "one"]]},
        "day": {"__phyxius__": "date", "value": "2024-05-01"},
        "pair": {"__phyxius__": "tuple", "items": [1, 2]},
        "price": {"__phyxius__": "decimal", "value": "1.10"},
        "ratio": {"__phyxius__": "float", "value": "nan"},
        "tags": {"__phyxius__": "set", "items": ["a", "b", "c"]},
    }
    project.run().assert_outcomes(passed=1)


def test_a_damaged_file_is_an_error_naming_it_and_update_rewrites_it(
    project: Project,
) -> None:
    project.module(
        "test_orders",
        """
        def test_orders(journal, journal_snapshot):
            journal.append({"n": 1})
            assert journal == journal_snapshot
        """,
    )
    project.run().assert_outcomes(passed=1)
    path = project.folder() / "test_orders.json"
    good = path.read_text(encoding="utf-8")
    path.write_text("<<<<<<< HEAD\n" + good, encoding="utf-8")

    damaged = project.run()
    rewritten = project.run("--phyxius-update")

    damaged.assert_outcomes(failed=1)
    damaged.stdout.fnmatch_lines(
        [
            "E   pytest_phyxius._snapshot_errors.SnapshotFileError: snapshot file "
            f"{path} is damaged: it is not JSON (*); repair it from version "
            "control, delete it, or rewrite it with pytest --phyxius-update"
        ]
    )
    rewritten.assert_outcomes(passed=1)
    assert path.read_text(encoding="utf-8") == good


def _dedent(source: str) -> str:
    import textwrap

    return textwrap.dedent(source)
