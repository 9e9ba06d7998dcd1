"""Operations and their transformation: examples, bad input, and the OT properties.

The properties are the ones collaboration rests on. `compose` must equal
applying one operation after the other. `transform` must satisfy TP1: for
two operations made concurrently on one text, applying either one and then
the other transformed against it gives the same text (and the same combined
operation). `transform_index` must move a caret as if it were a character
inserted at it.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examples.realtime_collaboration import (
    Component,
    Operation,
    OperationError,
    transform,
    transform_index,
)

# A few letters make coincidences (equal inserts, equal neighbours) likely.
LETTERS = "abcxyz"


@st.composite
def operations(draw: st.DrawFn, length: int) -> Operation:
    """Any operation on a text of ``length`` characters, through the list form."""
    parts: list[Component] = []
    remaining = length
    while True:
        if draw(st.integers(0, 3)) == 0:
            parts.append(draw(st.text(LETTERS, min_size=1, max_size=4)))
        if remaining == 0:
            break
        count = draw(st.integers(1, remaining))
        parts.append(count if draw(st.booleans()) else -count)
        remaining -= count
    return Operation.from_json(parts)


texts = st.text(LETTERS, max_size=12)


@st.composite
def concurrent(draw: st.DrawFn) -> tuple[str, Operation, Operation]:
    """A text and two operations made on it at the same time."""
    text = draw(texts)
    return text, draw(operations(len(text))), draw(operations(len(text)))


@st.composite
def consecutive(draw: st.DrawFn) -> tuple[str, Operation, Operation]:
    """A text, an operation on it, and an operation on the text that one leaves."""
    text = draw(texts)
    first = draw(operations(len(text)))
    return text, first, draw(operations(first.target_length))


# -- the list form ----------------------------------------------------------------


def test_an_operation_walks_the_whole_text() -> None:
    operation = Operation.from_json([3, "abc", -2, 5])

    assert operation.base_length == 10
    assert operation.target_length == 11
    assert operation.apply("0123456789") == "012abc56789"
    assert operation.to_json() == [3, "abc", -2, 5]


def test_the_list_form_is_read_into_the_canonical_form() -> None:
    assert Operation.from_json([1, 1, "a", "b", -1, -1]) == Operation((2, "ab", -2))
    # Deleting then inserting at one place is the same edit as the other way round.
    assert Operation.from_json([-2, "x", 1]) == Operation(("x", -2, 1))
    assert Operation.from_json([-1, "x", -1]) == Operation(("x", -2))
    assert Operation.from_json([]) == Operation.identity(0)


def test_the_builders_make_inserts_and_deletes_of_a_whole_text() -> None:
    assert Operation.insert(2, "xy", length=5) == Operation((2, "xy", 3))
    assert Operation.insert(0, "", length=3) == Operation.identity(3)
    assert Operation.delete(1, 3, length=5) == Operation((1, -3, 1))
    assert Operation.delete(0, 2, length=2) == Operation((-2,))
    assert Operation.identity(4).is_noop
    assert not Operation.delete(0, 1, length=1).is_noop


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ((0,), r"^components\[0\]=0 \(type=int\) is not a component; use a positive"),
        (("",), r"^components\[0\]='' \(type=str\) is not a component"),
        ((True,), r"^components\[0\]=True \(type=bool\) is not a component"),
        ((1.5,), r"^components\[0\]=1\.5 \(type=float\) is not a component"),
        ((1, 2), r"^components\[1\] continues the retain before it; merge them"),
        (("a", "b"), r"^components\[1\] continues the insert before it"),
        ((-1, "x"), r"^components\[1\] inserts right after a delete; put the insert"),
    ],
)
def test_a_malformed_operation_is_refused(
    components: tuple[Component, ...], message: str
) -> None:
    with pytest.raises(OperationError, match=message):
        Operation(components)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", r"^op='abc' \(type=str\) is not a list; send a list such as"),
        ({"retain": 1}, r"^op=\{'retain': 1\} \(type=dict\) is not a list"),
        ([1, 0], r"^op\[1\]=0 \(type=int\) is not a component; use a positive int"),
        ([""], r"^op\[0\]='' \(type=str\) is not a component"),
        ([None], r"^op\[0\]=None \(type=NoneType\) is not a component"),
        ([False], r"^op\[0\]=False \(type=bool\) is not a component"),
        ("x" * 100, r"^op='x{56}\.\.\. \(type=str\) is not a list"),
    ],
)
def test_a_malformed_list_form_is_refused(value: object, message: str) -> None:
    with pytest.raises(OperationError, match=message):
        Operation.from_json(value)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Operation.insert(4, "x", length=3),
            r"^index=4 \(type=int\) is not a position in a text of 3 characters; "
            r"pass an int from 0 to 3$",
        ),
        (
            lambda: Operation.insert(-1, "x", length=3),
            r"^index=-1 \(type=int\) is not a position in a text of 3 characters",
        ),
        (
            lambda: Operation.insert(0, 5, length=3),  # type: ignore[arg-type]
            r"^text=5 \(type=int\) is not a str; pass the characters to insert$",
        ),
        (
            lambda: Operation.delete(2, 2, length=3),
            r"^index=2 \+ count=2 passes the end of a text of 3 characters; "
            r"delete at most 1 from there$",
        ),
        (
            lambda: Operation.delete(0, -1, length=3),
            r"^count=-1 \(type=int\) is not a count; pass an int, zero or more$",
        ),
        (
            lambda: Operation.identity(-2),
            r"^length=-2 \(type=int\) is not a count; pass an int, zero or more$",
        ),
        (
            lambda: Operation.identity(2.0),  # type: ignore[arg-type]
            r"^length=2\.0 \(type=float\) is not a count",
        ),
    ],
)
def test_a_builder_refuses_what_does_not_fit(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(OperationError, match=message):
        build()


def test_an_operation_refuses_a_text_of_another_length() -> None:
    with pytest.raises(
        OperationError,
        match=r"^the operation applies to a text of 3 characters, not 2; transform "
        r"it against the edits it has not seen$",
    ):
        Operation.identity(3).apply("ab")


def test_compose_and_transform_refuse_operations_that_do_not_meet() -> None:
    with pytest.raises(
        OperationError,
        match=r"^cannot compose: the first operation leaves 3 characters and the "
        r"second applies to 2$",
    ):
        Operation.identity(3).compose(Operation.identity(2))
    with pytest.raises(
        OperationError,
        match=r"^cannot transform: the operations apply to texts of 3 and 2 "
        r"characters; both must be based on the same revision$",
    ):
        transform(Operation.identity(3), Operation.identity(2))


# -- transformation, by example ---------------------------------------------------


def test_inserts_at_one_place_keep_the_first_operations_text_first() -> None:
    ada = Operation.insert(1, "AA", length=3)
    bob = Operation.insert(1, "BB", length=3)

    ada2, bob2 = transform(ada, bob)

    assert bob2.apply(ada.apply("xyz")) == "xAABByz"
    assert ada2.apply(bob.apply("xyz")) == "xAABByz"


def test_characters_deleted_by_both_are_deleted_once() -> None:
    ada = Operation.delete(1, 3, length=6)  # "bcd" of "abcdef"
    bob = Operation.delete(2, 3, length=6)  # "cde"

    ada2, bob2 = transform(ada, bob)

    assert ada2 == Operation((1, -1, 1))  # only the "b" is left for ada
    assert bob2 == Operation((1, -1, 1))  # only the "e" for bob
    assert bob2.apply(ada.apply("abcdef")) == "af"


def test_text_inserted_inside_a_deleted_range_survives() -> None:
    ada = Operation.delete(1, 4, length=6)  # "bcde" of "abcdef"
    bob = Operation.insert(3, "XY", length=6)  # between "c" and "d"

    ada2, bob2 = transform(ada, bob)

    assert ada2.apply(bob.apply("abcdef")) == "aXYf"
    assert bob2.apply(ada.apply("abcdef")) == "aXYf"


def test_a_caret_moves_past_text_inserted_and_deleted_before_it() -> None:
    insert = Operation.insert(2, "xyz", length=6)
    delete = Operation.delete(1, 3, length=6)

    assert transform_index(1, insert) == 1
    assert transform_index(2, insert) == 2  # someone else typed at the caret
    assert transform_index(2, insert, own=True) == 5  # typing pushes one's own
    assert transform_index(3, insert) == 6
    assert transform_index(0, delete) == 0
    assert transform_index(2, delete) == 1  # inside the range: where it was
    assert transform_index(5, delete) == 2


# -- properties -------------------------------------------------------------------


@given(texts.flatmap(lambda text: st.tuples(st.just(text), operations(len(text)))))
def test_the_list_form_round_trips_and_lengths_hold(
    case: tuple[str, Operation],
) -> None:
    text, operation = case

    assert Operation.from_json(operation.to_json()) == operation
    assert Operation(tuple(operation.to_json())) == operation
    assert len(operation.apply(text)) == operation.target_length
    if operation.is_noop:
        assert operation.apply(text) == text


@given(consecutive())
def test_compose_is_one_operation_then_the_other(
    case: tuple[str, Operation, Operation],
) -> None:
    text, first, then = case

    both = first.compose(then)

    assert both.apply(text) == then.apply(first.apply(text))
    assert both.base_length == first.base_length
    assert both.target_length == then.target_length


@given(concurrent())
def test_transform_satisfies_tp1(case: tuple[str, Operation, Operation]) -> None:
    text, ada, bob = case

    ada2, bob2 = transform(ada, bob)

    # Each transformed operation applies after the other one ...
    assert ada2.base_length == bob.target_length
    assert bob2.base_length == ada.target_length
    # ... and both orders reach the same text, through the same edit.
    assert bob2.apply(ada.apply(text)) == ada2.apply(bob.apply(text))
    assert ada.compose(bob2) == bob.compose(ada2)


def deleted(operation: Operation) -> set[int]:
    """The positions of the base text that ``operation`` deletes."""
    gone: set[int] = set()
    position = 0
    for part in operation.components:
        if isinstance(part, str):
            continue
        if part < 0:
            gone.update(range(position, position - part))
        position += abs(part)
    return gone


def recoloured(operation: Operation, table: dict[int, int]) -> Operation:
    """``operation`` with its inserted text translated by ``table``."""
    return Operation.from_json(
        [p.translate(table) if isinstance(p, str) else p for p in operation.components]
    )


UPPER = str.maketrans(LETTERS, LETTERS.upper())
DIGITS = str.maketrans(LETTERS, "012345")


@given(concurrent())
def test_the_merged_text_keeps_both_inserts_and_loses_both_deletes(
    case: tuple[str, Operation, Operation],
) -> None:
    text, ada, bob = case
    # Ada types capitals and bob digits, so the merged text shows who wrote
    # each character; the original text is all lower case.
    ada, bob = recoloured(ada, UPPER), recoloured(bob, DIGITS)

    _, bob2 = transform(ada, bob)
    merged = bob2.apply(ada.apply(text))

    def inserted(operation: Operation) -> str:
        return "".join(p for p in operation.components if isinstance(p, str))

    assert "".join(filter(str.isupper, merged)) == inserted(ada)
    assert "".join(filter(str.isdigit, merged)) == inserted(bob)
    gone = deleted(ada) | deleted(bob)
    survivors = "".join(c for i, c in enumerate(text) if i not in gone)
    assert "".join(filter(str.islower, merged)) == survivors


@given(concurrent())
def test_transform_against_a_no_op_changes_nothing(
    case: tuple[str, Operation, Operation],
) -> None:
    text, ada, _ = case
    nothing = Operation.identity(len(text))

    assert transform(ada, nothing) == (ada, Operation.identity(ada.target_length))
    assert transform(nothing, ada) == (Operation.identity(ada.target_length), ada)


@given(concurrent(), st.data())
def test_a_caret_moves_like_a_character_inserted_at_it(
    case: tuple[str, Operation, Operation], data: st.DataObject
) -> None:
    text, operation, _ = case
    caret = data.draw(st.integers(0, len(text)), label="caret")
    marker = Operation.insert(caret, "|", length=len(text))

    # A caret is a one-character insert: someone else's text at the caret goes
    # after it (the caret's insert goes first), one's own goes before it.
    others, _ = transform(marker, operation)
    _, own = transform(operation, marker)

    assert transform_index(caret, operation) == others.apply(
        operation.apply(text)
    ).index("|")
    assert transform_index(caret, operation, own=True) == own.apply(
        operation.apply(text)
    ).index("|")
