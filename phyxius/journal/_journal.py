"""`Journal`: an append-only log of entries with gapless sequences.

A journal is a handle on one named journal in a `Store`. It checks and
prepares every value through its codec before anything is written, stamps the
entry with its clock and id generator, and lets the store assign the sequence
atomically. After the commit it gives the new entries to its subscribers and
wakes its followers.

Thread-safe. Calls are synchronous: on a `SqliteStore` a durable append waits
for one fsync, which an asyncio program may want to move off the event loop
with ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import Emit, describe_callable, emit_event
from phyxius.clock import Clock, default_clock
from phyxius.journal._arguments import (
    check_handle_arguments,
    check_id,
    check_items,
    check_sequence,
    resolve_retention,
    resolve_store,
    short,
)
from phyxius.journal._codec import Codec, preparer_for, resolve_codec
from phyxius.journal._entry import EMPTY_METADATA, Draft, Entry, Overflow, Retention
from phyxius.journal._errors import EncodeError, JournalClosedError
from phyxius.journal._hub import Subscription, hub_for
from phyxius.journal._ids import IdGenerator, SortableIds
from phyxius.journal._memory import MemoryStore
from phyxius.journal._reading import JournalReader
from phyxius.journal._snapshot import JournalSnapshot
from phyxius.journal._store import Store

__all__ = ["Journal", "create_journal"]

_new_draft = tuple.__new__


@final
class Journal(JournalReader):
    """An append-only log: gapless sequences, subscribers, followers.

    Build one with `create_journal`; the arguments are described there.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_closed",
        "_codec",
        "_codec_name",
        "_emit",
        "_fast_append",
        "_hub",
        "_ids",
        "_name",
        "_owns_store",
        "_prepare",
        "_retention",
        "_store",
        "_subscriptions",
    )

    def __init__(
        self,
        store: Store | str | os.PathLike[str] | None = None,
        *,
        name: str = "default",
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        codec: Codec | str | None = None,
        max_entries: int | None = None,
        overflow: Overflow = "none",
        emit: Emit | None = None,
    ) -> None:
        check_handle_arguments(name, clock, ids, emit)
        retention = resolve_retention(max_entries, overflow)
        chosen_codec = resolve_codec(codec)
        chosen_store, owns = resolve_store(store)

        self._store = chosen_store
        self._owns_store = owns
        self._name = name
        self._clock: Clock = default_clock() if clock is None else clock
        # A default generator belongs to this handle alone and is only called
        # under the write lock, so it can skip its own lock.
        self._ids: IdGenerator = SortableIds()._next if ids is None else ids
        self._codec = chosen_codec
        self._codec_name = chosen_codec.name
        self._prepare = preparer_for(chosen_codec)
        self._retention = retention
        self._emit = emit
        self._hub = hub_for(chosen_store, name)
        # The in-memory store's single-entry path skips building a draft and
        # a result: an in-memory append costs about half as much with it.
        self._fast_append = (
            chosen_store._append_held if type(chosen_store) is MemoryStore else None
        )
        self._subscriptions: list[Subscription] = []
        self._closed = False

    # -- properties -------------------------------------------------------------

    @property
    def name(self) -> str:
        """The journal's name within its store."""
        return self._name

    @property
    def store(self) -> Store:
        """The store holding the entries."""
        return self._store

    @property
    def clock(self) -> Clock:
        """The clock that stamps entries."""
        return self._clock

    @property
    def codec(self) -> Codec:
        """The codec that checks and stores entry data."""
        return self._codec

    @property
    def retention(self) -> Retention | None:
        """The ``max_entries`` cap and its overflow policy, or None."""
        return self._retention

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    # -- writing ------------------------------------------------------------------

    def append(
        self,
        data: Any,
        *,
        expected_sequence: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        id: str | None = None,
    ) -> Entry:
        """Append one entry and return it, committed.

        ``data`` is any value the codec supports (see `JsonCodec`), including
        an `Event`, so ``emit=journal.append`` journals a primitive's events.
        ``expected_sequence`` makes the append conditional: it succeeds only if
        the new entry gets exactly that sequence (`next_sequence` as the caller
        last saw it), and raises `ConcurrencyError` otherwise. ``metadata`` is
        an optional mapping kept beside the data. ``id`` replaces the generated
        id; appending again with the id of a stored entry and the same content
        returns that entry and writes nothing, which makes retries safe.

        Raises:
            EncodeError: ``data`` or ``metadata`` cannot be encoded; nothing
                was written.
            ConcurrencyError: ``expected_sequence`` did not hold.
            JournalOverflowError: ``overflow="error"`` and the journal is full.
            DuplicateIdError: ``id`` is stored with other content.
        """
        prepared = self._prepare(data, "data")
        meta = EMPTY_METADATA if metadata is None else self._metadata(metadata)
        if expected_sequence is not None:
            check_sequence(expected_sequence, "expected_sequence")
        if id is not None:
            check_id(id)

        hub = self._hub
        with hub.lock:
            if self._closed:
                raise self._closed_error()
            at = self._clock.now()
            entry_id = self._ids(at) if id is None else id
            if type(entry_id) is not str:
                raise self._bad_id(entry_id)
            fast = self._fast_append
            done = None
            if fast is not None:
                done = fast(
                    self._name,
                    entry_id,
                    at,
                    prepared,
                    meta,
                    self._codec,
                    self._codec_name,
                    expected_sequence,
                    self._retention,
                )
            if done is not None:
                entry, dropped = done
                if hub.subscribers:
                    hub.outbox.append(entry)
            else:
                appended = self._store.append(
                    self._name,
                    (_new_draft(Draft, (entry_id, at, prepared, meta)),),
                    codec=self._codec,
                    expected_sequence=expected_sequence,
                    retention=self._retention,
                )
                entry, dropped = appended.entries[0], appended.dropped
                if not appended.created:
                    return entry
                if hub.subscribers:
                    hub.outbox.append(entry)

        if dropped or hub.waiters or hub.outbox:
            self._after_commit(entry, dropped)
        return entry

    def extend(
        self,
        items: Iterable[Any],
        *,
        expected_sequence: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[Entry]:
        """Append every item of ``items`` in one atomic step: all or nothing.

        The entries get consecutive sequences, one timestamp and their own
        ids. ``expected_sequence`` is checked for the first of them;
        ``metadata`` is given to each. An empty ``items`` writes nothing.

        Raises:
            EncodeError: an item cannot be encoded (the message names it as
                ``items[3]...``); nothing was written.
            ConcurrencyError, JournalOverflowError: as for `append`.
        """
        check_items(items)
        prepare = self._prepare
        prepared = []
        for index, item in enumerate(items):
            try:
                prepared.append(prepare(item, "items"))
            except EncodeError:
                # Prepare again to name the item in the message; the common
                # path does not build a string per item.
                prepare(item, f"items[{index}]")
                raise
        meta = EMPTY_METADATA if metadata is None else self._metadata(metadata)
        if expected_sequence is not None:
            check_sequence(expected_sequence, "expected_sequence")
        if not prepared:
            return []

        hub = self._hub
        with hub.lock:
            if self._closed:
                raise self._closed_error()
            at = self._clock.now()
            ids = self._ids
            drafts = []
            for value in prepared:
                entry_id = ids(at)
                if type(entry_id) is not str:
                    raise self._bad_id(entry_id)
                drafts.append(_new_draft(Draft, (entry_id, at, value, meta)))
            appended = self._store.append(
                self._name,
                drafts,
                codec=self._codec,
                expected_sequence=expected_sequence,
                retention=self._retention,
            )
            if appended.created and hub.subscribers:
                hub.outbox.extend(appended.entries)

        if appended.created:
            self._after_commit(appended.entries[-1], appended.dropped)
        return list(appended.entries)

    def load(self, entries: Iterable[Entry]) -> None:
        """Put existing entries (a snapshot's) into this new, never-written journal.

        Ids, sequences, times, data and metadata are kept exactly; the data go
        through the codec's checks as on append. Subscribers and followers see
        the loaded entries like appended ones. This is how `from_json` and
        journal snapshots seed a journal with a known history.

        Raises:
            InvalidArgumentError: the journal was written already, or the
                entries are not consecutive or share an id.
            EncodeError: an entry's data cannot be encoded.
        """
        checked = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, Entry):
                raise InvalidArgumentError(
                    f"entries[{index}]={short(entry)} (type={type(entry).__name__}) "
                    "is not an Entry; load takes entries from a journal or snapshot"
                )
            data = self._prepare(entry.data, f"entries[{index}].data")
            meta = (
                self._metadata(entry.metadata, f"entries[{index}].metadata")
                if entry.metadata
                else EMPTY_METADATA
            )
            checked.append(Entry(entry.id, entry.sequence, entry.at, data, meta))

        hub = self._hub
        with hub.lock:
            if self._closed:
                raise self._closed_error()
            self._store.load(self._name, checked, codec=self._codec)
            if hub.subscribers:
                hub.outbox.extend(checked)
        if checked:
            self._after_commit(checked[-1], 0)

    def _after_commit(self, last: Entry, dropped: int) -> None:
        hub = self._hub
        if dropped and self._emit is not None and self._retention is not None:
            emit_event(
                self._emit,
                "journal.dropped",
                self._clock,
                {
                    "journal": self._name,
                    "dropped": dropped,
                    "first_sequence": last.sequence + 1 - self._retention.max_entries,
                },
            )
        if hub.waiters:
            hub.wake()
        if hub.outbox:
            hub.deliver()

    def _metadata(self, metadata: object, where: str = "metadata") -> Mapping[str, Any]:
        if not isinstance(metadata, Mapping):
            raise InvalidArgumentError(
                f"{where}={short(metadata)} (type={type(metadata).__name__}) is "
                "not a mapping; pass a dict with str keys, or None"
            )
        if not metadata:
            return EMPTY_METADATA
        prepared: Mapping[str, Any] = self._prepare(metadata, where)
        return prepared

    @classmethod
    def from_json(
        cls,
        text: str | bytes,
        store: Store | str | os.PathLike[str] | None = None,
        *,
        name: str | None = None,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        codec: Codec | str | None = None,
        max_entries: int | None = None,
        overflow: Overflow = "none",
        emit: Emit | None = None,
    ) -> Journal:
        """A new journal holding the entries of a `to_json` document.

        The journal is named as in the document unless ``name`` is given, and
        lives in ``store`` (a new `MemoryStore` by default), where it must not
        exist yet. The other arguments are those of `create_journal`. A
        document written with a codec other than JSON is read only with that
        codec passed by name.
        """
        snapshot = JournalSnapshot.from_json(text, codec=codec)
        journal = cls(
            store,
            name=snapshot.name if name is None else name,
            clock=clock,
            ids=ids,
            codec=snapshot.codec,
            max_entries=max_entries,
            overflow=overflow,
            emit=emit,
        )
        try:
            journal.load(snapshot.entries)
        except BaseException:
            journal.close()
            raise
        return journal

    # -- subscribers and followers ------------------------------------------------

    def subscribe(self, callback: Callable[[Entry], object]) -> Callable[[], bool]:
        """Call ``callback(entry)`` for every entry committed from now on.

        Calls come after the commit, in sequence order, once per entry, for
        appends made in this process through any handle on this journal.
        A callback that raises does not undo the append and does not stop the
        other subscribers: its error is emitted as a ``journal.error`` event
        and logged to ``phyxius.journal``. Returns a function that
        unsubscribes (it returns True the first time).
        """
        if not callable(callback):
            raise InvalidArgumentError(
                f"callback={callback!r} (type={type(callback).__name__}) is not "
                "callable; pass a function taking one Entry"
            )
        if self._closed:
            raise self._closed_error()
        subscription = Subscription(callback, self._emit, self._clock, self._name)
        self._hub.subscribe(subscription)
        self._subscriptions.append(subscription)

        def unsubscribe() -> bool:
            return self._hub.unsubscribe(subscription)

        unsubscribe.__qualname__ = f"unsubscribe({describe_callable(callback)})"
        return unsubscribe

    # -- closing --------------------------------------------------------------------

    def close(self) -> None:
        """Stop this handle: unsubscribe its subscribers, end its followers.

        A journal given a path (rather than a store) closes its store too.
        Closing twice does nothing.
        """
        with self._hub.lock:
            if self._closed:
                return
            self._closed = True
        for subscription in self._subscriptions:
            self._hub.unsubscribe(subscription)
        self._subscriptions.clear()
        self._hub.wake(self)
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _closed_error(self) -> JournalClosedError:
        return JournalClosedError(
            f"journal {self._name!r} was closed; open a new handle with "
            "create_journal(store, name=...) to go on"
        )

    def _bad_id(self, entry_id: object) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"ids={describe_callable(self._ids)} returned {short(entry_id)} "
            f"(type={type(entry_id).__name__}); an id generator must return a str"
        )

    def __repr__(self) -> str:
        if self._closed:
            state = "closed"
        else:
            try:
                state = f"next_sequence={self.next_sequence}"
            except Exception:  # a repr must not fail, even on a broken store
                state = "unreadable"
        return (
            f"<Journal {self._name!r} {state} store={type(self._store).__name__} "
            f"codec={self._codec.name!r}>"
        )


