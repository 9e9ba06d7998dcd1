"""Commands, and `decide`: whether a command may happen, and as which event.

A command is a request; an event is a fact. `decide` takes a tenant's current
state and one command and returns the one event that records it, or raises
`CommandRejected` with a `Reason` when the state does not allow it. It reads
no clock and writes nothing: `_store.TenantAggregate` gives it the state and
the time, and appends the event only if nobody wrote to the stream since the
state was read (``expected_sequence``).

A malformed command (a negative quantity, an email without an ``@``) is
refused when it is built, with `InvalidCommandError`: that is the caller's
bug, not a business decision, and it never reaches a worker.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, final

from examples.event_sourced_saas._billing import billing_due, compute_invoice
from examples.event_sourced_saas._periods import iso
from examples.event_sourced_saas._plans import Plan
from examples.event_sourced_saas._state import TenantState

__all__ = [
    "AddUser",
    "CancelSubscription",
    "ChangePlan",
    "Command",
    "CommandRejected",
    "CreateTenant",
    "InvalidCommandError",
    "IssueInvoice",
    "Reason",
    "RecordPayment",
    "RecordUsage",
    "RemoveUser",
    "Role",
    "check_tenant_id",
    "decide",
    "entry_id",
]

Role: TypeAlias = Literal["owner", "admin", "member"]
ROLES: Final = ("owner", "admin", "member")

_TENANT_ID: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class InvalidCommandError(ValueError):
    """A command that is malformed whatever the state: fix the caller."""


class Reason(enum.Enum):
    """Why a well-formed command was refused."""

    TENANT_EXISTS = "tenant_exists"
    UNKNOWN_TENANT = "unknown_tenant"
    UNKNOWN_PLAN = "unknown_plan"
    SAME_PLAN = "same_plan"
    SEAT_LIMIT = "seat_limit"
    ALREADY_MEMBER = "already_member"
    NOT_A_MEMBER = "not_a_member"
    LAST_OWNER = "last_owner"
    QUOTA_EXCEEDED = "quota_exceeded"
    CANCELLED = "cancelled"
    NOT_DUE = "not_due"
    NOT_UNPAID = "not_unpaid"


class CommandRejected(Exception):
    """A well-formed command the tenant's current state does not allow.

    ``reason`` says why; nothing was written.
    """

    def __init__(self, message: str, *, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


def check_tenant_id(tenant: object) -> str:
    """Return ``tenant`` if it is a tenant id: a lowercase slug, 1 to 40 long."""
    if not isinstance(tenant, str) or not _TENANT_ID.fullmatch(tenant):
        raise InvalidCommandError(
            f"tenant={tenant!r} (type={type(tenant).__name__}) is not a tenant id; "
            "use 1 to 40 lowercase letters, digits and inner hyphens, such as "
            "'acme-corp'"
        )
    return tenant


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCommandError(
            f"{name}={value!r} (type={type(value).__name__}) must be a non-empty str"
        )


def _check_email(value: object) -> None:
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        raise InvalidCommandError(
            f"email={value!r} (type={type(value).__name__}) is not an email "
            "address such as 'ada@example.com'"
        )
    if value != value.lower():
        raise InvalidCommandError(
            f"email={value!r} has capitals; pass it lowercased, as members are "
            "compared exactly"
        )


@final
@dataclass(frozen=True, slots=True)
class CreateTenant:
    """Sign a tenant up: its display name, its plan's id and its first owner."""

    name: str
    plan: str
    owner: str

    def __post_init__(self) -> None:
        _check_text("name", self.name)
        _check_text("plan", self.plan)
        _check_email(self.owner)


@final
@dataclass(frozen=True, slots=True)
class AddUser:
    """Add a member, within the plan's seats."""

    email: str
    role: Role = "member"

    def __post_init__(self) -> None:
        _check_email(self.email)
        if self.role not in ROLES:
            raise InvalidCommandError(
                f"role={self.role!r} is not a role; use one of "
                + ", ".join(map(repr, ROLES))
            )


