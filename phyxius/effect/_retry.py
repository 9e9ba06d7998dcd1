"""`RetryPolicy`: how many times to retry an effect, and how long to wait between.

The wait after failed attempt ``n`` (1 for the first attempt) is::

    computed = min(max_delay, base_delay * factor ** (n - 1))
    delay    = computed * (1 - jitter * u)      # u uniform in [0, 1)

so jitter only ever shortens a wait: ``jitter=0`` keeps the exact
exponential schedule, ``jitter=1`` is "full jitter" (anywhere between 0 and
the computed delay), and no wait ever exceeds ``max_delay``. ``u`` comes from
a `random.Random` seeded with ``seed`` and created afresh for every run of the
retried effect, so a seeded policy gives the same delays on every run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias, final

from phyxius._errors import InvalidArgumentError
from phyxius._time import NANOS_PER_SECOND, Duration, to_nanoseconds

__all__ = ["RetryOn", "RetryPolicy"]

RetryOn: TypeAlias = (
    type[Exception] | tuple[type[Exception], ...] | Callable[[Exception], bool]
)
"""Which errors to retry: exception types, or a predicate on the error."""


@final
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry a failed effect with capped exponential back-off and seeded jitter.

    ``max_attempts`` counts every attempt, the first included: 5 means one try
    and up to four retries. ``max_elapsed`` stops retrying once the next wait
    would end more than that long after the first attempt began. Every wait
    and every elapsed-time reading uses the effect's clock, so under a
    `ControlledClock` a retry takes no real time.

    Only errors matching ``retry_on`` (default: every `Exception`) are
    retried. Interruption (`asyncio.CancelledError`), `KeyboardInterrupt` and
    `SystemExit` are never retried, whatever ``retry_on`` says: an effect
    under a timeout that fires during its first attempt makes exactly one
    attempt and fails with the timeout.
    """

    max_attempts: int
    """Attempts in total, the first included (at least 1)."""

    base_delay: Duration
    """Wait after the first failure."""

    max_delay: Duration | None = None
    """Cap on every wait; None for no cap."""

    factor: float = 2.0
    """Each wait is this many times the one before (at least 1)."""

    jitter: float = 0.0
    """Fraction of each wait that is randomly taken off: 0 (none) to 1 (full)."""

    max_elapsed: Duration | None = None
    """Give up once the next wait would end this long after the first attempt began."""

    retry_on: RetryOn = Exception
    """Exception types to retry, or a predicate ``fn(error) -> bool``."""

    seed: int | None = None
    """Seed of the jitter generator; None draws a fresh seed for every run."""

    _base_ns: int = field(init=False, repr=False, compare=False)
    _cap_ns: int | None = field(init=False, repr=False, compare=False)
    _elapsed_ns: int | None = field(init=False, repr=False, compare=False)
    _predicate: Callable[[Exception], bool] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise InvalidArgumentError(
                f"max_attempts={self.max_attempts!r} "
                f"(type={type(self.max_attempts).__name__}) is not a whole number "
                "of attempts; pass 1 or more (1 means no retry)"
            )
        base_ns = to_nanoseconds(self.base_delay, name="base_delay")
        cap_ns = (
            None
            if self.max_delay is None
            else to_nanoseconds(self.max_delay, name="max_delay")
        )
        if cap_ns is not None and cap_ns < base_ns:
            raise InvalidArgumentError(
                f"max_delay={self.max_delay!r} is shorter than "
                f"base_delay={self.base_delay!r}; the cap must be at least the "
                "first wait"
            )
        if (
            isinstance(self.factor, bool)
            or not isinstance(self.factor, int | float)
            or not math.isfinite(self.factor)
            or self.factor < 1
        ):
            raise InvalidArgumentError(
                f"factor={self.factor!r} (type={type(self.factor).__name__}) is not "
                "a growth factor; pass a finite number >= 1 (1 for a constant wait)"
            )
        if (
            isinstance(self.jitter, bool)
            or not isinstance(self.jitter, int | float)
            or not 0 <= self.jitter <= 1
        ):
            raise InvalidArgumentError(
                f"jitter={self.jitter!r} (type={type(self.jitter).__name__}) is not "
                "a fraction; pass a number from 0 (no jitter) to 1 (full jitter)"
            )
        elapsed_ns = (
            None
            if self.max_elapsed is None
            else to_nanoseconds(self.max_elapsed, name="max_elapsed")
        )
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise InvalidArgumentError(
                f"seed={self.seed!r} (type={type(self.seed).__name__}) is not a "
                "seed; pass an int, or None for a fresh seed on every run"
            )
        predicate = _predicate_for(self.retry_on)

        object.__setattr__(self, "_base_ns", base_ns)
        object.__setattr__(self, "_cap_ns", cap_ns)
        object.__setattr__(self, "_elapsed_ns", elapsed_ns)
        object.__setattr__(self, "_predicate", predicate)
        if self.max_attempts > 1 and not math.isfinite(
            self._computed_ns(self.max_attempts - 1)
        ):
            raise InvalidArgumentError(
                f"max_attempts={self.max_attempts!r} with factor={self.factor!r} "
                "and no max_delay makes the last wait overflow; set max_delay"
            )

    def delays(self) -> list[float]:
        """The waits, in seconds, after failed attempts 1 to ``max_attempts - 1``.

        With jitter, this is the schedule one run with this policy's ``seed``
        would use (a fresh random one when ``seed`` is None).
        """
        rng = self.new_rng()
        return [
            self.delay_ns(attempt, rng) / NANOS_PER_SECOND
            for attempt in range(1, self.max_attempts)
        ]

    def should_retry(self, error: BaseException) -> bool:
        """True when ``error`` is an `Exception` that ``retry_on`` accepts."""
        if not isinstance(error, Exception):
            return False
        return bool(self._predicate(error))

    def new_rng(self) -> random.Random | None:
        """The jitter generator for one run: None when there is no jitter."""
        if self.jitter == 0:
            return None
        return random.Random(self.seed)

    def delay_ns(self, attempt: int, rng: random.Random | None) -> int:
        """The wait in nanoseconds after failed attempt ``attempt`` (1-based)."""
        computed = self._computed_ns(attempt)
        if rng is not None:
            computed *= 1.0 - self.jitter * rng.random()
        return int(computed)

    @property
    def max_elapsed_ns(self) -> int | None:
        """``max_elapsed`` in nanoseconds, or None."""
        return self._elapsed_ns

    def _computed_ns(self, attempt: int) -> float:
        try:
            raw = self._base_ns * float(self.factor) ** (attempt - 1)
        except OverflowError:
            raw = math.inf
        if self._cap_ns is not None:
            raw = min(raw, float(self._cap_ns))
        return raw


def _predicate_for(retry_on: object) -> Callable[[Exception], bool]:
    types: tuple[Any, ...]
    if isinstance(retry_on, type):
        types = (retry_on,)
    elif isinstance(retry_on, tuple):
        types = retry_on
    elif callable(retry_on):
        return retry_on
    else:
        raise InvalidArgumentError(
            f"retry_on={retry_on!r} (type={type(retry_on).__name__}) is neither "
            "exception types nor a predicate; pass ValueError, (ValueError, "
            "OSError) or a function taking the error and returning a bool"
        )
    for kind in types:
        if not isinstance(kind, type) or not issubclass(kind, BaseException):
            raise InvalidArgumentError(
                f"retry_on contains {kind!r} (type={type(kind).__name__}), which is "
                "not an exception type; pass Exception subclasses"
            )
        if not issubclass(kind, Exception):
            raise InvalidArgumentError(
                f"retry_on contains {kind.__name__}, which is never retried: "
                "interruption, KeyboardInterrupt and SystemExit always propagate; "
                "pass Exception subclasses"
            )
    matched = types

    def is_retryable(error: Exception) -> bool:
        return isinstance(error, matched)

    return is_retryable
