"""Carrying out a fault plan: the process interceptor and the journal store wrapper.

`FaultInjector` counts what the plan's faults count (the messages each process
takes, the messages sent to each process and along each link, the appends to
each journal) and strikes when a count reaches a fault's number. It is the
`phyxius.process.Interceptor` of a world's supervisors; `FaultyStore` wraps
the store of a world's journals and asks it before every append.

Every fault that strikes becomes an `Injection`, handed to the callback the
injector was given (a `World` journals them).
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, final

from phyxius._errors import InvalidArgumentError
from phyxius._time import Instant
from phyxius.clock import Clock
from phyxius.journal import (
    Appended,
    Codec,
    Draft,
    ForwardingStore,
    Retention,
    Store,
)
from phyxius.process import Delivery
from phyxius.process._intercept import HandleStage
from phyxius.testing._errors import InjectedAppendError, InjectedCrash
from phyxius.testing._faults import (
    AppendFailure,
    Crash,
    Delay,
    Drop,
    Duplicate,
    Fault,
    FaultPlan,
)

__all__ = ["FaultInjector", "FaultyStore", "Injection"]

_message_repr: Final = reprlib.Repr()
_message_repr.maxstring = 80
_message_repr.maxother = 80

_SendFault = Drop | Duplicate | Delay


def describe(value: object) -> str:
    """A short ``repr`` of a message, safe against a failing ``__repr__``."""
    try:
        return _message_repr.repr(value)
    except Exception:  # a broken __repr__ must not hide the injection
        return f"<{type(value).__name__} with a failing __repr__>"


@final
@dataclass(frozen=True, slots=True)
class Injection:
    """One fault that struck: which, when, and what it hit."""

    fault: Fault
    """The fault of the plan."""

    at: Instant
    """The clock's reading when it struck."""

    detail: str
    """What it hit, in words: the message, the sender, the journal."""

    def __str__(self) -> str:
        return f"{self.fault} at mono {self.at.mono_ns / 1e9:g}s: {self.detail}"


