"""Text operations and their operational transformation.

An `Operation` walks the whole document once, left to right, as a sequence of
components:

* a positive ``int`` *retains* that many characters (keeps them, moves on);
* a ``str`` *inserts* that text at the current position;
* a negative ``int`` *deletes* that many characters.

So ``[3, "abc", -2, 5]`` keeps 3 characters, inserts ``"abc"``, deletes 2 and
keeps the last 5: it applies to a document of exactly 10 characters (its
`base_length`) and leaves one of 11 (its `target_length`). Naming the whole
document makes an operation self-checking: applied to a text of another
length, it fails instead of corrupting the text. The list form is also the
wire and journal format (`Operation.to_json`, `Operation.from_json`).

Three functions make collaboration work:

* `Operation.apply` applies an operation to a text.
* `Operation.compose` merges two consecutive operations into one, so a client
  can buffer several local edits while it waits for the server.
* `transform` takes two operations made concurrently on the same text and
  returns versions of each that apply *after* the other, so that both orders
  give the same text (the property known as TP1). When both insert at the
  same position, the first argument's text goes first.

Operations are kept in a canonical form (no empty components, neighbours of
one kind merged, an insert before an adjacent delete), so two operations that
do the same thing compare equal.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias, final

__all__ = ["Component", "Operation", "OperationError", "transform", "transform_index"]

Component: TypeAlias = int | str
"""One step of an operation: retain (``n > 0``), insert (``str``), delete (``-n``)."""


class OperationError(ValueError):
    """An operation that is malformed, or does not fit the text it meets."""


@final
class _Builder:
    """Collects components into canonical form."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[Component] = []

    def retain(self, count: int) -> None:
        if count <= 0:
            return
        parts = self.parts
        last = parts[-1] if parts else None
        if isinstance(last, int) and last > 0:
            parts[-1] = last + count
        else:
            parts.append(count)

    def insert(self, text: str) -> None:
        if not text:
            return
        parts = self.parts
        last = parts[-1] if parts else None
        # Canonical order: an insert goes before an adjacent delete (deleting
        # then inserting at one place and the other way round are the same
        # edit), so equal edits have equal components.
        if isinstance(last, int) and last < 0:
            before = parts[-2] if len(parts) > 1 else None
            if isinstance(before, str):
                parts[-2] = before + text
            else:
                parts.insert(len(parts) - 1, text)
        elif isinstance(last, str):
            parts[-1] = last + text
        else:
            parts.append(text)

    def delete(self, count: int) -> None:
        if count <= 0:
            return
        parts = self.parts
        last = parts[-1] if parts else None
        if isinstance(last, int) and last < 0:
            parts[-1] = last - count
        else:
            parts.append(-count)

    def build(self) -> Operation:
        return Operation(tuple(self.parts))


@final
class _Reader:
    """Walks an operation's components, handing them out whole or in pieces.

    Invariant: `head` is the unconsumed rest of the current component (None
    once every component is consumed); retains stay positive and deletes
    negative as they shrink.
    """

    __slots__ = ("_rest", "head")

    def __init__(self, components: Sequence[Component]) -> None:
        self._rest: Iterator[Component] = iter(components)
        self.head: Component | None = next(self._rest, None)

    def advance(self) -> None:
        self.head = next(self._rest, None)

    def take(self, count: int) -> None:
        """Consume ``count`` characters of a retain or delete head."""
        head = self.head
        assert isinstance(head, int)
        rest = head - count if head > 0 else head + count
        if rest == 0:
            self.advance()
        else:
            self.head = rest


def _kind(component: Component | None) -> str | None:
    if component is None:
        return None
    if isinstance(component, str):
        return "insert"
    return "retain" if component > 0 else "delete"


def _span(component: Component) -> int:
    """Characters of the base text a retain or delete covers."""
    assert isinstance(component, int)
    return component if component > 0 else -component


