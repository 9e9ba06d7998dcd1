"""`CacheClient`: cache operations as effects, with timeouts, retries and request ids.

Each operation is an `Effect`: building it checks the arguments and runs
nothing; running it (``await cache.set(...).run_or_raise()``, or ``await
cache.set(...)`` inside another effect) does the work, and can be done again.
Timeouts and retry back-off always run on the cluster's clock, whichever
clock the caller's effect runs on.

The request id is read from the effect context (``request_id``), where the
edge of the application puts it (``run_effect(..., context={"request_id":
...})``); when there is none, the client makes one (``<client>-<n>``) and
sets it, so everything below sees it. It travels in every message to the
nodes and in the metadata of every journal entry, and a
`phyxius.effect.ContextLogFilter` stamps it on the client's log records.
"""

from __future__ import annotations

import functools
import itertools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, final

from examples.distributed_cache._records import (
    CacheUnavailableError,
    Delete,
    Get,
    Lookup,
    MemberStatus,
    Put,
    Slot,
    Stored,
    Version,
)
from examples.distributed_cache._shared import LOGGER, Shared
from phyxius import (
    Duration,
    EffectTimeoutError,
    InvalidArgumentError,
    RetryPolicy,
    to_nanoseconds,
)
from phyxius.effect import Context, Effect, effect, gather, succeed
from phyxius.process import (
    MailboxFullError,
    ProcessCrashedError,
    ProcessStatus,
)

__all__ = ["RETRYABLE", "CacheClient", "default_retry"]

RETRYABLE: Final = (ProcessCrashedError, EffectTimeoutError, MailboxFullError)
"""Errors of one attempt on one replica that are worth another attempt."""

_GONE: Final = (ProcessStatus.STOPPED, ProcessStatus.CRASHED)
"""The statuses of a process that takes no more messages."""


def default_retry(client: str) -> RetryPolicy:
    """The retry policy of a client called ``client`` when the cluster sets none.

    Four attempts, waits of 50, 100 and 200 ms (capped at 400 ms) with half
    jitter, from a generator seeded by the client's name: clients spread
    their retries apart, and each one retries the same way on every run.
    """
    return RetryPolicy(
        max_attempts=4,
        base_delay=0.05,
        max_delay=0.4,
        jitter=0.5,
        retry_on=RETRYABLE,
        seed=zlib.crc32(client.encode()),
    )


