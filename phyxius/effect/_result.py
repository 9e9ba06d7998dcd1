"""How an effect ended: `Ok`, `Err` or `Interrupted`.

`Effect.run` returns a `Result` (`Ok` or `Err`); a fiber, a release and a
finalizer see an `Exit`, which adds `Interrupted`. All three are frozen
records that work with ``match``::

    match await fetch_user.run():
        case Ok(user):
            ...
        case Err(error):
            ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeAlias, TypeVar, final

from phyxius.effect._errors import EffectInterruptedError

__all__ = ["Err", "Exit", "Interrupted", "Ok", "Result"]

T_co = TypeVar("T_co", covariant=True)


@final
@dataclass(frozen=True, slots=True)
class Ok(Generic[T_co]):
    """The effect succeeded with ``value``."""

    value: T_co
    """What the effect produced."""

    def unwrap(self) -> T_co:
        """Return the value."""
        return self.value


@final
@dataclass(frozen=True, slots=True)
class Err:
    """The effect failed with ``error``.

    ``error`` is an `Exception` for a result of `Effect.run`. A release or a
    finalizer may also see a `KeyboardInterrupt` or `SystemExit` here, since
    cleanup runs for those too before they propagate.
    """

    error: BaseException
    """The exception the effect raised."""

    def unwrap(self) -> NoReturn:
        """Raise the error."""
        raise self.error


@final
@dataclass(frozen=True, slots=True)
class Interrupted:
    """The effect was interrupted: cancelled from outside, or by a timeout or race.

    ``error`` is the exception the effect raised while it was being
    interrupted, if any (for example a failure that arrived together with the
    cancellation). An interruption always wins over such an error, and over a
    value that arrived at the same time; the error is kept here so that it
    does not vanish.
    """

    error: BaseException | None = None
    """An error displaced by the interruption, or None."""

    def unwrap(self) -> NoReturn:
        """Raise `EffectInterruptedError` (chained to ``error`` when there is one)."""
        raise EffectInterruptedError(
            "the effect was interrupted before it produced a value; check "
            "Fiber.poll() or match on Interrupted() to tell interruption apart"
        ) from self.error


Result: TypeAlias = Ok[T_co] | Err
"""What `Effect.run` returns: `Ok(value)` or `Err(error)`."""

Exit: TypeAlias = Ok[T_co] | Err | Interrupted
"""How a fiber, a resource's use or a finalized effect ended."""

INTERRUPTED: Any = Interrupted()
"""The shared `Interrupted` with no displaced error."""