@final
@dataclass(frozen=True, slots=True)
class Operation:
    """One edit of a whole text: retains, inserts and deletes, left to right.

    Build one with `insert`, `delete`, `identity` or `from_json`; combine with
    `compose` and `transform`. Equal edits compare equal.
    """

    components: tuple[Component, ...]
    """The canonical components (see the module docstring)."""

    base_length: int = field(init=False)
    """The length of the text this operation applies to."""

    target_length: int = field(init=False)
    """The length of the text it leaves."""

    def __post_init__(self) -> None:
        base = target = 0
        previous: Component | None = None
        for position, part in enumerate(self.components):
            if isinstance(part, str) and part:
                target += len(part)
            elif type(part) is int and part != 0:
                base += abs(part)
                target += max(part, 0)
            else:
                raise OperationError(
                    f"components[{position}]={_short(part)} "
                    f"(type={type(part).__name__}) is not a component; use a "
                    "positive int to retain, a negative int to delete and a "
                    "non-empty str to insert"
                )
            if previous is not None and _kind(previous) == _kind(part):
                raise OperationError(
                    f"components[{position}] continues the {_kind(part)} before "
                    "it; merge them, or build with Operation.from_json, which does"
                )
            if _kind(previous) == "delete" and _kind(part) == "insert":
                raise OperationError(
                    f"components[{position}] inserts right after a delete; put "
                    "the insert first, or build with Operation.from_json, which does"
                )
            previous = part
        object.__setattr__(self, "base_length", base)
        object.__setattr__(self, "target_length", target)

    # -- building --------------------------------------------------------------

    @classmethod
    def identity(cls, length: int) -> Operation:
        """The operation that changes nothing in a text of ``length`` characters."""
        _check_count(length, "length")
        builder = _Builder()
        builder.retain(length)
        return builder.build()

    @classmethod
    def insert(cls, index: int, text: str, *, length: int) -> Operation:
        """Insert ``text`` before character ``index`` of a text of ``length``."""
        _check_count(length, "length")
        _check_index(index, length)
        if not isinstance(text, str):
            raise OperationError(
                f"text={text!r} (type={type(text).__name__}) is not a str; "
                "pass the characters to insert"
            )
        builder = _Builder()
        builder.retain(index)
        builder.insert(text)
        builder.retain(length - index)
        return builder.build()

    @classmethod
    def delete(cls, index: int, count: int, *, length: int) -> Operation:
        """Delete ``count`` characters from ``index`` of a text of ``length``."""
        _check_count(length, "length")
        _check_index(index, length)
        _check_count(count, "count")
        if index + count > length:
            raise OperationError(
                f"index={index} + count={count} passes the end of a text of "
                f"{length} characters; delete at most {length - index} from there"
            )
        builder = _Builder()
        builder.retain(index)
        builder.delete(count)
        builder.retain(length - index - count)
        return builder.build()

    @classmethod
    def from_json(cls, value: object) -> Operation:
        """Read the list form: ints (retain ``n``, delete ``-n``) and strings.

        Raises:
            OperationError: ``value`` is not a list of non-zero ints and
                non-empty strings.
        """
        if not isinstance(value, list | tuple):
            raise OperationError(
                f"op={_short(value)} (type={type(value).__name__}) is not a list; "
                'send a list such as [3, "abc", -2, 5]'
            )
        builder = _Builder()
        for position, part in enumerate(value):
            if isinstance(part, str) and part:
                builder.insert(part)
            elif type(part) is int and part > 0:
                builder.retain(part)
            elif type(part) is int and part < 0:
                builder.delete(-part)
            else:
                raise OperationError(
                    f"op[{position}]={_short(part)} (type={type(part).__name__}) is "
                    "not a component; use a positive int to retain, a negative "
                    "int to delete and a non-empty str to insert"
                )
        return builder.build()

    def to_json(self) -> list[Component]:
        """The list form, as `from_json` reads it."""
        return list(self.components)

    # -- reading ---------------------------------------------------------------

    @property
    def is_noop(self) -> bool:
        """True when applying it leaves every text as it was."""
        return all(isinstance(part, int) and part > 0 for part in self.components)

    def apply(self, text: str) -> str:
        """The text after this operation.

        Raises:
            OperationError: ``text`` is not `base_length` characters long.
        """
        if len(text) != self.base_length:
            raise OperationError(
                f"the operation applies to a text of {self.base_length} characters, "
                f"not {len(text)}; transform it against the edits it has not seen"
            )
        pieces: list[str] = []
        position = 0
        for part in self.components:
            if isinstance(part, str):
                pieces.append(part)
            elif part > 0:
                pieces.append(text[position : position + part])
                position += part
            else:
                position -= part
        return "".join(pieces)

    # -- combining -------------------------------------------------------------

    def compose(self, then: Operation) -> Operation:
        """One operation doing ``self`` and then ``then``.

        Raises:
            OperationError: ``then`` does not apply to the text ``self`` leaves.
        """
        if self.target_length != then.base_length:
            raise OperationError(
                f"cannot compose: the first operation leaves {self.target_length} "
                f"characters and the second applies to {then.base_length}"
            )
        builder = _Builder()
        first, second = _Reader(self.components), _Reader(then.components)
        while first.head is not None or second.head is not None:
            a, b = first.head, second.head
            # What the first deletes never reaches the second.
            if isinstance(a, int) and a < 0:
                builder.delete(-a)
                first.advance()
                continue
            # What the second inserts does not come from the first.
            if isinstance(b, str):
                builder.insert(b)
                second.advance()
                continue
            assert a is not None  # the lengths were checked
            assert b is not None
            if isinstance(a, str):
                count = min(len(a), _span(b))
                if b > 0:
                    builder.insert(a[:count])
                # else: inserted by the first, deleted by the second: gone.
                rest = a[count:]
                if rest:
                    first.head = rest
                else:
                    first.advance()
                second.take(count)
                continue
            count = min(a, _span(b))  # a is a retain here
            if b > 0:
                builder.retain(count)
            else:
                builder.delete(count)
            first.take(count)
            second.take(count)
        return builder.build()

    def __repr__(self) -> str:
        return f"Operation({list(self.components)!r})"


