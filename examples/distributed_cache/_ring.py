"""Which nodes hold which key: rendezvous (highest random weight) hashing.

Every node scores every key with a hash of the pair; the ``replicas`` nodes
with the highest scores hold the key, the first of them being its primary.
The hash is BLAKE2b, not Python's ``hash``, so placement is the same in every
process and every run. Membership is static: a crashed node keeps its keys
and gets them back when it rejoins, so no key moves while a node restarts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import final

from phyxius import InvalidArgumentError

__all__ = ["Ring"]


@final
class Ring:
    """Places each key on ``replicas`` of ``nodes``, in the same order everywhere."""

    __slots__ = ("_owners", "nodes", "replicas")

    def __init__(self, nodes: Sequence[str], replicas: int) -> None:
        if isinstance(nodes, str) or not nodes:
            raise InvalidArgumentError(
                f"nodes={nodes!r} (type={type(nodes).__name__}) names no nodes; "
                'pass a sequence of node names such as ("node-a", "node-b")'
            )
        for node in nodes:
            if not isinstance(node, str) or not node:
                raise InvalidArgumentError(
                    f"nodes={list(nodes)!r} holds {node!r} (type="
                    f"{type(node).__name__}), which is not a node name; pass "
                    "non-empty strings"
                )
        if len(set(nodes)) != len(nodes):
            raise InvalidArgumentError(
                f"nodes={list(nodes)!r} names a node twice; node names must be unique"
            )
        if (
            isinstance(replicas, bool)
            or not isinstance(replicas, int)
            or not 1 <= replicas <= len(nodes)
        ):
            raise InvalidArgumentError(
                f"replicas={replicas!r} (type={type(replicas).__name__}) is not a "
                f"replication factor for {len(nodes)} nodes; pass an int from 1 "
                f"to {len(nodes)}"
            )
        self.nodes: tuple[str, ...] = tuple(nodes)
        """Every node of the cluster, in the order given."""
        self.replicas = replicas
        """How many nodes hold each key."""
        self._owners = lru_cache(maxsize=65_536)(self._place)

    def owners(self, key: str) -> tuple[str, ...]:
        """The nodes that hold ``key``, primary first."""
        return self._owners(key)

    def holds(self, node: str, key: str) -> bool:
        """True when ``node`` is one of the replicas of ``key``."""
        return node in self._owners(key)

    def _place(self, key: str) -> tuple[str, ...]:
        ranked = sorted(self.nodes, key=lambda node: _score(node, key), reverse=True)
        return tuple(ranked[: self.replicas])

    def __repr__(self) -> str:
        return f"<Ring nodes={list(self.nodes)} replicas={self.replicas}>"


def _score(node: str, key: str) -> int:
    digest = hashlib.blake2b(
        node.encode() + b"\x00" + key.encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big")
