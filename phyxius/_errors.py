"""The root of every error Phyxius raises, and the errors shared by all primitives.

Each primitive defines its own errors next to its code; every one of them
subclasses `PhyxiusError` and, where one fits, the builtin exception a caller
would already catch (`ValueError`, `TypeError`, `TimeoutError`, ...), so that
``except ValueError`` keeps working for code that does not know Phyxius.
"""

from __future__ import annotations

__all__ = [
    "InternalError",
    "InvalidArgumentError",
    "InvalidDurationError",
    "PhyxiusError",
]


class PhyxiusError(Exception):
    """Base class of every error raised by Phyxius."""


class InvalidArgumentError(PhyxiusError, ValueError):
    """An argument has a value the call cannot accept.

    The message names the argument, the value received and what to pass instead.
    """


class InvalidDurationError(InvalidArgumentError, TypeError):
    """A duration is negative, NaN, infinite or not a number of seconds.

    It subclasses both `ValueError` and `TypeError` because a wrong type and a
    wrong value are reported through the same parser.
    """


class InternalError(PhyxiusError, RuntimeError):
    """Phyxius broke one of its own invariants.

    This is a bug in Phyxius, not in the calling code: please report it with the
    message and traceback.
    """