@final
@dataclass(frozen=True, slots=True)
class RemoveUser:
    """Remove a member; the last owner cannot be removed."""

    email: str

    def __post_init__(self) -> None:
        _check_email(self.email)


@final
@dataclass(frozen=True, slots=True)
class ChangePlan:
    """Move to another plan at once (an upgrade or a downgrade), prorated."""

    plan: str

    def __post_init__(self) -> None:
        _check_text("plan", self.plan)


@final
@dataclass(frozen=True, slots=True)
class RecordUsage:
    """Record ``quantity`` API calls, once per idempotency ``key``."""

    quantity: int
    key: str

    def __post_init__(self) -> None:
        quantity = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidCommandError(
                f"quantity={quantity!r} (type={type(quantity).__name__}) must be a "
                "whole number of calls, an int"
            )
        if quantity < 1:
            raise InvalidCommandError(f"quantity={quantity!r} must be 1 or more")
        _check_text("key", self.key)


@final
@dataclass(frozen=True, slots=True)
class CancelSubscription:
    """End the subscription at the end of the current billing period."""


@final
@dataclass(frozen=True, slots=True)
class IssueInvoice:
    """Invoice billing period ``period`` (the billing worker sends it)."""

    period: int


@final
@dataclass(frozen=True, slots=True)
class RecordPayment:
    """Record that ``invoice`` was paid, by ``charge`` (None when nothing was due)."""

    invoice: str
    charge: str | None


Command: TypeAlias = (
    CreateTenant
    | AddUser
    | RemoveUser
    | ChangePlan
    | RecordUsage
    | CancelSubscription
    | IssueInvoice
    | RecordPayment
)


def entry_id(command: Command, request_id: str) -> str:
    """The journal entry id the command's event gets.

    The journal stores an id once per stream, and `TenantAggregate` looks the
    id up before deciding, so a command retried with the same id is applied
    once. Usage is keyed by its idempotency key, billing by period and
    invoice, everything else by the request id.
    """
    if isinstance(command, RecordUsage):
        return f"usage:{command.key}"
    if isinstance(command, IssueInvoice):
        return f"invoice:{command.period}"
    if isinstance(command, RecordPayment):
        return f"payment:{command.invoice}"
    return f"request:{request_id}"


def decide(
    state: TenantState | None,
    command: Command,
    *,
    tenant: str,
    now_ns: int,
    catalogue: Mapping[str, Plan],
) -> dict[str, Any]:
    """The event that records ``command`` on ``state`` at wall time ``now_ns``.

    Raises:
        CommandRejected: the state does not allow the command.
    """
    if isinstance(command, CreateTenant):
        if state is not None:
            raise CommandRejected(
                f"tenant {tenant!r} exists already", reason=Reason.TENANT_EXISTS
            )
        plan = _plan(catalogue, command.plan)
        return {
            "type": "tenant.created",
            "tenant": tenant,
            "name": command.name,
            "owner": command.owner,
            "plan": plan.to_data(),
        }
    if state is None:
        raise CommandRejected(
            f"tenant {tenant!r} does not exist", reason=Reason.UNKNOWN_TENANT
        )

    now = state.effective_ns(now_ns)
    if isinstance(command, RecordPayment):
        return _payment(state, command)
    if isinstance(command, IssueInvoice):
        return _invoice(state, command, now)
    _check_running(state, now, command)
    if isinstance(command, AddUser):
        return _add_user(state, command)
    if isinstance(command, RemoveUser):
        return _remove_user(state, command)
    if isinstance(command, ChangePlan):
        return _change_plan(state, command, catalogue)
    if isinstance(command, RecordUsage):
        return _usage(state, command, now)
    return {"type": "subscription.cancelled"}


# -- one function per command -------------------------------------------------------


def _plan(catalogue: Mapping[str, Plan], plan_id: str) -> Plan:
    try:
        return catalogue[plan_id]
    except KeyError:
        raise CommandRejected(
            f"there is no plan {plan_id!r}; choose one of "
            + ", ".join(map(repr, catalogue)),
            reason=Reason.UNKNOWN_PLAN,
        ) from None


