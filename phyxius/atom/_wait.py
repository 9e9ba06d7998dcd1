"""`Atom.wait_for`: wait, on the atom's clock, until its value satisfies a predicate.

The wait registers an internal watcher, so it sees the value of every
committed change (a value that holds only briefly is not missed) and is woken
by writes from other tasks and from other OS threads alike: a write from the
waiting loop's own thread settles the future directly, a write from any
other thread through ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from phyxius._errors import InvalidArgumentError
from phyxius._events import describe_callable
from phyxius._time import Duration, format_seconds, to_nanoseconds
from phyxius.atom._errors import AtomTimeoutError, describe_atom
from phyxius.atom._notify import short_repr
from phyxius.atom._records import Change
from phyxius.clock import ClockTimeoutError

if TYPE_CHECKING:
    from phyxius.atom._atom import Atom

__all__ = ["wait_for"]

_T = TypeVar("_T")


async def wait_for(
    atom: Atom[_T], predicate: Callable[[_T], object], timeout: Duration | None
) -> _T:
    """The body of `Atom.wait_for`; see there."""
    if not callable(predicate):
        raise InvalidArgumentError(
            f"predicate={predicate!r} (type={type(predicate).__name__}) is not "
            "callable; pass a function that takes the value and returns a bool"
        )
    if timeout is not None:
        to_nanoseconds(timeout, name="timeout")

    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[_T] = loop.create_future()
    waiter_thread = threading.get_ident()

    def settle(value: Any, error: BaseException | None) -> None:
        # A future belongs to its loop's thread; from any other thread the
        # outcome travels through call_soon_threadsafe.
        if threading.get_ident() == waiter_thread:
            _settle(waiter, value, error)
            return
        try:
            loop.call_soon_threadsafe(_settle, waiter, value, error)
        except RuntimeError:
            pass  # the loop has closed, so nobody is waiting any more

    def check(change: Change[_T]) -> None:
        if waiter.done():
            return
        try:
            accepted = predicate(change.new)
        except Exception as error:
            settle(None, error)
            return
        if accepted:
            settle(change.new, None)

    handle, current = atom._watch_and_read(check)
    try:
        if predicate(current):
            return current
        if timeout is None:
            return await waiter
        try:
            async with atom.clock.timeout(timeout):
                return await waiter
        except ClockTimeoutError:
            snapshot = atom.snapshot()
            raise AtomTimeoutError(
                f"{describe_atom(atom.name)} did not satisfy "
                f"{describe_callable(predicate)} within "
                f"{format_seconds(to_nanoseconds(timeout))} on its clock; its value is "
                f"{short_repr(snapshot.value)} at version {snapshot.version}. "
                "Allow more time, or check the code that should have written it"
            ) from None
    finally:
        handle()
        # A change already on its way from another thread must not settle a
        # future nobody awaits, nor leave an exception asyncio would log as
        # never retrieved.
        if not waiter.done():
            waiter.cancel()
        elif not waiter.cancelled():
            waiter.exception()


def _settle(
    waiter: asyncio.Future[Any], value: Any, error: BaseException | None
) -> None:
    if waiter.done():
        return
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(value)
