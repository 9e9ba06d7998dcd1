"""Scenarios shared by the simulation tests: small programs with many interleavings."""

from __future__ import annotations

import asyncio
from typing import Any

from phyxius.process import ProcessRef, ProcessSpec, Tools
from phyxius.testing import World

NODES = ("alpha", "beta", "gamma")


def relay_spec(world: World, name: str) -> ProcessSpec:
    """A process that journals each token it gets and passes it on while it lives."""

    def handle(hops: int, message: tuple[str, int], tools: Tools) -> int:
        token, ttl = message
        world.journal("relay").append({"node": name, "token": token, "ttl": ttl})
        if ttl > 0:
            following = NODES[(NODES.index(name) + 1) % len(NODES)]
            ref = world.supervisor.find(following)
            assert isinstance(ref, ProcessRef)
            ref.send((token, ttl - 1))
        if token.startswith("ask"):
            tools.reply(hops + 1)
        return hops + 1

    return ProcessSpec(init=lambda ctx: 0, handle=handle)


async def relay(world: World) -> list[Any]:
    """Three relays pass tokens round a ring; clients send and ask at once.

    Every step is journaled, so two runs with the same seed must leave
    byte-identical journals, and runs with other seeds usually do not.
    """
    refs = [
        await world.supervisor.spawn(relay_spec(world, name), name=name)
        for name in NODES
    ]

    async def client(index: int) -> Any:
        await asyncio.sleep(world.random.randint(0, 3) / 10)
        ref = refs[index % len(refs)]
        ref.send((f"send-{index}", 3))
        return await ref.ask((f"ask-{index}", 2))

    return list(await asyncio.gather(*(client(index) for index in range(6))))


def trace_steps(log: list[str]) -> Any:
    """A scenario whose tasks record each of their steps in ``log``."""

    async def steps(world: World) -> None:
        async def worker(name: str) -> None:
            for step in range(3):
                log.append(f"{name}{step}")
                await asyncio.sleep(0)

        await asyncio.gather(*(worker(name) for name in "abcd"))

    return steps


async def handoff(world: World) -> None:
    """A producer and a consumer that are right only in first-in, first-out order.

    Both start in one turn and take their second step in the next; the
    consumer expects the producer's item to be there. One reordering (either
    turn) breaks it.
    """
    box: list[str] = []

    async def producer() -> None:
        await asyncio.sleep(0)
        box.append("item")

    async def consumer() -> None:
        await asyncio.sleep(0)
        assert box, "the consumer ran before the producer"

    await asyncio.gather(producer(), consumer())
