"""SortableIds: ULIDs that are unique, sort by time, and repeat under a seed."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phyxius import Instant, InvalidArgumentError
from phyxius.journal import IdGenerator, SortableIds

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
START = 1_704_067_200_000_000_000  # 2024-01-01, in ns


def at(millis: int) -> Instant:
    return Instant(wall_ns=START + millis * 1_000_000, mono_ns=millis * 1_000_000)


def decode_millis(entry_id: str) -> int:
    value = 0
    for char in entry_id[:10]:
        value = value * 32 + ALPHABET.index(char)
    return value


def test_an_id_is_a_ulid_carrying_the_wall_time_in_milliseconds() -> None:
    entry_id = SortableIds(seed=1)(at(5))

    assert len(entry_id) == 26
    assert set(entry_id) <= set(ALPHABET)
    assert decode_millis(entry_id) == START // 1_000_000 + 5


def test_ids_within_one_millisecond_count_up() -> None:
    ids = SortableIds(seed=1)
    made = [ids(at(0)) for _ in range(3000)]

    assert made == sorted(made)
    assert len(set(made)) == 3000
    assert {decode_millis(entry_id) for entry_id in made} == {START // 1_000_000}


def test_the_same_seed_gives_the_same_ids_and_another_seed_others() -> None:
    def run(seed: int) -> list[str]:
        ids = SortableIds(seed=seed)
        return [ids(at(millis)) for millis in (0, 0, 3, 3, 10)]

    assert run(42) == run(42)
    assert run(42) != run(43)


def test_ids_never_sort_backwards_when_the_wall_clock_steps_back() -> None:
    ids = SortableIds(seed=1)

    made = [ids(at(100)), ids(at(50)), ids(at(100)), ids(at(101))]

    assert made == sorted(made)
    assert len(set(made)) == 4


@given(st.lists(st.integers(min_value=-1000, max_value=10**6), min_size=1))
def test_ids_sort_in_the_order_they_were_made(millis: list[int]) -> None:
    ids = SortableIds(seed=0)

    made = [ids(at(value)) for value in millis]

    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_wall_times_before_1970_give_the_epoch_prefix() -> None:
    entry_id = SortableIds(seed=1)(Instant(wall_ns=-(10**12), mono_ns=0))

    assert entry_id.startswith("0000000000")


def test_threads_sharing_a_generator_get_unique_ids() -> None:
    ids = SortableIds()
    made: list[list[str]] = [[] for _ in range(4)]

    def work(index: int) -> None:
        for millis in range(5000):
            made[index].append(ids(at(millis // 100)))

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = [entry_id for part in made for entry_id in part]
    assert len(set(every)) == 20_000


def _id_in_child(queue: Any, ids: SortableIds) -> None:
    queue.put(ids(at(7)))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_forked_child_draws_new_random_bits() -> None:
    ids = SortableIds()
    ids(at(1))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_id_in_child, args=(queue, ids))

    child.start()
    from_child = queue.get(timeout=30)
    child.join(30)

    assert from_child != ids(at(7))


def test_a_seed_must_be_an_int() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^seed='x' \(type=str\) is not"):
        SortableIds(seed="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"^seed=True \(type=bool\)"):
        SortableIds(seed=True)


def test_sortable_ids_is_an_id_generator() -> None:
    assert isinstance(SortableIds(), IdGenerator)
    assert SortableIds(seed=3).seed == 3
    assert repr(SortableIds(seed=3)) == "SortableIds(seed=3)"
