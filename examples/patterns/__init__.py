"""Three architecture patterns on Phyxius, as running code with tests.

* An event-sourced aggregate (`Order`): state is a fold of the journal, and
  commands are decided on fresh state and recorded conditionally.
* CQRS (`OrderDesk`): a supervised command process writes the journal, a
  supervised query process folds it into read models.
* A saga (`Saga`, and `checkout_saga` as an instance): steps with
  compensations, run as effects with the saga's id in their context and
  journaled, so an interrupted saga can be compensated later
  (`Saga.recover`).

The README's "Architecture patterns" section shows these files; a test
checks that every snippet there is what the files hold.
"""

from examples.patterns._aggregate import (
    AddItem,
    CancelOrder,
    Command,
    Line,
    OpenOrder,
    Order,
    OrderRejected,
    OrderState,
    PlaceOrder,
    RejectionReason,
    RemoveItem,
    Status,
    decide,
    evolve,
    replay,
    replay_all,
)
from examples.patterns._checkout import (
    CourierUnavailable,
    Inventory,
    OutOfStock,
    PaymentDeclined,
    Payments,
    Shipping,
    checkout_saga,
)
from examples.patterns._cqrs import (
    COMMAND_SIDE,
    QUERY_SIDE,
    CustomerOrders,
    GetOrder,
    OrderDesk,
    OrderSummary,
    Query,
    Receipt,
    Revenue,
)
from examples.patterns._saga import CompensationFailedError, Saga, SagaOutcome, Step

__all__ = [
    "COMMAND_SIDE",
    "QUERY_SIDE",
    "AddItem",
    "CancelOrder",
    "Command",
    "CompensationFailedError",
    "CourierUnavailable",
    "CustomerOrders",
    "GetOrder",
    "Inventory",
    "Line",
    "OpenOrder",
    "Order",
    "OrderDesk",
    "OrderRejected",
    "OrderState",
    "OrderSummary",
    "OutOfStock",
    "PaymentDeclined",
    "Payments",
    "PlaceOrder",
    "Query",
    "Receipt",
    "RejectionReason",
    "RemoveItem",
    "Revenue",
    "Saga",
    "SagaOutcome",
    "Shipping",
    "Status",
    "Step",
    "checkout_saga",
    "decide",
    "evolve",
    "replay",
    "replay_all",
]
