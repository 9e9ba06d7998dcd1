"""Faults and fault plans: what a simulation breaks, and when, as data.

Each fault is a frozen record naming its target and the moment it strikes,
counted in the target's own terms, so the same plan strikes at the same place
in every run of the same program:

* `Crash`: process ``process`` crashes at its ``message``-th message
  (counting every message it takes, across restarts), before its handler
  runs or after it returned.
* `Drop`, `Duplicate`, `Delay`: the ``message``-th message sent to process
  ``to`` (only those from process ``sender``, when given) is lost, delivered
  twice, or delivered ``by`` seconds late.
* `WallJump`: the wall clock jumps ``by`` seconds (negative: backwards) when
  monotonic time reaches ``at``; monotonic time does not move.
* `AppendFailure`: the ``append``-th append to journal ``journal`` raises
  `InjectedAppendError`, before anything is written or after the entries
  are stored (a commit whose acknowledgement is lost).

A `FaultPlan` is a set of faults in a canonical order: plans compare equal
when they hold the same faults, whatever order they were given in. Its text
form (`FaultPlan.to_text`, also ``str``) is stable and reads back with
`FaultPlan.parse`; its ``repr`` is Python that rebuilds it.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Final, Literal, TypeAlias, final

from phyxius._errors import InvalidArgumentError, InvalidDurationError
from phyxius._time import NANOS_PER_SECOND, to_nanoseconds

__all__ = [
    "FAULT_TYPES",
    "AppendFailure",
    "Crash",
    "Delay",
    "Drop",
    "Duplicate",
    "Fault",
    "FaultPlan",
    "Point",
    "WallJump",
]

Point: TypeAlias = Literal["before", "after"]
"""Where a `Crash` or an `AppendFailure` strikes: before or after the work."""

_POINTS: Final[tuple[Point, ...]] = ("before", "after")


def _name(value: object, field: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(
            f"{field}={value!r} (type={type(value).__name__}) is not a {what} "
            "name; pass a non-empty str"
        )
    return value


def _count(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(
            f"{field}={value!r} (type={type(value).__name__}) is not a position; "
            "pass an int, 1 or more (1 is the first)"
        )
    return value


def _point(value: object) -> Point:
    if value not in _POINTS:
        raise InvalidArgumentError(
            f"point={value!r} is not a point; pass 'before' or 'after'"
        )
    return value


def _seconds(value: object, field: str) -> float:
    return to_nanoseconds(value, name=field) / NANOS_PER_SECOND


def _signed_seconds(value: object, field: str) -> float:
    if isinstance(value, timedelta) and value < timedelta(0):
        return -_seconds(-value, field)
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not math.isnan(value)
        and value < 0
    ):
        return -_seconds(-value, field)
    try:
        return _seconds(value, field)
    except InvalidDurationError:
        raise InvalidDurationError(
            f"{field}={value!r} (type={type(value).__name__}) is not a signed "
            "duration; pass seconds (negative to go back) or a timedelta"
        ) from None


def _sender(value: object) -> str | None:
    return None if value is None else _name(value, "sender", "process")


class _FaultText:
    """The text form shared by every fault: ``kind(field=value, ...)``."""

    __slots__ = ()

    kind: ClassVar[str]

    def to_text(self) -> str:
        """The stable text form, as in ``crash(process='db', message=2)``.

        Fields at their default are left out.
        """
        parts = []
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if field.default is not dataclasses.MISSING and value == field.default:
                continue
            parts.append(f"{field.name}={value!r}")
        return f"{self.kind}({', '.join(parts)})"

    def __str__(self) -> str:
        return self.to_text()


@final
@dataclass(frozen=True, slots=True)
class Crash(_FaultText):
    """Process ``process`` crashes at its ``message``-th message (1 is the first).

    Messages are counted per process name across restarts, duplicates
    included. With ``point="before"`` the handler never sees the message;
    with ``point="after"`` it ran (its effects stand) and the process crashes
    before taking the next one: an ask it has not answered fails. Either way
    the process crashes with `InjectedCrash` and its supervisor reacts as to
    any crash.
    """

    kind: ClassVar[str] = "crash"

    process: str
    message: int
    point: Point = "before"

    def __post_init__(self) -> None:
        _name(self.process, "process", "process")
        _count(self.message, "message")
        _point(self.point)


@final
@dataclass(frozen=True, slots=True)
class Drop(_FaultText):
    """The ``message``-th message sent to ``to`` (from ``sender``, if given) is lost.

    The sender cannot tell: `ProcessRef.send` returns True, and an ask waits
    for its timeout.
    """

    kind: ClassVar[str] = "drop"

    to: str
    message: int
    sender: str | None = None

    def __post_init__(self) -> None:
        _name(self.to, "to", "process")
        _count(self.message, "message")
        _sender(self.sender)


@final
@dataclass(frozen=True, slots=True)
class Duplicate(_FaultText):
    """The ``message``-th message sent to ``to`` (from ``sender``) arrives twice.

    Both copies are queued at once. A duplicated ask is answered once: the
    second answer finds nobody waiting.
    """

    kind: ClassVar[str] = "duplicate"

    to: str
    message: int
    sender: str | None = None

    def __post_init__(self) -> None:
        _name(self.to, "to", "process")
        _count(self.message, "message")
        _sender(self.sender)


@final
@dataclass(frozen=True, slots=True)
class Delay(_FaultText):
    """The ``message``-th message sent to ``to`` (from ``sender``) arrives late.

    It is queued ``by`` seconds of the clock after it was sent, so messages
    sent after it may overtake it. ``by`` is seconds or a `timedelta`, stored
    as seconds.
    """

    kind: ClassVar[str] = "delay"

    to: str
    message: int
    by: float
    sender: str | None = None

    def __post_init__(self) -> None:
        _name(self.to, "to", "process")
        _count(self.message, "message")
        object.__setattr__(self, "by", _seconds(self.by, "by"))
        _sender(self.sender)


@final
@dataclass(frozen=True, slots=True)
class WallJump(_FaultText):
    """The wall clock jumps ``by`` seconds when monotonic time reaches ``at``.

    ``by`` is negative to go back (an NTP correction); monotonic time does not
    move. Both are seconds or `timedelta` values, stored as seconds.
    """

    kind: ClassVar[str] = "wall_jump"

    at: float
    by: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _seconds(self.at, "at"))
        object.__setattr__(self, "by", _signed_seconds(self.by, "by"))


@final
@dataclass(frozen=True, slots=True)
class AppendFailure(_FaultText):
    """The ``append``-th append to journal ``journal`` raises `InjectedAppendError`.

    Appends are counted per journal name (an ``extend`` is one append). With
    ``point="before"`` nothing is written; with ``point="after"`` the entries
    are stored and then the append raises, as when a commit succeeds but its
    acknowledgement is lost (the journal's subscribers are not called for
    them).
    """

    kind: ClassVar[str] = "append_failure"

    journal: str
    append: int
    point: Point = "before"

    def __post_init__(self) -> None:
        _name(self.journal, "journal", "journal")
        _count(self.append, "append")
        _point(self.point)


Fault: TypeAlias = Crash | Drop | Duplicate | Delay | WallJump | AppendFailure
"""Any one fault a `FaultPlan` can hold."""

FAULT_TYPES: Final[tuple[type[Fault], ...]] = (
    Crash,
    Drop,
    Duplicate,
    Delay,
    WallJump,
    AppendFailure,
)
"""Every fault type, in the order a plan lists them."""

_BY_KIND: Final[dict[str, type[Fault]]] = {kind.kind: kind for kind in FAULT_TYPES}


def _sort_key(fault: Fault) -> tuple[Any, ...]:
    key: list[tuple[int, float, str]] = []
    for field in dataclasses.fields(fault):
        value = getattr(fault, field.name)
        if value is None:
            key.append((0, 0.0, ""))
        elif isinstance(value, str):
            key.append((2, 0.0, value))
        else:
            key.append((1, float(value), ""))
    return (FAULT_TYPES.index(type(fault)), tuple(key))


@final
@dataclass(frozen=True, slots=True, init=False)
class FaultPlan:
    """The faults of one run: ``FaultPlan(Crash("db", 2), Drop("api", 1))``.

    The faults are kept once each, in a canonical order (by kind, then by
    their fields), so two plans holding the same faults are equal and print
    the same. When two faults match the same message, the first in this
    order applies. ``FaultPlan()`` injects nothing.
    """

    faults: tuple[Fault, ...]
    """The faults, in canonical order."""

    def __init__(self, *faults: Fault) -> None:
        for index, fault in enumerate(faults):
            if not isinstance(fault, FAULT_TYPES):
                raise InvalidArgumentError(
                    f"faults[{index}]={fault!r} (type={type(fault).__name__}) is not "
                    "a fault; pass Crash, Drop, Duplicate, Delay, WallJump or "
                    "AppendFailure records"
                )
        object.__setattr__(self, "faults", tuple(sorted(set(faults), key=_sort_key)))

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """Read a plan back from its text form (`to_text`).

        ``"none"`` and the empty string are the empty plan.
        """
        if not isinstance(text, str):
            raise InvalidArgumentError(
                f"text={text!r} (type={type(text).__name__}) is not a fault plan's "
                "text; pass a str such as \"crash(process='db', message=2)\""
            )
        stripped = text.strip()
        if stripped in ("", "none"):
            return cls()
        try:
            tree = ast.parse(stripped, mode="exec")
        except SyntaxError as error:
            raise InvalidArgumentError(
                f"text={text!r} is not a fault plan: {error.msg}; write faults as "
                "kind(field=value, ...) separated by '; '"
            ) from None
        return cls(*(_parse_fault(statement, text) for statement in tree.body))

    def to_text(self) -> str:
        """The stable text form: the faults' own, joined by ``"; "``; ``"none"``."""
        if not self.faults:
            return "none"
        return "; ".join(fault.to_text() for fault in self.faults)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"FaultPlan({', '.join(repr(fault) for fault in self.faults)})"

    def __len__(self) -> int:
        return len(self.faults)

    def __iter__(self) -> Iterator[Fault]:
        return iter(self.faults)

    def __bool__(self) -> bool:
        return bool(self.faults)