@final
@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one replica answered one write: its reply, or the error that ended it."""

    node: str
    reply: Any
    error: Exception | None


@final
class CacheClient:
    """Reads and writes the cache; make one with `CacheCluster.client`.

    `set`, `get`, `lookup` and `delete` return effects. Writes go to every
    replica of the key at once (each replica with its own timeout and
    retries) and succeed when at least one replica confirmed them; reads ask
    one replica, the live ones first, and fail over to the next.

    A write is never left on some replicas only. Once every replica has
    answered or run out of attempts, it is journaled and sent again to each
    replica that did not confirm it, and to each one that confirmed it but
    restarted before it was journaled; a send waits in the mailbox across
    crashes, and versions make a second copy harmless. So a write that no
    replica confirmed in time still raises `CacheUnavailableError`, but it
    lands when the replicas are back: like any timed-out request, its
    outcome was unknown, and the cache settles it one way for every replica.
    Only a write that no replica can ever take (every one stopped for good)
    is not journaled.
    """

    __slots__ = ("_last_stamp", "_prepare", "_requests", "_retry", "_shared", "name")

    def __init__(self, shared: Shared, name: str) -> None:
        # Internal: use `CacheCluster.client`.
        self._shared = shared
        self.name = name
        """The client's name: it breaks version ties and prefixes its request ids."""
        self._retry = shared.settings.retry or default_retry(name)
        self._last_stamp = 0
        self._requests = itertools.count(1)
        self._prepare = _preparer(shared)

    # -- operations ------------------------------------------------------------------

    def set(
        self, key: str, value: Any, *, ttl: Duration | None = None
    ) -> Effect[Stored]:
        """Store ``value`` under ``key``, for ``ttl`` seconds (None: until replaced).

        The value must suit the journal's codec (JSON by default); it is
        stored as the codec reads it back (a tuple becomes a list), so a node
        re-synced from the journal holds exactly what its peers hold.

        Raises (when the effect runs):
            CacheUnavailableError: no replica confirmed the write in time (it
                still lands on them when they are back, see `CacheClient`).
        Raises (at once):
            InvalidArgumentError: a bad key or ttl; EncodeError: a value the
                journal cannot store.
        """
        _check_key(key)
        ttl_ns = None if ttl is None else _positive_ttl(ttl)
        prepared = self._prepare(value)
        return effect(lambda env: self._set(env.context, key, prepared, ttl_ns))

    def lookup(self, key: str) -> Effect[Lookup]:
        """Read ``key``: a `Lookup` saying whether it was found, and by which replica.

        Raises (when the effect runs):
            CacheUnavailableError: no replica answered.
        """
        _check_key(key)
        return effect(lambda env: self._lookup(env.context, key))

    def get(self, key: str, default: Any = None) -> Effect[Any]:
        """Read ``key``: its value, or ``default`` when it is absent (see `lookup`)."""
        return self.lookup(key).map(
            lambda found: found.value if found.found else default
        )

    def delete(self, key: str) -> Effect[bool]:
        """Delete ``key``; True when a replica still held a live value for it.

        Raises (when the effect runs):
            CacheUnavailableError: no replica confirmed the delete in time (it
                still lands on them when they are back, see `CacheClient`).
        """
        _check_key(key)
        return effect(lambda env: self._delete(env.context, key))

    # -- the work ----------------------------------------------------------------------

    async def _set(
        self, context: Context, key: str, value: Any, ttl_ns: int | None
    ) -> Stored:
        request_id = self._request_id(context)
        now = self._shared.clock.now()
        version = self._next_version(now.wall_ns)
        expires_at_ns = None if ttl_ns is None else now.mono_ns + ttl_ns
        message = Put(key, value, version, expires_at_ns, request_id)

        acked, missed, _ = await self._replicate(
            "set",
            key,
            message,
            lambda acked, missed, _replies: {
                "key": key,
                "value": value,
                "version": version,
                "expires_at_ns": expires_at_ns,
                "acked": acked,
                "missed": missed,
            },
        )
        LOGGER.info("set %r acked by %s", key, ", ".join(acked))
        return Stored(key, version, expires_at_ns, tuple(acked), tuple(missed))

    async def _delete(self, context: Context, key: str) -> bool:
        request_id = self._request_id(context)
        now = self._shared.clock.now()
        version = self._next_version(now.wall_ns)
        until_ns = now.mono_ns + self._shared.settings.tombstone_grace_ns
        message = Delete(key, version, until_ns, request_id)

        acked, _, replies = await self._replicate(
            "delete",
            key,
            message,
            lambda acked, missed, replies: {
                "key": key,
                "version": version,
                "existed": any(replies),
                "tombstone_until_ns": until_ns,
                "acked": acked,
                "missed": missed,
            },
        )
        LOGGER.info("delete %r acked by %s", key, ", ".join(acked))
        return any(replies)

    async def _lookup(self, context: Context, key: str) -> Lookup:
        request_id = self._request_id(context)
        message = Get(key, request_id)
        order = self._read_order(key)

        # Ask the first replica; on any failure, the next; retry the chain.
        attempt = self._ask(order[0], message)
        for node in order[1:]:
            attempt = attempt.catch(functools.partial(self._failover, node, message))
        try:
            node, slot = await attempt.retry(self._retry).run_or_raise(
                clock=self._shared.clock
            )
        except Exception as error:
            raise CacheUnavailableError(
                f"no replica of key {key!r} ({', '.join(order)}) answered the read "
                f"(request {request_id}): {error}; check the cluster's membership"
            ) from error

        found = isinstance(slot, Slot)
        lookup = Lookup(
            key,
            found,
            slot.value if found else None,
            slot.version if found else None,
            slot.expires_at_ns if found else None,
            node,
        )
        if self._shared.settings.journal_reads:
            self._shared.record(
                "cache.get",
                {
                    "key": key,
                    "hit": found,
                    "version": lookup.version,
                    "served_by": node,
                },
                request_id,
            )
        LOGGER.info("get %r: %s from %s", key, "hit" if found else "miss", node)
        return lookup

    async def _replicate(
        self,
        operation: str,
        key: str,
        message: Put | Delete,
        entry: Callable[[list[str], list[str], list[Any]], dict[str, Any]],
    ) -> tuple[list[str], list[str], list[Any]]:
        """Write ``message`` to every replica of ``key`` and journal it.

        Returns who confirmed it, who did not, and the confirmations.
        ``entry(acked, missed, replies)`` makes the journal entry's data.
        """
        shared = self._shared
        owners = shared.ring.owners(key)
        started = {node: shared.incarnations[node] for node in owners}
        outcomes = await gather(
            [self._deliver(node, message) for node in owners]
        ).run_or_raise(clock=shared.clock)
        acked = [o.node for o in outcomes if o.error is None]
        missed = [o for o in outcomes if o.error is not None]
        replies = [o.reply for o in outcomes if o.error is None]

        # Nothing below awaits, so no node serves a message or restarts
        # before the journal has the write. It must reach every replica: a
        # timed-out attempt may still land on one, and a replica that took it
        # and restarted since may have re-synced from peers and a journal that
        # did not have it yet. A send waits in the mailbox across a crash
        # (unlike an ask), and versions make a second copy harmless.
        restarted = [
            node for node in acked if shared.incarnations[node] != started[node]
        ]
        queued = [
            node
            for node in [*(o.node for o in missed), *restarted]
            if shared.refs[node].status not in _GONE and shared.refs[node].send(message)
        ]
        reasons = "; ".join(f"{o.node}: {o.error}" for o in missed)
        if not acked and not queued:
            raise CacheUnavailableError(
                f"no replica of key {key!r} took the {operation} (request "
                f"{message.request_id}): {reasons}; nothing was journaled"
            )

        shared.record(
            "cache.set" if isinstance(message, Put) else "cache.deleted",
            entry(acked, [o.node for o in missed], replies),
            message.request_id,
        )
        for outcome in missed:
            LOGGER.warning(
                "%s %r missed %s: %s", operation, key, outcome.node, outcome.error
            )
        if not acked:
            raise CacheUnavailableError(
                f"no replica of key {key!r} confirmed the {operation} in time "
                f"(request {message.request_id}): {reasons}; it is journaled and "
                f"queued for {', '.join(queued)}, and lands when they are back"
            )
        return acked, [o.node for o in missed], replies

    def _deliver(self, node: str, message: Put | Delete) -> Effect[_Outcome]:
        ref = self._shared.refs[node]
        return (
            effect(lambda env: ref.ask(message, timeout=None))
            .timeout(self._shared.settings.request_timeout_ns / 1_000_000_000)
            .retry(self._retry)
            .map(lambda reply: _Outcome(node, reply, None))
            .catch(lambda error: succeed(_Outcome(node, None, error)))
        )

    def _ask(self, node: str, message: Get) -> Effect[tuple[str, Any]]:
        ref = self._shared.refs[node]
        return (
            effect(lambda env: ref.ask(message, timeout=None))
            .timeout(self._shared.settings.request_timeout_ns / 1_000_000_000)
            .map(lambda reply: (node, reply))
        )

    def _failover(
        self, node: str, message: Get, error: Exception
    ) -> Effect[tuple[str, Any]]:
        LOGGER.warning("get %r failed over to %s: %s", message.key, node, error)
        return self._ask(node, message)

    def _read_order(self, key: str) -> list[str]:
        """The replicas of ``key``: those that are up first, then in ring order."""
        members = self._shared.membership.get()
        owners = self._shared.ring.owners(key)
        return sorted(owners, key=lambda node: members[node] != MemberStatus.UP)

    # -- request ids and versions ----------------------------------------------------

    def _request_id(self, context: Context) -> str:
        request_id = context.get("request_id")
        if request_id is None:
            request_id = f"{self.name}-{next(self._requests)}"
            context.set("request_id", request_id)
        return str(request_id)

    def _next_version(self, wall_ns: int) -> Version:
        # A hybrid logical clock: the wall clock when it has moved on, one
        # more than the last stamp when it has not (or went back).
        stamp = max(self._last_stamp + 1, wall_ns)
        self._last_stamp = stamp
        return Version(stamp, self.name)

    def __repr__(self) -> str:
        return f"<CacheClient {self.name!r} of {self._shared.name!r}>"


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError(
            f"key={key!r} (type={type(key).__name__}) is not a cache key; pass a "
            "non-empty str"
        )


def _positive_ttl(ttl: Duration) -> int:
    ttl_ns = to_nanoseconds(ttl, name="ttl")
    if ttl_ns == 0:
        raise InvalidArgumentError(
            f"ttl={ttl!r} is zero, so the value would expire as it is stored; pass "
            "a positive number of seconds, or None to keep it until replaced"
        )
    return ttl_ns


def _preparer(shared: Shared) -> Callable[[Any], Any]:
    codec = shared.journal.codec
    prepare = getattr(codec, "prepare", None)
    if prepare is not None:
        return lambda value: prepare(value, "value")
    return lambda value: codec.decode(codec.encode(value))
