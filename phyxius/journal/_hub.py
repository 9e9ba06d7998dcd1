"""What the `Journal` handles on one store and name share inside a process.

Several `Journal` objects may be opened on the same store and name; they are
handles on one journal. They share a `Hub`: the lock that orders this
process's appends (so that within a process the order of sequences, times and
ids agree), the subscribers, and the followers waiting for new entries.

Delivery to subscribers happens after commit, in sequence order, exactly once
per subscriber: committing threads push their entries to the outbox under the
write lock (so the outbox is in sequence order), then one thread at a time
drains it. A subscriber that appends to the same journal does not deliver its
own entry from inside the subscriber call, which would overtake the entry
being delivered: the draining loop delivers it next.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Final, final

from phyxius._events import Emit, NowSource, report_callback_error
from phyxius.journal._entry import Entry
from phyxius.journal._memory import MemoryStore

__all__ = ["Hub", "Subscription", "hub_for"]


@final
class Subscription:
    """One subscriber: the callable, and where its errors are reported.

    It keeps the subscribing handle's ``emit``, clock and name rather than the
    handle itself: hubs live in a weak-keyed table of stores, and a reference
    back to the handle (and so to its store) would keep both alive for ever.
    """

    __slots__ = ("active", "callback", "clock", "emit", "name")

    def __init__(
        self,
        callback: Callable[[Entry], object],
        emit: Emit | None,
        clock: NowSource,
        name: str,
    ) -> None:
        self.callback = callback
        self.emit = emit
        self.clock = clock
        self.name = name
        self.active = True

    def call(self, entry: Entry) -> None:
        """Call the subscriber; keep its error as a ``journal.error`` event."""
        try:
            result = self.callback(entry)
        except Exception as error:
            self._report(entry, error)
            return
        if asyncio.iscoroutine(result):
            result.close()
            self._report(
                entry,
                TypeError(
                    "journal subscribers must be plain functions, but this one "
                    "returned a coroutine that nothing would await; use "
                    "journal.follow() in a task for async consumers"
                ),
            )

    def _report(self, entry: Entry, error: BaseException) -> None:
        report_callback_error(
            self.emit,
            "journal.error",
            self.clock,
            self.callback,
            error,
            {"journal": self.name, "sequence": entry.sequence},
        )


@final
class Waiter:
    """A follower waiting on its event loop for the next commit."""

    __slots__ = ("future", "journal", "loop")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[None],
        journal: object,
    ) -> None:
        self.loop = loop
        self.future = future
        self.journal = journal

    def wake(self) -> None:
        """Resolve the future on its own loop, from any thread."""
        try:
            self.loop.call_soon_threadsafe(_resolve, self.future)
        except RuntimeError:
            # The loop is closed: nobody is waiting any more.
            pass


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@final
class Hub:
    """The in-process state shared by the handles on one journal."""

    __slots__ = (
        "deliver_lock",
        "delivering",
        "lock",
        "outbox",
        "subscribers",
        "waiters",
    )

    def __init__(self, lock: threading.RLock | None = None) -> None:
        # Held for the whole of an append: stamp time and id, store, queue for
        # delivery. Invariant: `outbox` holds committed entries not yet given
        # to subscribers, in sequence order.
        self.lock = threading.RLock() if lock is None else lock
        self.outbox: deque[Entry] = deque()
        self.subscribers: tuple[Subscription, ...] = ()
        # Held while draining the outbox; `delivering` is the draining thread.
        self.deliver_lock = threading.Lock()
        self.delivering: int | None = None
        self.waiters: tuple[Waiter, ...] = ()

    def subscribe(self, subscription: Subscription) -> None:
        """Add a subscriber; it sees entries committed from now on."""
        with self.lock:
            self.subscribers = (*self.subscribers, subscription)

    def unsubscribe(self, subscription: Subscription) -> bool:
        """Remove a subscriber; True when it was subscribed."""
        with self.lock:
            if not subscription.active:
                return False
            subscription.active = False
            self.subscribers = tuple(
                other for other in self.subscribers if other is not subscription
            )
            return True

    def add_waiter(self, waiter: Waiter) -> None:
        """Register a follower to be woken by the next commit."""
        with self.lock:
            self.waiters = (*self.waiters, waiter)

    def remove_waiter(self, waiter: Waiter) -> None:
        """Forget a follower's registration."""
        with self.lock:
            self.waiters = tuple(other for other in self.waiters if other is not waiter)

    def wake(self, journal: object = None) -> None:
        """Wake every waiting follower (only ``journal``'s, when given)."""
        for waiter in self.waiters:
            if journal is None or waiter.journal is journal:
                waiter.wake()

    def deliver(self) -> None:
        """Give queued entries to the subscribers, in sequence order."""
        me = threading.get_ident()
        if self.delivering == me:
            # A subscriber appended: the loop below delivers that entry next.
            return
        with self.deliver_lock:
            self.delivering = me
            try:
                outbox = self.outbox
                while outbox:
                    try:
                        entry = outbox.popleft()
                    except IndexError:
                        break
                    for subscription in self.subscribers:
                        if subscription.active:
                            subscription.call(entry)
            finally:
                self.delivering = None


# Hubs by store and journal name. Weak keys: a hub lives as long as its store.
_hubs: Final[weakref.WeakKeyDictionary[Any, dict[str, Hub]]] = (
    weakref.WeakKeyDictionary()
)
_hubs_lock: Final = threading.Lock()


def hub_for(store: object, name: str) -> Hub:
    """The hub of journal ``name`` in ``store``, shared by all its handles.

    A store that cannot be weakly referenced gets a new hub per handle: its
    handles then do not see each other's subscribers.
    """
    with _hubs_lock:
        try:
            per_store = _hubs.get(store)
            if per_store is None:
                per_store = _hubs[store] = {}
        except TypeError:
            return Hub()
        hub = per_store.get(name)
        if hub is None:
            # A memory store's own lock is re-entrant and cheap to take again,
            # so its journals share it rather than taking two locks per append.
            lock = store._lock if type(store) is MemoryStore else None
            hub = per_store[name] = Hub(lock)
        return hub