def _parse_fault(statement: ast.stmt, text: str) -> Fault:
    if not (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
    ):
        raise InvalidArgumentError(
            f"text={text!r} is not a fault plan: "
            f"{ast.unparse(statement)!r} is not a fault; write kind(field=value, ...)"
        )
    call = statement.value
    assert isinstance(call.func, ast.Name)
    kind = _BY_KIND.get(call.func.id)
    if kind is None:
        raise InvalidArgumentError(
            f"text={text!r} is not a fault plan: {call.func.id!r} is not a fault "
            f"kind; known kinds: {', '.join(_BY_KIND)}"
        )
    if any(keyword.arg is None for keyword in call.keywords):
        raise InvalidArgumentError(
            f"text={text!r} is not a fault plan: {ast.unparse(call)!r} unpacks "
            "arguments; write each field as field=value"
        )
    try:
        args = [ast.literal_eval(arg) for arg in call.args]
        kwargs = {
            str(keyword.arg): ast.literal_eval(keyword.value)
            for keyword in call.keywords
        }
    except ValueError:
        raise InvalidArgumentError(
            f"text={text!r} is not a fault plan: {ast.unparse(call)!r} has a value "
            "that is not a literal (a str, a number or None)"
        ) from None
    try:
        return kind(*args, **kwargs)
    except TypeError as error:
        raise InvalidArgumentError(
            f"text={text!r} is not a fault plan: {ast.unparse(call)!r}: {error}"
        ) from None
