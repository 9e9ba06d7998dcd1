"""A saga: steps that each have an undo, run in order, undone in reverse on failure.

A saga spans services that share no transaction: reserve stock, charge a
card, book a courier. Each `Step` has an ``action`` and, when the action
leaves something to undo, a ``compensation``. `Saga.run` runs the actions in
order; when one fails (after its own retries and within its own timeout), it
runs the compensations of the steps that completed, last completed first,
and the saga ends compensated instead of half done.

Every action and compensation runs as an `phyxius.effect.Effect` whose
context holds ``saga_id``, so code three calls down, the log records it
writes (through `phyxius.effect.ContextLogFilter`) and the processes it
starts all know which saga they serve. Timeouts, retry back-off and the
journal's timestamps follow the journal's clock, so under a `ControlledClock`
a saga whose courier is slow runs in no real time.

Each step is journaled as it ends, the action's result included. That makes
a saga recoverable: a saga whose coordinator crashed (or was cancelled)
part-way has a ``saga.started`` entry and no ending, and `Saga.recover`,
called when the service starts again, compensates what it completed from the
journaled results. Two consequences for the steps:

* results go through the journal's codec (JSON by default): a compensation
  receives the result as read back (a tuple comes back as a list), in a
  recovery and in a normal run alike;
* a compensation may run twice for one step (the coordinator may crash after
  compensating but before journaling it), so it must be idempotent.

A compensation that still fails after ``compensation_retry`` leaves the saga
stuck: a ``saga.stuck`` entry, a `CompensationFailedError`, and a later
`Saga.recover` that tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, final

from phyxius import (
    Duration,
    Entry,
    InvalidArgumentError,
    Journal,
    RetryPolicy,
    run_effect,
    to_nanoseconds,
)
from phyxius.effect import Context, Effect, effect

__all__ = ["CompensationFailedError", "Saga", "SagaOutcome", "Step"]

log = logging.getLogger("examples.patterns.saga")

Action = Callable[[Mapping[str, Any]], Awaitable[Any]]
"""A step's work: ``action(data)`` returns the step's result."""

Compensation = Callable[[Mapping[str, Any], Any], Awaitable[object]]
"""A step's undo: ``compensation(data, result)``."""

DEFAULT_COMPENSATION_RETRY = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=5)
"""Compensations are retried harder than actions: a saga must not stay half done."""


def _undo(
    compensation: Compensation, data: Mapping[str, Any], result: Any
) -> Effect[object]:
    """A compensation as an effect, so it can be retried on the saga's clock."""
    return effect(lambda env: compensation(data, result))


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


@final
@dataclass(frozen=True, slots=True)
class Step:
    """One step of a saga: its ``action`` and the ``compensation`` that undoes it.

    ``timeout`` bounds each attempt of the action and ``retry`` retries it,
    both on the saga's clock. A step whose action leaves nothing to undo has
    no compensation.
    """

    name: str
    action: Action
    compensation: Compensation | None = None
    timeout: Duration | None = None
    retry: RetryPolicy | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidArgumentError(
                f"Step(name={self.name!r}): name must be a non-empty str"
            )
        for what in ("action", "compensation"):
            value = getattr(self, what)
            if not callable(value) and not (what == "compensation" and value is None):
                raise InvalidArgumentError(
                    f"Step {self.name!r}: {what}={value!r} is not callable; pass an "
                    "async function"
                )
        if self.timeout is not None:
            to_nanoseconds(self.timeout, name="timeout")
        if self.retry is not None and not isinstance(self.retry, RetryPolicy):
            raise InvalidArgumentError(
                f"Step {self.name!r}: retry={self.retry!r} is not a RetryPolicy"
            )

    def attempt(self, data: Mapping[str, Any]) -> Effect[Any]:
        """The action as an effect, with the step's timeout and retries."""
        work: Effect[Any] = effect(lambda env: self.action(data))
        if self.timeout is not None:
            work = work.timeout(self.timeout)
        if self.retry is not None:
            work = work.retry(self.retry)
        return work


