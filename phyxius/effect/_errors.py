"""The errors of `phyxius.effect`.

Each subclasses `PhyxiusError` and the builtin a caller would already catch:
an effect that ran out of time is a `TimeoutError`, a misuse is a
`RuntimeError` or `TypeError`, a context lookup outside any effect is a
`LookupError`.
"""

from __future__ import annotations

from phyxius._errors import PhyxiusError

__all__ = [
    "EffectError",
    "EffectInterruptedError",
    "EffectTimeoutError",
    "EffectTypeError",
    "NoEffectContextError",
]


class EffectError(PhyxiusError):
    """Base class of the errors raised by `phyxius.effect`."""


class EffectTimeoutError(EffectError, TimeoutError):
    """An effect did not finish within the duration given to `Effect.timeout`.

    The duration is measured on the effect's clock, so under a
    `ControlledClock` the timeout fires at an exact virtual instant.
    ``timeout`` holds the duration in seconds.
    """

    def __init__(self, message: str, *, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout
        """The duration that ran out, in seconds."""


class EffectInterruptedError(EffectError, RuntimeError):
    """An effect was interrupted where a value or an error was expected.

    Raised by `Fiber.join` when the fiber it waits for was interrupted, and
    returned as ``Err(EffectInterruptedError(...))`` by `Effect.run` when the
    effect ended by cancellation that did not come from the caller (an awaited
    future that was cancelled, a `CancelledError` raised by hand). A
    cancellation of the caller itself is never turned into this error: it
    propagates as `asyncio.CancelledError`.
    """


class EffectTypeError(EffectError, TypeError):
    """A function given to an effect returned something of the wrong type.

    For example, a `flat_map` function that returned neither an `Effect` nor
    an awaitable, or an `effect` function that returned a plain value.
    """


class NoEffectContextError(EffectError, LookupError):
    """`current_context` was called where no effect is running.

    The context exists from the moment an effect starts, for everything that
    runs below it: awaited calls, forked fibers, `to_thread` offloads and
    tasks created inside it.
    """
