"""`DeadlockError`: what the virtual-time loop raises instead of hanging.

The loop calls it a deadlock when no callback is ready, no timer could wake a
task (none is pending, or autojump is off so only the test could move time),
and no real work is in flight: no executor job, no subprocess someone waits
for, no open socket or pipe, nothing announced with ``loop.real_work()``.
Nothing could ever happen again, so the loop fails at once and says where
every blocked task waits.

Where a task waits is found by walking its chain of awaits (``cr_await``)
down to the innermost suspended frame. That frame is usually inside asyncio
(``Event.wait``, ``Queue.get``) or inside Phyxius itself, which tells the
user little, so the line reported is the innermost frame *outside* those
libraries, with the library frame named after it.
"""

from __future__ import annotations

import asyncio
import linecache
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any, final

from phyxius._errors import PhyxiusError
from phyxius._time import format_seconds

__all__ = ["BlockedTask", "DeadlockError", "claim_deadlock", "describe_deadlock"]

# Frames in these directories are library plumbing, not the line a user
# wants to see first.
_LIBRARY_DIRS = (
    os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep,
    # phyxius/, two levels above this file (phyxius/clock/_deadlock.py).
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
)


@final
@dataclass(frozen=True, slots=True)
class BlockedTask:
    """One task the loop found blocked when it declared a deadlock."""

    name: str
    """The task's name (``Task.get_name()``)."""

    filename: str | None
    """File of the line where it waits (outside asyncio and Phyxius when possible)."""

    lineno: int | None
    """Line number in ``filename``."""

    function: str | None
    """Qualified name of the function suspended at that line."""

    source: str
    """The source text of that line, stripped; empty when unavailable."""

    inside: str | None
    """The innermost suspended library function (``Event.wait``), if different."""

    @property
    def location(self) -> str:
        """``file:line in function``, or ``<unknown>`` for a frameless awaitable."""
        if self.filename is None:
            return "<unknown location>"
        return f"{_short_path(self.filename)}:{self.lineno} in {self.function}"

    def describe(self) -> str:
        """One line for the error message."""
        text = f"task {self.name!r} waits at {self.location}"
        if self.source:
            text += f": {self.source}"
        if self.inside:
            text += f"  (inside {self.inside})"
        return text


class DeadlockError(PhyxiusError, RuntimeError):
    """Every task is blocked and nothing pending could ever wake one of them.

    ``blocked`` lists the tasks, each with the line where it waits; the
    message says the same in words.
    """

    def __init__(self, message: str, blocked: Iterable[BlockedTask] = ()) -> None:
        super().__init__(message)
        self.blocked: tuple[BlockedTask, ...] = tuple(blocked)


def describe_deadlock(
    tasks: Iterable[asyncio.Task[Any]],
    *,
    next_due_ns: int | None,
    listening: int,
) -> DeadlockError:
    """Build the error for a deadlock among ``tasks``.

    ``next_due_ns`` is the next pending timer (None when there is none: with
    one, the deadlock exists only because autojump is off); ``listening`` is
    how many listening sockets are open, since a reader may wonder why an open
    server did not count as real work.
    """
    blocked = sorted(
        (_blocked_task(task) for task in tasks if not task.done()),
        key=lambda entry: _natural_key(entry.name),
    )

    if next_due_ns is None:
        reason = "no timer is pending"
    else:
        reason = (
            "autojump is off, so time moves only when the test advances the "
            f"clock (next timer due at monotonic {format_seconds(next_due_ns)})"
        )
    if blocked:
        head = f"{len(blocked)} task(s) blocked and nothing can wake them"
    else:
        head = "no task can run and nothing can complete the future the loop runs until"
    lines = [
        f"deadlock: {head}: {reason}, and no thread, subprocess or socket is in flight."
    ]
    lines.extend(f"  {entry.describe()}" for entry in blocked)
    if listening:
        lines.append(
            f"  ({listening} listening socket(s) open: a server waiting for "
            "connections is not real work unless a client is on its way)"
        )
    lines.append(
        "Every awaited future must be completed by a task, a timer, an executor "
        "job (run_in_executor, to_thread), a subprocess or socket I/O; wrap a "
        "wait on work the loop cannot see (a thread you started, another "
        "library's worker) in `with loop.real_work():`."
    )
    return DeadlockError("\n".join(lines), blocked)


def _blocked_task(task: asyncio.Task[Any]) -> BlockedTask:
    frames = _suspended_frames(task)
    if not frames:
        return BlockedTask(task.get_name(), None, None, None, "", None)

    innermost = frames[-1]
    user = next(
        (frame for frame in reversed(frames) if not _is_library(frame)), innermost
    )
    code = user.f_code
    source = linecache.getline(code.co_filename, user.f_lineno).strip()
    inside = None
    if user is not innermost:
        inside = f"{innermost.f_globals.get('__name__', '?')}.{_qualname(innermost)}"
    return BlockedTask(
        task.get_name(),
        code.co_filename,
        user.f_lineno,
        _qualname(user),
        source,
        inside,
    )


def _suspended_frames(task: asyncio.Task[Any]) -> list[FrameType]:
    """The frames of a task's await chain, outermost first."""
    frames: list[FrameType] = []
    awaitable: Any = task.get_coro()
    seen: set[int] = set()
    while awaitable is not None and id(awaitable) not in seen:
        seen.add(id(awaitable))
        frame = getattr(awaitable, "cr_frame", None) or getattr(
            awaitable, "gi_frame", None
        )
        if frame is not None:
            frames.append(frame)
        awaitable = getattr(awaitable, "cr_await", None) or getattr(
            awaitable, "gi_yieldfrom", None
        )
    return frames


def _is_library(frame: FrameType) -> bool:
    return os.path.abspath(frame.f_code.co_filename).startswith(_LIBRARY_DIRS)


def _qualname(frame: FrameType) -> str:
    return getattr(frame.f_code, "co_qualname", frame.f_code.co_name)


def _short_path(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive, on Windows
        return filename
    return filename if relative.startswith("..") else relative


def _natural_key(name: str) -> list[int | str]:
    # "Task-10" after "Task-9", not after "Task-1".
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def claim_deadlock(error: DeadlockError, task: asyncio.Task[Any]) -> None:
    """Mark ``error`` retrieved when ``task`` ended with it (a done callback).

    A background task that ends with the deadlock it was failed with says
    nothing the main task's error does not; without this, asyncio would log
    "Task exception was never retrieved" for each one. Any other outcome is
    left for asyncio to report.
    """
    if not task.cancelled() and getattr(task, "_exception", None) is error:
        task.exception()
