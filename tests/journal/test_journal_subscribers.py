"""Subscribers: after commit, in sequence order, once each, errors isolated."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable

import pytest

from phyxius import InvalidArgumentError
from phyxius.journal import (
    ConcurrencyError,
    Entry,
    Journal,
    MemoryStore,
    create_journal,
)
from pytest_phyxius._callback_errors import CallbackErrors

MakeJournal = Callable[..., Journal]


def test_a_subscriber_sees_each_entry_after_its_commit(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    seen: list[tuple[int, int]] = []
    journal.subscribe(lambda entry: seen.append((entry.sequence, len(journal))))

    journal.append("a")
    journal.extend(["b", "c"])

    # Each call comes after the commit: the entry is already in the journal.
    assert seen == [(0, 1), (1, 3), (2, 3)]


def test_subscribers_are_called_in_registration_order(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    calls: list[str] = []
    journal.subscribe(lambda entry: calls.append("first"))
    journal.subscribe(lambda entry: calls.append("second"))

    journal.append("x")

    assert calls == ["first", "second"]


def test_a_failed_append_reaches_no_subscriber(make_journal: MakeJournal) -> None:
    journal = make_journal()
    seen: list[Entry] = []
    journal.subscribe(seen.append)
    journal.append("a")

    with pytest.raises(ConcurrencyError):
        journal.append("b", expected_sequence=0)
    journal.append("c", id="same")
    journal.append("c", id="same")

    assert [entry.data for entry in seen] == ["a", "c"]


def test_a_subscriber_that_raises_stops_neither_the_append_nor_the_others(
    make_journal: MakeJournal, callback_errors: CallbackErrors
) -> None:
    journal = make_journal()
    seen: list[int] = []

    def broken(entry: Entry) -> None:
        raise RuntimeError(f"cannot handle {entry.sequence}")

    journal.subscribe(broken)
    journal.subscribe(lambda entry: seen.append(entry.sequence))

    entry = journal.append("x")

    assert entry.sequence == 0
    assert seen == [0]
    (event,) = callback_errors.take()
    assert event.type == "journal.error"
    assert event.data["journal"] == "default"
    assert event.data["sequence"] == 0
    assert event.data["error"] == "cannot handle 0"
    assert event.data["callback"].endswith("broken")


def test_a_subscriber_error_is_emitted_to_the_journal_emit(
    make_journal: MakeJournal, callback_errors: CallbackErrors
) -> None:
    events = []
    journal = make_journal(emit=events.append)
    journal.subscribe(lambda entry: 1 / 0)

    journal.append("x")

    assert [event.type for event in events] == ["journal.error"]
    assert events[0].data["error_type"] == "ZeroDivisionError"
    callback_errors.take()


def test_an_async_subscriber_is_reported_rather_than_never_awaited(
    make_journal: MakeJournal, callback_errors: CallbackErrors
) -> None:
    journal = make_journal()

    async def handler(entry: Entry) -> None:
        raise AssertionError("never runs")

    journal.subscribe(handler)
    journal.append("x")

    (event,) = callback_errors.take()
    assert "returned a coroutine" in event.data["error"]


def test_unsubscribe_stops_the_calls(make_journal: MakeJournal) -> None:
    journal = make_journal()
    seen: list[Entry] = []
    unsubscribe = journal.subscribe(seen.append)
    journal.append("a")

    assert unsubscribe() is True
    assert unsubscribe() is False
    journal.append("b")

    assert [entry.data for entry in seen] == ["a"]


def test_a_subscriber_needs_a_callable(make_journal: MakeJournal) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^callback=1 \(type=int\) is not"):
        make_journal().subscribe(1)  # type: ignore[arg-type]


def test_an_append_from_a_subscriber_is_delivered_after_the_current_entry(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    first_seen: list[int] = []
    second_seen: list[int] = []

    def react(entry: Entry) -> None:
        first_seen.append(entry.sequence)
        if entry.data == "order placed":
            journal.append("invoice sent")

    journal.subscribe(react)
    journal.subscribe(lambda entry: second_seen.append(entry.sequence))

    journal.append("order placed")

    # The second subscriber sees entry 0 before entry 1, although entry 1 was
    # appended while entry 0 was being delivered.
    assert first_seen == [0, 1]
    assert second_seen == [0, 1]
    assert [entry.data for entry in journal] == ["order placed", "invoice sent"]


def test_subscribers_see_every_handle_on_the_journal(make_journal: MakeJournal) -> None:
    listening = make_journal("orders")
    writing = make_journal("orders")
    seen: list[str] = []
    listening.subscribe(lambda entry: seen.append(entry.data))

    writing.append("from another handle")

    assert seen == ["from another handle"]


def test_closing_a_handle_unsubscribes_its_subscribers(
    make_journal: MakeJournal,
) -> None:
    listening = make_journal("orders")
    writing = make_journal("orders")
    seen: list[Entry] = []
    listening.subscribe(seen.append)

    listening.close()
    writing.append("x")

    assert seen == []


def test_threads_appending_deliver_in_sequence_order_exactly_once(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    seen: list[int] = []
    journal.subscribe(lambda entry: seen.append(entry.sequence))
    start = threading.Barrier(4)

    def writer() -> None:
        start.wait()
        for n in range(100):
            journal.append(n)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert seen == list(range(400))


def test_a_forgotten_journal_with_subscribers_does_not_keep_its_store_alive() -> None:
    store = MemoryStore()
    journal = create_journal(store)
    journal.subscribe(lambda entry: None)
    journal.append("x")
    alive = weakref.ref(store)

    del journal, store
    gc.collect()

    assert alive() is None
