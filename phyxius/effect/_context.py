"""The effect context: values that flow with the work, built on `contextvars`.

Two context variables carry everything:

* ``_VALUES`` holds the context values as a dict that is never mutated once
  set; `Context.set` binds a new dict. Because asyncio copies the
  `contextvars` context into every task it creates, and `to_thread` into
  every thread it starts, a child sees its parent's values as they were when
  it started, and its own writes never reach the parent.
* ``_ENV`` holds the `Env` of the effect running here, so `current_context`
  can tell whether it is below a running effect, and ``await effect`` can
  reuse its clock.

The `Context` object itself holds no state: it is a view of the values
visible wherever it is used, exactly like a `contextvars.ContextVar`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, final

from phyxius._errors import InvalidArgumentError
from phyxius.effect._errors import NoEffectContextError

if TYPE_CHECKING:
    from phyxius.effect._env import Env

__all__ = [
    "Context",
    "ContextLogFilter",
    "current_context",
]

_EMPTY: Final[dict[str, Any]] = {}

_VALUES: ContextVar[dict[str, Any]] = ContextVar(
    "phyxius.effect.values", default=_EMPTY
)
_ENV: ContextVar[Env | None] = ContextVar("phyxius.effect.env", default=None)


def check_key(key: object, *, name: str = "key") -> str:
    """Reject a context key that is not a non-empty string."""
    if type(key) is not str or not key:
        raise InvalidArgumentError(
            f"{name}={key!r} (type={type(key).__name__}) is not a context key; "
            "use a non-empty string such as 'request_id'"
        )
    return key


@final
class Context(Mapping[str, Any]):
    """The context values visible here: read them, and set them for this scope.

    Get one from ``env.context``, from `current_context()` or as the argument
    of the function given to `run_effect`. It is a read-only `Mapping` plus
    `set`. A value set here is seen by everything that runs after it in the
    same effect and below it (awaited calls, forked fibers, threads started
    with `to_thread`, tasks created from here), but never by the parent: a
    forked fiber, a `with_context` block, a branch of `race` or `gather` and a
    nested `run` each write to their own copy.
    """

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        try:
            return _VALUES.get()[key]
        except KeyError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(_VALUES.get()))

    def __len__(self) -> int:
        return len(_VALUES.get())

    def __contains__(self, key: object) -> bool:
        return key in _VALUES.get()

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when it is not set."""
        return _VALUES.get().get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Set ``key`` to ``value`` for the rest of this scope and all below it."""
        check_key(key)
        _VALUES.set({**_VALUES.get(), key: value})

    def to_dict(self) -> dict[str, Any]:
        """A copy of every value visible here."""
        return dict(_VALUES.get())

    def __repr__(self) -> str:
        return f"<Context {_VALUES.get()!r}>"


CONTEXT: Final = Context()
"""The one `Context` view; every effect hands out this object."""


def current_context() -> Context:
    """The context of the effect running here.

    Works anywhere below a running effect: in its awaited calls, in fibers it
    forked, in threads started with `to_thread`, and in asyncio tasks and
    processes started from inside it (they inherit a copy of the context,
    with `contextvars.copy_context` semantics).

    Raises:
        NoEffectContextError: no effect is running here. Start the work with
            `run_effect` or `Effect.run`, or, for a thread you start yourself,
            run it with ``contextvars.copy_context().run``.
    """
    if _ENV.get() is None:
        raise NoEffectContextError(
            "current_context() was called where no effect is running; start the "
            "work with run_effect(fn) or effect.run(), and start threads with "
            "phyxius.effect.to_thread so the context follows them"
        )
    return CONTEXT


# Attributes every LogRecord has; stamping a context value over one of them
# would corrupt the record, so the filter refuses such keys.
_RESERVED_RECORD_ATTRIBUTES: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__
) | {"message", "asctime"}


@final
class ContextLogFilter(logging.Filter):
    """Stamp chosen context values on every log record, as record attributes.

    ``ContextLogFilter("request_id", "tenant")`` sets ``record.request_id``
    and ``record.tenant`` from the context of the code that logged, so a
    format string can use ``%(request_id)s``. Keys that are not set (or
    records logged outside any effect) get ``default``. A value passed
    explicitly with ``extra=`` is kept.

    Attach it to the handler or logger that runs in the logging thread: the
    context is read where the record is created and filtered, so a filter on a
    `logging.handlers.QueueListener`'s handlers would see the listener's
    thread, not the caller's.
    """

    def __init__(self, *keys: str, default: object = "-", name: str = "") -> None:
        super().__init__(name)
        if not keys:
            raise InvalidArgumentError(
                "ContextLogFilter() got no keys; name the context values to stamp, "
                "for example ContextLogFilter('request_id')"
            )
        for key in keys:
            check_key(key)
            if key in _RESERVED_RECORD_ATTRIBUTES:
                raise InvalidArgumentError(
                    f"key={key!r} is a standard LogRecord attribute and would be "
                    "overwritten; store the value under another name, such as "
                    f"'ctx_{key}'"
                )
        self._keys = tuple(dict.fromkeys(keys))
        self._default = default

    @property
    def keys(self) -> tuple[str, ...]:
        """The context keys this filter stamps."""
        return self._keys

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp the values on ``record``; never drops a record."""
        values = _VALUES.get()
        attributes = record.__dict__
        for key in self._keys:
            if key not in attributes:
                attributes[key] = values.get(key, self._default)
        return True