@final
class FaultInjector:
    """Strikes the faults of a `FaultPlan` as the counts they name are reached.

    ``clock`` times delayed deliveries; ``on_inject`` (optional) receives an
    `Injection` for every fault that strikes. Counts start at zero and keep
    going when the plan is replaced with `use`.
    """

    __slots__ = (
        "_appends",
        "_clock",
        "_crashes",
        "_current",
        "_failures",
        "_handled",
        "_on_inject",
        "_order",
        "_plan",
        "_sends",
        "_sent_on_link",
        "_sent_to",
    )

    def __init__(
        self,
        plan: FaultPlan,
        *,
        clock: Clock,
        on_inject: Callable[[Injection], object] | None = None,
    ) -> None:
        self._clock = clock
        self._on_inject = on_inject
        self._handled: dict[str, int] = {}
        self._current: dict[str, int] = {}
        self._sent_to: dict[str, int] = {}
        self._sent_on_link: dict[tuple[str, str], int] = {}
        self._appends: dict[str, int] = {}
        self._plan = FaultPlan()
        self._order: dict[Fault, int] = {}
        self._crashes: dict[tuple[str, int, str], Crash] = {}
        self._sends: dict[tuple[str, str | None, int], _SendFault] = {}
        self._failures: dict[tuple[str, int], AppendFailure] = {}
        self.use(plan)

    @property
    def plan(self) -> FaultPlan:
        """The plan being carried out."""
        return self._plan

    def use(self, plan: FaultPlan) -> None:
        """Carry out ``plan`` from now on (wall jumps are the world's to schedule)."""
        if not isinstance(plan, FaultPlan):
            raise InvalidArgumentError(
                f"plan={plan!r} (type={type(plan).__name__}) is not a FaultPlan; "
                "pass FaultPlan(...) or FaultPlan.parse(text)"
            )
        self._plan = plan
        self._order = {fault: index for index, fault in enumerate(plan.faults)}
        self._crashes = {}
        self._sends = {}
        self._failures = {}
        # setdefault: of two faults on one count, the first in the plan's
        # canonical order applies.
        for fault in plan.faults:
            if isinstance(fault, Crash):
                key = (fault.process, fault.message, fault.point)
                self._crashes.setdefault(key, fault)
            elif isinstance(fault, Drop | Duplicate | Delay):
                self._sends.setdefault((fault.to, fault.sender, fault.message), fault)
            elif isinstance(fault, AppendFailure):
                self._failures.setdefault((fault.journal, fault.append), fault)

    def counts(self) -> dict[str, dict[str, int]]:
        """What has been counted so far: messages handled, sent, appends."""
        return {
            "handled": dict(self._handled),
            "sent": dict(self._sent_to),
            "appends": dict(self._appends),
        }

    # -- the process interceptor ---------------------------------------------------

    def on_send(self, delivery: Delivery, deliver: Callable[[], bool]) -> bool:
        """Count the message; drop, duplicate or delay it when the plan says so."""
        to = delivery.recipient
        sender = delivery.sender
        count = self._sent_to.get(to, 0) + 1
        self._sent_to[to] = count
        fault = self._sends.get((to, None, count))
        if sender is not None:
            link = (sender, to)
            on_link = self._sent_on_link.get(link, 0) + 1
            self._sent_on_link[link] = on_link
            other = self._sends.get((to, sender, on_link))
            if other is not None and (
                fault is None or self._order[other] < self._order[fault]
            ):
                fault = other
        if fault is None:
            return deliver()

        kind = "ask" if delivery.ask else "message"
        source = "outside" if sender is None else repr(sender)
        detail = f"{kind} {describe(delivery.message)} from {source} to {to!r}"
        if isinstance(fault, Drop):
            self._record(fault, f"dropped {detail}")
            return True
        if isinstance(fault, Duplicate):
            accepted = deliver()
            self._record(fault, f"duplicated {detail}")
            try:
                deliver()
            except Exception:
                # The copy found the mailbox full or closed: only the
                # original counts, as on a network.
                pass
            return accepted
        self._record(fault, f"delayed {detail} by {fault.by:g}s")
        self._clock.call_later(fault.by, deliver)
        return True

    def on_handle(self, process: str, message: object, stage: HandleStage) -> None:
        """Count the message a process takes; crash it when the plan says so."""
        if stage == "before":
            count = self._handled.get(process, 0) + 1
            self._handled[process] = count
            self._current[process] = count
        else:
            count = self._current.get(process, 0)
        fault = self._crashes.get((process, count, stage))
        if fault is None:
            return
        self._record(fault, f"crashed {process!r} {stage} handling {describe(message)}")
        raise InjectedCrash(
            f"{fault.to_text()}: process {process!r} crashed {stage} handling its "
            f"message {count} ({describe(message)}), as the fault plan says",
            fault,
        )

    # -- the journal store ---------------------------------------------------------

    def before_append(self, journal: str) -> AppendFailure | None:
        """Count an append to ``journal``; the fault that strikes it, if any."""
        count = self._appends.get(journal, 0) + 1
        self._appends[journal] = count
        fault = self._failures.get((journal, count))
        if fault is not None:
            what = "before writing" if fault.point == "before" else "after writing"
            self._record(fault, f"failed append {count} to {journal!r} {what}")
        return fault

    def _record(self, fault: Fault, detail: str) -> None:
        if self._on_inject is not None:
            self._on_inject(Injection(fault, self._clock.now(), detail))


def _append_error(fault: AppendFailure, journal: str) -> InjectedAppendError:
    if fault.point == "before":
        outcome = "nothing was written"
    else:
        outcome = "the entries were stored, but the caller is told it failed"
    return InjectedAppendError(
        f"{fault.to_text()}: append {fault.append} to journal {journal!r} failed "
        f"as the fault plan says; {outcome}",
        fault,
    )


@final
class FaultyStore(ForwardingStore):
    """A `phyxius.journal.Store` that delegates to another and fails on plan.

    Every append is counted per journal by the `FaultInjector`; an
    `AppendFailure` for that count raises `InjectedAppendError`, before the
    append reaches the wrapped store or after it returned. Everything else,
    reads included, goes to the wrapped store unchanged.
    """

    __slots__ = ("_injector",)

    def __init__(self, store: Store, injector: FaultInjector) -> None:
        super().__init__(store)
        self._injector = injector

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        """Append through the wrapped store, unless the plan fails this append."""
        fault = self._injector.before_append(journal)
        if fault is not None and fault.point == "before":
            raise _append_error(fault, journal)
        appended = super().append(
            journal,
            drafts,
            codec=codec,
            expected_sequence=expected_sequence,
            retention=retention,
        )
        if fault is not None:
            raise _append_error(fault, journal)
        return appended
