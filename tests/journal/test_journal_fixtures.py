"""The journal and journal_factory fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phyxius import ControlledClock, InvalidArgumentError
from phyxius.journal import Journal, MemoryStore, SqliteStore
from pytest_phyxius import JournalFactory


def test_the_journal_fixture_is_in_memory_on_the_controlled_clock(
    journal: Journal, controlled_clock: ControlledClock
) -> None:
    controlled_clock.advance(2)

    entry = journal.append("x")

    assert isinstance(journal.store, MemoryStore)
    assert journal.clock is controlled_clock
    assert entry.at == controlled_clock.now()


def test_the_factory_makes_named_journals_in_one_memory_store(
    journal_factory: JournalFactory,
) -> None:
    orders = journal_factory("orders")
    again = journal_factory("orders")
    audit = journal_factory("audit")

    orders.append("placed")
    again.append("paid")

    assert [entry.data for entry in orders] == ["placed", "paid"]
    assert len(audit) == 0
    assert orders.store is audit.store is journal_factory.memory_store
    assert journal_factory.journals == [orders, again, audit]


def test_the_factory_makes_sqlite_journals_in_tmp_path(
    journal_factory: JournalFactory, tmp_path: Path
) -> None:
    orders = journal_factory("orders", store="sqlite")
    audit = journal_factory("audit", store="sqlite")

    orders.append("placed")
    audit.append("logged")

    assert isinstance(orders.store, SqliteStore)
    assert orders.store is audit.store
    assert journal_factory.sqlite_path == tmp_path / "journals.sqlite3"
    assert orders.store.journals() == ["audit", "orders"]


def test_the_factory_passes_journal_options(journal_factory: JournalFactory) -> None:
    journal = journal_factory("capped", max_entries=1, overflow="drop_oldest")

    journal.extend(["a", "b"])

    assert [entry.data for entry in journal] == ["b"]


def test_handles_made_twice_do_not_collide_on_ids(
    journal_factory: JournalFactory,
) -> None:
    first = journal_factory("orders")
    second = journal_factory("orders")

    first.append("a")
    second.append("b")

    assert len({entry.id for entry in first}) == 2


def test_the_factory_refuses_an_unknown_store(journal_factory: JournalFactory) -> None:
    with pytest.raises(pytest.UsageError, match=r"^journal_factory\(store='disk'\)"):
        journal_factory(store="disk")  # type: ignore[arg-type]


def test_the_factory_refuses_a_name_utf8_cannot_encode_with_the_journals_own_error(
    journal_factory: JournalFactory,
) -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^name='\\ud800' contains the lone surrogate '\\ud800', which UTF-8 "
        r"cannot encode; pass a name without it$",
    ):
        journal_factory("\ud800")

    assert journal_factory.journals == []


def test_the_factory_closes_what_it_opened(tmp_path: Path) -> None:
    factory = JournalFactory(ControlledClock(), 1, tmp_path)
    journal = factory("x", store="sqlite")
    store = journal.store

    factory.close()

    assert journal.closed
    assert store.closed


# The project's own settings: no cache, and no other async plugin.
QUIET = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:looptime_plugin")

IDS_TEST = """
import json, os

def test_ids(journal, journal_factory, controlled_clock):
    journal.append("a")
    controlled_clock.advance(1)
    journal.extend(["b", "c"])
    other = journal_factory("other", store="sqlite")
    other.append("d")
    ids = [e.id for e in journal] + [e.id for e in other]
    with open(os.environ["IDS_OUT"], "a") as out:
        out.write(json.dumps(ids) + "\\n")
"""


def run_ids(pytester: pytest.Pytester, out: Path, *args: str) -> list[list[str]]:
    pytester.makepyfile(test_seeded_journal_ids=IDS_TEST)
    run = pytester.runpytest_subprocess if args else pytester.runpytest
    result = run(*QUIET, *args)
    result.assert_outcomes(passed=1)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_ids_and_times_are_the_same_on_every_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = pytester.path / "ids.jsonl"
    monkeypatch.setenv("IDS_OUT", str(out))

    run_ids(pytester, out)
    runs = run_ids(pytester, out)

    assert len(runs) == 2
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 4


@pytest.mark.slow
def test_ids_do_not_depend_on_the_xdist_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = pytester.path / "ids.jsonl"
    monkeypatch.setenv("IDS_OUT", str(out))

    run_ids(pytester, out)
    runs = run_ids(pytester, out, "-n", "2")

    assert runs[0] == runs[1]


def test_the_marker_seed_changes_the_ids(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = pytester.path / "ids.jsonl"
    monkeypatch.setenv("IDS_OUT", str(out))
    pytester.makepyfile(
        test_seeded="""
import json, os, pytest

@pytest.mark.phyxius(seed=1)
def test_one(journal):
    journal.append("a")
    with open(os.environ["IDS_OUT"], "a") as out:
        out.write(json.dumps(journal.first().id) + "\\n")

@pytest.mark.phyxius(seed=2)
def test_two(journal):
    journal.append("a")
    with open(os.environ["IDS_OUT"], "a") as out:
        out.write(json.dumps(journal.first().id) + "\\n")
"""
    )

    pytester.runpytest(*QUIET).assert_outcomes(passed=2)

    first, second = out.read_text().splitlines()
    assert first != second
    assert first[:11] == second[:11]  # the same millisecond, other random bits