def _check_running(state: TenantState, now: int, command: Command) -> None:
    ends = state.cancel_at_ns
    if ends is None:
        return
    if now >= ends:
        raise CommandRejected(
            f"the subscription of {state.tenant!r} ended at {iso(ends)}",
            reason=Reason.CANCELLED,
        )
    if isinstance(command, ChangePlan | CancelSubscription):
        raise CommandRejected(
            f"the subscription of {state.tenant!r} was cancelled and ends at "
            f"{iso(ends)}",
            reason=Reason.CANCELLED,
        )


def _add_user(state: TenantState, command: AddUser) -> dict[str, Any]:
    if state.role_of(command.email) is not None:
        raise CommandRejected(
            f"{command.email} is a member of {state.tenant!r} already",
            reason=Reason.ALREADY_MEMBER,
        )
    if len(state.users) >= state.plan.seats:
        raise CommandRejected(
            f"the {state.plan.name} plan of {state.tenant!r} has {state.plan.seats} "
            "seats, all taken; remove a member or change plan",
            reason=Reason.SEAT_LIMIT,
        )
    return {"type": "user.added", "email": command.email, "role": command.role}


def _remove_user(state: TenantState, command: RemoveUser) -> dict[str, Any]:
    role = state.role_of(command.email)
    if role is None:
        raise CommandRejected(
            f"{command.email} is not a member of {state.tenant!r}",
            reason=Reason.NOT_A_MEMBER,
        )
    owners = sum(1 for _, other in state.users if other == "owner")
    if role == "owner" and owners == 1:
        raise CommandRejected(
            f"{command.email} is the last owner of {state.tenant!r}; add another "
            "owner first",
            reason=Reason.LAST_OWNER,
        )
    return {"type": "user.removed", "email": command.email}


def _change_plan(
    state: TenantState, command: ChangePlan, catalogue: Mapping[str, Plan]
) -> dict[str, Any]:
    plan = _plan(catalogue, command.plan)
    if plan.id == state.plan.id:
        raise CommandRejected(
            f"{state.tenant!r} is on the {plan.name} plan already",
            reason=Reason.SAME_PLAN,
        )
    if len(state.users) > plan.seats:
        raise CommandRejected(
            f"the {plan.name} plan has {plan.seats} seats and {state.tenant!r} has "
            f"{len(state.users)} members; remove members first",
            reason=Reason.SEAT_LIMIT,
        )
    return {"type": "plan.changed", "from": state.plan.id, "plan": plan.to_data()}


def _usage(state: TenantState, command: RecordUsage, now: int) -> dict[str, Any]:
    plan = state.plan
    if plan.capped:
        used = state.calls_in(state.cycle.period_at(now))
        if used + command.quantity > plan.included_calls:
            raise CommandRejected(
                f"the {plan.name} plan of {state.tenant!r} includes "
                f"{plan.included_calls:,} calls per period and {used:,} are used; "
                f"{command.quantity:,} more do not fit: upgrade to go on",
                reason=Reason.QUOTA_EXCEEDED,
            )
    return {
        "type": "usage.recorded",
        "metric": "api_calls",
        "quantity": command.quantity,
        "key": command.key,
    }


def _invoice(state: TenantState, command: IssueInvoice, now: int) -> dict[str, Any]:
    if command.period != state.billed or not billing_due(state, now):
        raise CommandRejected(
            f"period {command.period} of {state.tenant!r} cannot be invoiced now: "
            f"the open period is {state.open_period} and the tenant's time is "
            f"{iso(now)}",
            reason=Reason.NOT_DUE,
        )
    return {"type": "invoice.issued", "invoice": compute_invoice(state).to_data()}


def _payment(state: TenantState, command: RecordPayment) -> dict[str, Any]:
    unpaid = next((i for i in state.unpaid if i.number == command.invoice), None)
    if unpaid is None:
        raise CommandRejected(
            f"invoice {command.invoice!r} of {state.tenant!r} is not unpaid",
            reason=Reason.NOT_UNPAID,
        )
    return {
        "type": "invoice.paid",
        "invoice": unpaid.number,
        "amount": unpaid.total,
        "charge": command.charge,
    }
