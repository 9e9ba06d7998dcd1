"""Two planted concurrency bugs that plain tests miss and a simulation finds.

* `checkout` (``_payments``): a payment client retries a failed ask, and the
  service charges before it answers, so an answer lost after the charge (a
  crash, a failing ledger, a duplicated or late message) charges twice.
  Found by exploring fault plans; fixed by an idempotent handler
  (`checkout_fixed`).
* `read_while_writing` (``_cache``): a read-through cache filled by a reader
  after the writer invalidated it keeps a stale value for good. Found by
  exploring schedules alone; fixed by versioned invalidation
  (`read_while_writing_fixed`).

Their tests (``pytest examples/planted_bugs``) show both sides: the plain
tests pass, `phyxius.testing.explore` finds each bug within a few seeded
runs and `phyxius.testing.shrink` reduces it to one fault or one
reordering, and the fixed versions pass the same exploration.
"""

from examples.planted_bugs._cache import (
    DATABASE,
    ReadThroughCache,
    database_spec,
    read,
    start_database,
    write,
)
from examples.planted_bugs._payments import (
    PAYMENTS,
    Charge,
    charge_with_retry,
    charges_per_request,
    payments_spec,
    start_payments,
)
from examples.planted_bugs._scenarios import (
    CHECKOUT_FAULTS,
    LEDGER,
    REQUESTS,
    checkout,
    checkout_fixed,
    no_double_charge,
    read_while_writing,
    read_while_writing_fixed,
)

__all__ = [
    "CHECKOUT_FAULTS",
    "DATABASE",
    "LEDGER",
    "PAYMENTS",
    "REQUESTS",
    "Charge",
    "ReadThroughCache",
    "charge_with_retry",
    "charges_per_request",
    "checkout",
    "checkout_fixed",
    "database_spec",
    "no_double_charge",
    "payments_spec",
    "read",
    "read_while_writing",
    "read_while_writing_fixed",
    "start_database",
    "start_payments",
    "write",
]
