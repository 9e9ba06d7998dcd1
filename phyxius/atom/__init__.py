"""Atom: one value, atomic updates, versions, history and watchers.

An `Atom` holds one value. It changes only through `Atom.update`,
`Atom.set` and `Atom.compare_and_set`; each committed change moves the
version up by one, records a snapshot in the history ring and is reported to
the watchers as a `Change`. A write equal to the current value changes
nothing and reports nothing.

Thread-safety contract (real OS threads and asyncio tasks alike):

* No write is ever lost. A write holds the atom's lock while it computes and
  commits, so the update function runs exactly once per write and sees the
  value it replaces. Of several concurrent `Atom.compare_and_set` calls from
  the same expected value, exactly one succeeds.
* `Atom.get` and `Atom.version` never block. `Atom.snapshot` gives value,
  version and commit time from one commit.
* Every watcher sees every change committed while it is registered, exactly
  once, in strictly increasing version order, one call at a time, whichever
  thread wrote.
* Watchers run synchronously after the commit, with no lock held, so they may
  write to other atoms, in cycles too, without deadlock. When a write
  returns, its watchers have run, unless the atom was already reporting
  earlier changes (on another thread, or further up the same call stack);
  then the write returns once committed and the reporting under way delivers
  its change right after the earlier ones. Code on one thread, asyncio code
  included, always finds its watchers done.
* A cycle of watchers settles once a derived write equals the value it would
  replace. Across threads, derive from the other atom's current value rather
  than from ``change.new``: a change can reach a watcher after its atom has
  moved on.
* A write to the atom from inside one of its own watchers, or from inside its
  own update function, ``equals`` or validator, raises `AtomReentrancyError`
  and changes nothing; the change being reported stands.
* A watcher that raises undoes nothing and stops no other watcher: the error
  is emitted as an ``atom.error`` event and logged to ``phyxius.atom``, and
  under the pytest plugin it fails the test.

The update function, ``equals`` and the validator run under the lock: they
must be quick, must not block, must not write to the same atom, and should
not write to other atoms either (two update functions writing to each other's
atoms from different threads can deadlock; derive state in a watcher
instead). Values should be immutable: an update function that mutates the
value in place and returns it makes a write that ``equals`` sees as no change.
"""

from phyxius.atom._atom import Atom
from phyxius.atom._errors import (
    AtomReentrancyError,
    AtomTimeoutError,
    AtomValidationError,
)
from phyxius.atom._factory import create_atom
from phyxius.atom._notify import WatchHandle
from phyxius.atom._options import OPTION_NAMES
from phyxius.atom._records import AtomSnapshot, Change

__all__ = [
    "OPTION_NAMES",
    "Atom",
    "AtomReentrancyError",
    "AtomSnapshot",
    "AtomTimeoutError",
    "AtomValidationError",
    "Change",
    "WatchHandle",
    "create_atom",
]