def create_journal(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    name: str = "default",
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    codec: Codec | str | None = None,
    max_entries: int | None = None,
    overflow: Overflow = "none",
    emit: Emit | None = None,
) -> Journal:
    """Open the journal ``name`` in ``store``.

    Args:
        store: where entries live: a `MemoryStore` (the default: a new one), a
            `SqliteStore`, any other `Store`, or a path, which opens a
            `SqliteStore` that the journal closes with itself.
        name: the journal's name; one store holds many journals.
        clock: stamps each entry's ``at`` (default: the shared `SystemClock`).
        ids: makes each entry's id from its instant (default: `SortableIds`
            with system entropy; ``SortableIds(seed=...)`` for reproducible
            ids under a `ControlledClock`).
        codec: ``"json"`` (default), ``"pickle"`` (trusted data only) or a
            `Codec`.
        max_entries: keep at most this many entries; needs ``overflow``.
        overflow: ``"drop_oldest"`` drops the oldest entries past
            ``max_entries``; ``"error"`` refuses appends past it with
            `JournalOverflowError`. ``"none"`` (default): no cap.
        emit: receives the journal's events: ``journal.error`` when a
            subscriber raised and ``journal.dropped`` when retention dropped
            entries.
    """
    return Journal(
        store,
        name=name,
        clock=clock,
        ids=ids,
        codec=codec,
        max_entries=max_entries,
        overflow=overflow,
        emit=emit,
    )