def transform(first: Operation, second: Operation) -> tuple[Operation, Operation]:
    """Transform two concurrent operations on one text against each other.

    Returns ``(first2, second2)``: ``first2`` applies after ``second`` and
    ``second2`` after ``first``, and both orders leave the same text::

        first.compose(second2) == second.compose(first2)

    Where both insert at the same position, ``first``'s text ends up first.
    Deleting the same characters twice deletes them once.

    Raises:
        OperationError: the two do not apply to a text of the same length.
    """
    if first.base_length != second.base_length:
        raise OperationError(
            f"cannot transform: the operations apply to texts of "
            f"{first.base_length} and {second.base_length} characters; both must "
            "be based on the same revision"
        )
    first_out, second_out = _Builder(), _Builder()
    a_reader, b_reader = _Reader(first.components), _Reader(second.components)
    while a_reader.head is not None or b_reader.head is not None:
        a, b = a_reader.head, b_reader.head
        # Inserts come first, the first operation's before the second's; the
        # other side keeps the inserted text by retaining over it.
        if isinstance(a, str):
            first_out.insert(a)
            second_out.retain(len(a))
            a_reader.advance()
            continue
        if isinstance(b, str):
            first_out.retain(len(b))
            second_out.insert(b)
            b_reader.advance()
            continue
        assert a is not None  # the lengths were checked
        assert b is not None
        count = min(_span(a), _span(b))
        if a > 0 and b > 0:
            first_out.retain(count)
            second_out.retain(count)
        elif a < 0 and b > 0:
            first_out.delete(count)  # the second kept them; the first deletes
        elif a > 0 and b < 0:
            second_out.delete(count)
        # else both deleted these characters: neither needs to any more.
        a_reader.take(count)
        b_reader.take(count)
    return first_out.build(), second_out.build()


def transform_index(index: int, operation: Operation, *, own: bool = False) -> int:
    """Where position ``index`` of the old text is after ``operation``.

    A cursor moves right past text inserted before it and left past text
    deleted before it; inside a deleted range it lands where the range was.
    Text inserted exactly at the cursor goes after it, unless the edit is the
    cursor owner's own (``own=True``): typing pushes one's own cursor along.
    """
    position = 0  # how far into the old text the walk has come
    moved = index
    for part in operation.components:
        if isinstance(part, str):
            if position < index or (position == index and own):
                moved += len(part)
            continue
        if part < 0 and position < index:
            moved -= min(-part, index - position)
        position += abs(part)
        if position > index:
            break  # nothing further along can move the cursor
    return moved


_SHORT: Final = 60


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


def _check_count(value: object, name: str) -> None:
    if type(value) is not int or value < 0:
        raise OperationError(
            f"{name}={_short(value)} (type={type(value).__name__}) is not a count; "
            "pass an int, zero or more"
        )


def _check_index(index: object, length: int) -> None:
    if type(index) is not int or not 0 <= index <= length:
        raise OperationError(
            f"index={_short(index)} (type={type(index).__name__}) is not a position "
            f"in a text of {length} characters; pass an int from 0 to {length}"
        )
