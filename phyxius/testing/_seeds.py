"""How exploration derives the seed of each run from a stable key."""

from __future__ import annotations

import hashlib

from phyxius._errors import InvalidArgumentError

__all__ = ["derive_seed"]


def derive_seed(key: str, run: int) -> int:
    """The seed of run ``run`` (1 is the first) of the test named ``key``.

    A stable 32-bit hash of both, never 0 (which is first-in, first-out
    order): the same on every machine, every Python and every pytest-xdist
    worker. The pytest plugin's ``--phyxius-runs`` uses the test's node id as
    the key.
    """
    if not isinstance(key, str):
        raise InvalidArgumentError(
            f"key={key!r} (type={type(key).__name__}) is not a key; pass a str "
            "such as a test's node id"
        )
    if isinstance(run, bool) or not isinstance(run, int) or run < 1:
        raise InvalidArgumentError(
            f"run={run!r} (type={type(run).__name__}) is not a run number; pass "
            "an int, 1 or more"
        )
    digest = hashlib.sha256(f"{key}\n{run}".encode()).digest()
    return int.from_bytes(digest[:4], "big") or 1