@final
@dataclass(frozen=True, slots=True)
class SagaOutcome:
    """How a saga ended: ``completed``, or ``compensated`` after ``failed_step``.

    ``results`` maps each completed step to its journaled result;
    ``compensated`` names the steps undone, in the order they were undone.
    A saga finished by `Saga.recover` has no ``failed_step`` and no ``error``.
    """

    saga_id: str
    status: Literal["completed", "compensated"]
    results: Mapping[str, Any] = field(default_factory=dict)
    failed_step: str | None = None
    error: Exception | None = None
    compensated: tuple[str, ...] = ()


class CompensationFailedError(RuntimeError):
    """A compensation failed after its retries: the saga is stuck half done."""

    def __init__(self, message: str, *, saga_id: str, step: str) -> None:
        super().__init__(message)
        self.saga_id = saga_id
        self.step = step


@dataclass
class _Progress:
    """One saga instance as the journal tells it, for `Saga.recover`."""

    data: Mapping[str, Any]
    completed: list[tuple[str, Any]] = field(default_factory=list)
    compensated: list[str] = field(default_factory=list)
    finished: bool = False


@final
class Saga:
    """A named sequence of steps, run and compensated as one; see the module."""

    def __init__(
        self,
        name: str,
        steps: Sequence[Step],
        *,
        compensation_retry: RetryPolicy = DEFAULT_COMPENSATION_RETRY,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"name={name!r}: a saga needs a non-empty name")
        steps = tuple(steps)
        if not steps or not all(isinstance(step, Step) for step in steps):
            raise InvalidArgumentError(
                f"steps={steps!r}: a saga needs one Step or more, and only Steps"
            )
        names = [step.name for step in steps]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidArgumentError(
                f"steps: the names {repeated!r} are used twice; the journal tells "
                "steps apart by name, so give each its own"
            )
        if not isinstance(compensation_retry, RetryPolicy):
            raise InvalidArgumentError(
                f"compensation_retry={compensation_retry!r} is not a RetryPolicy"
            )
        self.name = name
        self.steps = steps
        self.compensation_retry = compensation_retry
        self._by_name = {step.name: step for step in steps}

    # README: saga run start
    async def run(
        self, saga_id: str, data: Mapping[str, Any], *, journal: Journal
    ) -> SagaOutcome:
        """Run the steps in order; on a failure, undo the completed ones.

        Runs on the journal's clock, with ``saga_id`` in the effect context.
        Raises `CompensationFailedError` when an undo fails for good.
        """
        self._check_run(saga_id, data, journal)

        async def forward(context: Context) -> SagaOutcome:
            self._record(journal, "saga.started", saga_id, data=dict(data))
            done: list[tuple[str, Any]] = []
            for step in self.steps:
                try:
                    result = await step.attempt(data)
                except Exception as error:
                    return await self._roll_back(
                        journal, saga_id, data, done, step, error
                    )
                entry = self._record(
                    journal,
                    "saga.step_completed",
                    saga_id,
                    step=step.name,
                    result=result,
                )
                done.append((step.name, entry.data["result"]))  # as journaled
            self._record(journal, "saga.completed", saga_id)
            return SagaOutcome(saga_id, "completed", dict(done))

        result = await run_effect(
            forward, clock=journal.clock, context={"saga_id": saga_id}
        )
        return result.unwrap()

    # README: saga run end

    async def _roll_back(
        self,
        journal: Journal,
        saga_id: str,
        data: Mapping[str, Any],
        done: Sequence[tuple[str, Any]],
        failed: Step,
        error: Exception,
    ) -> SagaOutcome:
        """Journal the failure of ``failed``, then undo ``done``."""
        self._record(
            journal,
            "saga.step_failed",
            saga_id,
            step=failed.name,
            error=_describe(error),
        )
        undone = await self._compensate(journal, saga_id, data, done)
        self._record(journal, "saga.compensated", saga_id, step=failed.name)
        return SagaOutcome(
            saga_id, "compensated", dict(done), failed.name, error, undone
        )

    async def _compensate(
        self,
        journal: Journal,
        saga_id: str,
        data: Mapping[str, Any],
        done: Sequence[tuple[str, Any]],
    ) -> tuple[str, ...]:
        """Undo ``done`` last first, journaling each; raise if one fails for good."""
        undone: list[str] = []
        for name, result in reversed(done):
            compensation = self._by_name[name].compensation
            if compensation is None:
                continue
            try:
                await _undo(compensation, data, result).retry(self.compensation_retry)
            except Exception as error:
                self._record(
                    journal, "saga.stuck", saga_id, step=name, error=_describe(error)
                )
                raise CompensationFailedError(
                    f"saga {self.name!r} ({saga_id}) is stuck: compensating step "
                    f"{name!r} failed ({_describe(error)}); fix the "
                    "cause, then run Saga.recover to finish compensating",
                    saga_id=saga_id,
                    step=name,
                ) from error
            self._record(journal, "saga.step_compensated", saga_id, step=name)
            undone.append(name)
        return tuple(undone)

    # README: saga recover start
    async def recover(self, journal: Journal) -> list[SagaOutcome]:
        """Compensate every saga of this name that the journal shows unfinished.

        Call it when the service starts, before it runs new sagas: a saga
        still running elsewhere on this journal would be compensated too.
        """
        if not isinstance(journal, Journal):
            raise InvalidArgumentError(
                f"journal={journal!r} (type={type(journal).__name__}) is not a Journal"
            )
        return [
            await self._finish(journal, saga_id, progress)
            for saga_id, progress in self._unfinished(journal).items()
        ]

    # README: saga recover end

    async def _finish(
        self, journal: Journal, saga_id: str, progress: _Progress
    ) -> SagaOutcome:
        """Compensate what an unfinished saga completed and did not undo yet."""
        left = [(n, r) for n, r in progress.completed if n not in progress.compensated]

        async def backward(context: Context) -> SagaOutcome:
            undone = await self._compensate(journal, saga_id, progress.data, left)
            self._record(journal, "saga.compensated", saga_id, step=None)
            return SagaOutcome(
                saga_id, "compensated", dict(progress.completed), compensated=undone
            )

        result = await run_effect(
            backward, clock=journal.clock, context={"saga_id": saga_id}
        )
        return result.unwrap()

    def _unfinished(self, journal: Journal) -> dict[str, _Progress]:
        sagas: dict[str, _Progress] = {}
        for entry in journal:
            event = entry.data
            if not isinstance(event, Mapping) or event.get("saga") != self.name:
                continue
            saga_id = event["saga_id"]
            match event["type"]:
                case "saga.started":
                    sagas[saga_id] = _Progress(event["data"])
                case "saga.step_completed":
                    sagas[saga_id].completed.append((event["step"], event["result"]))
                case "saga.step_compensated":
                    sagas[saga_id].compensated.append(event["step"])
                case "saga.completed" | "saga.compensated":
                    sagas[saga_id].finished = True
        return {saga_id: p for saga_id, p in sagas.items() if not p.finished}

    def _record(self, journal: Journal, type: str, saga_id: str, **data: Any) -> Entry:
        """Journal one step of a saga, and log it (with its saga id, by context)."""
        entry = journal.append(
            {"type": type, "saga": self.name, "saga_id": saga_id, **data}
        )
        level = (
            logging.WARNING
            if type in ("saga.step_failed", "saga.stuck")
            else logging.INFO
        )
        log.log(level, "%s %s", type, " ".join(f"{k}={v!r}" for k, v in data.items()))
        return entry

    def _check_run(self, saga_id: object, data: object, journal: object) -> None:
        if not isinstance(saga_id, str) or not saga_id:
            raise InvalidArgumentError(
                f"saga_id={saga_id!r}: pass a non-empty str that names this run, "
                "such as 'checkout-17'"
            )
        if not isinstance(data, Mapping):
            raise InvalidArgumentError(
                f"data={data!r} (type={type(data).__name__}) is not a mapping; pass "
                "the saga's input as a dict"
            )
        if not isinstance(journal, Journal):
            raise InvalidArgumentError(
                f"journal={journal!r} (type={type(journal).__name__}) is not a Journal"
            )
