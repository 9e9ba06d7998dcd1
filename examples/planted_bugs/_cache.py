"""A read-through cache in front of a database process, and a stale fill.

The database is one process, ``db``, that keeps values by key and answers
``("get", key)`` with ``(value, version)`` and ``("set", key, value)`` with
the new version. In front of it sits a cache in memory. A reader that misses
the cache asks the database and fills the cache with the answer; a writer
asks the database to store a new value and then invalidates the cache entry.

The planted bug, a real race known from large deployments: a reader misses
and asks for the value; the writer's ``set`` reaches the database after the
reader's ``get``; both answers come back, and the writer runs first: it
invalidates an entry that is not there yet, then the reader fills the cache
with the old value, which stays there for good. In plain tests asyncio
resumes the two callers in the order their answers were given, reader first,
so the fill happens before the invalidation and every test passes; on a
network the answers come back in any order.

The fix (``versioned=True``): the cache remembers the version each
invalidation was for and refuses a fill older than that, so a late fill of a
value the writer already replaced is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from phyxius.process import ProcessRef, ProcessSpec, Supervisor, Tools

__all__ = [
    "DATABASE",
    "ReadThroughCache",
    "database_spec",
    "read",
    "start_database",
    "write",
]

DATABASE: Final = "db"
"""The name of the database process."""


def database_spec() -> ProcessSpec:
    """The database process: values by key, each write numbered by a version."""

    def init(ctx: object) -> dict[str, tuple[Any, int]]:
        return {}

    def handle(
        state: dict[str, tuple[Any, int]], message: tuple[Any, ...], tools: Tools
    ) -> dict[str, tuple[Any, int]]:
        match message:
            case ("get", key):
                tools.reply(state.get(key, (None, 0)))
                return state
            case ("set", key, value):
                version = state.get(key, (None, 0))[1] + 1
                tools.reply(version)
                return {**state, key: (value, version)}
        raise ValueError(f"the database does not understand {message!r}")

    return ProcessSpec(init=init, handle=handle)


async def start_database(supervisor: Supervisor) -> ProcessRef:
    """Spawn the database process, named `DATABASE`, under ``supervisor``."""
    return await supervisor.spawn(database_spec(), name=DATABASE)


@dataclass
class ReadThroughCache:
    """Values by key in memory; ``versioned`` turns the fix on.

    ``entries`` maps a key to its cached ``(value, version)``;
    ``invalidated`` maps a key to the highest version an invalidation was
    for (kept by the fixed version only).
    """

    versioned: bool
    entries: dict[str, tuple[Any, int]] = field(default_factory=dict)
    invalidated: dict[str, int] = field(default_factory=dict)

    def fill(self, key: str, value: Any, version: int) -> None:
        """Cache what a reader got from the database."""
        if self.versioned and version < self.invalidated.get(key, 0):
            return
        self.entries[key] = (value, version)

    def invalidate(self, key: str, version: int) -> None:
        """Forget ``key``: the database now holds ``version`` of it."""
        self.entries.pop(key, None)
        if self.versioned:
            self.invalidated[key] = max(version, self.invalidated.get(key, 0))


async def read(cache: ReadThroughCache, db: ProcessRef, key: str) -> Any:
    """The value of ``key``: from the cache, or from the database, filling the cache."""
    if key in cache.entries:
        return cache.entries[key][0]
    value, version = await db.ask(("get", key))
    cache.fill(key, value, version)
    return value


async def write(cache: ReadThroughCache, db: ProcessRef, key: str, value: Any) -> None:
    """Store ``value`` for ``key`` in the database, then invalidate the cache."""
    version = await db.ask(("set", key, value))
    cache.invalidate(key, version)
