"""An event-sourced SaaS back end: tenants, members, plans, usage, monthly invoices.

Every change to a tenant is an event in the tenant's stream, a journal in one
SQLite file; the tenant's state is a fold of its stream (`replay`), commands
are decided against that state and appended with ``expected_sequence``
(`TenantAggregate`), a supervised process per tenant is its writer and bills
it when a billing period ends (`TenantWorker`), an atom holds a read model of
every tenant (`Projection`), and an atom per tenant holds the state its
worker has (`SaasService.live`). `SaasService` puts it together.

Run it for a few seconds on the real clock with
``python -m examples.event_sourced_saas``; its tests
(``pytest examples/event_sourced_saas``) drive the same code on the plugin's
fixtures. The README's "Event-sourced SaaS" section explains the design.
"""

from examples.event_sourced_saas._billing import (
    Invoice,
    InvoiceLine,
    billing_due,
    compute_invoice,
    invoice_number,
)
from examples.event_sourced_saas._commands import (
    AddUser,
    CancelSubscription,
    ChangePlan,
    Command,
    CommandRejected,
    CreateTenant,
    InvalidCommandError,
    IssueInvoice,
    Reason,
    RecordPayment,
    RecordUsage,
    RemoveUser,
    decide,
    entry_id,
)
from examples.event_sourced_saas._gateway import (
    Charge,
    GatewayError,
    PaymentGateway,
    SandboxGateway,
)
from examples.event_sourced_saas._periods import BillingCycle, BillingPeriod, iso
from examples.event_sourced_saas._plans import (
    FREE,
    GROWTH,
    PLANS,
    SCALE,
    STARTER,
    Plan,
    format_cents,
)
from examples.event_sourced_saas._projection import (
    Directory,
    Projection,
    TenantView,
    project,
)
from examples.event_sourced_saas._service import SaasService
from examples.event_sourced_saas._state import (
    ReplayError,
    Segment,
    TenantState,
    UnpaidInvoice,
    apply,
    replay,
)
from examples.event_sourced_saas._store import (
    STREAM_PREFIX,
    Accepted,
    EventStore,
    TenantAggregate,
)
from examples.event_sourced_saas._worker import (
    BillingOptions,
    BillingTick,
    Execute,
    GetState,
    Rejected,
    TenantWorker,
    worker_name,
)

__all__ = [
    "FREE",
    "GROWTH",
    "PLANS",
    "SCALE",
    "STARTER",
    "STREAM_PREFIX",
    "Accepted",
    "AddUser",
    "BillingCycle",
    "BillingOptions",
    "BillingPeriod",
    "BillingTick",
    "CancelSubscription",
    "ChangePlan",
    "Charge",
    "Command",
    "CommandRejected",
    "CreateTenant",
    "Directory",
    "EventStore",
    "Execute",
    "GatewayError",
    "GetState",
    "InvalidCommandError",
    "Invoice",
    "InvoiceLine",
    "IssueInvoice",
    "PaymentGateway",
    "Plan",
    "Projection",
    "Reason",
    "RecordPayment",
    "RecordUsage",
    "Rejected",
    "RemoveUser",
    "ReplayError",
    "SaasService",
    "SandboxGateway",
    "Segment",
    "TenantAggregate",
    "TenantState",
    "TenantView",
    "TenantWorker",
    "UnpaidInvoice",
    "apply",
    "billing_due",
    "compute_invoice",
    "decide",
    "entry_id",
    "format_cents",
    "invoice_number",
    "iso",
    "project",
    "replay",
    "worker_name",
]
