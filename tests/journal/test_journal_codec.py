"""The JSON codec's supported types, round trips and refusals; pickle by name only."""

from __future__ import annotations

import enum
import math
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phyxius import Event, Instant, InvalidArgumentError
from phyxius.journal import (
    JSON_CODEC,
    DecodeError,
    EncodeError,
    JsonCodec,
    PickleCodec,
    create_journal,
)
from phyxius.journal._codec import preparer_for, resolve_codec

AT = Instant(wall_ns=1_704_067_200_123_456_789, mono_ns=42)


def round_trip(value: Any) -> Any:
    """What a durable store gives back: decode(encode(prepare(value)))."""
    return JSON_CODEC.decode(JSON_CODEC.encode(JSON_CODEC.prepare(value)))


class Color(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


# -- supported types ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "text",
        "",
        "\u2028 line separator \r\n and \x00 and \ud800 a lone surrogate",
        0,
        -(2**80),
        True,
        False,
        None,
        1.5,
        -0.0,
        1e308,
        [1, [2, [3]]],
        {"nested": {"list": [1, "a", None], "empty": {}}},
        datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        datetime(2024, 5, 6, 7, 8, 9),
        datetime(2024, 5, 6, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        date(2024, 2, 29),
        Decimal("1.10"),
        Decimal("-0E+3"),
        UUID("12345678-1234-5678-1234-567812345678"),
        b"\x00\xffbytes",
        AT,
        Event("order.placed", AT, {"items": [1, 2], "when": date(2024, 1, 1)}),
    ],
    ids=repr,
)
def test_supported_values_read_back_equal_and_of_the_same_type(value: Any) -> None:
    prepared = JSON_CODEC.prepare(value)
    back = round_trip(value)

    assert back == value
    assert type(back) is type(value)
    assert prepared == back
    assert type(prepared) is type(back)


def test_tuples_read_back_as_lists_in_memory_and_in_stores_alike() -> None:
    value = {"pair": (1, (2, 3))}

    assert JSON_CODEC.prepare(value) == {"pair": [1, [2, 3]]}
    assert round_trip(value) == {"pair": [1, [2, 3]]}


def test_mappings_read_back_as_dicts_keeping_key_order() -> None:
    value = MappingProxyType(OrderedDict([("b", 1), ("a", 2)]))

    back = round_trip(value)

    assert type(back) is dict
    assert list(back) == ["b", "a"]


def test_enum_members_are_stored_as_their_plain_values() -> None:
    back = round_trip({"color": Color.RED, "level": Level.HIGH, Color.RED: 1})

    assert back == {"color": "red", "level": 3, "red": 1}
    assert type(back["color"]) is str
    assert type(back["level"]) is int


def test_a_zoneinfo_datetime_reads_back_with_its_fixed_offset() -> None:
    paris = datetime(2024, 7, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))

    back = round_trip(paris)

    assert back == paris
    assert back.tzinfo == timezone(timedelta(hours=2))
    assert JSON_CODEC.prepare(paris).tzinfo == back.tzinfo


def test_bytearray_and_memoryview_read_back_as_bytes() -> None:
    assert round_trip([bytearray(b"ab"), memoryview(b"cd")]) == [b"ab", b"cd"]


def test_an_event_keeps_its_type_time_and_data() -> None:
    event = Event("process.restarted", AT, MappingProxyType({"attempt": 2}))

    back = round_trip(event)

    assert isinstance(back, Event)
    assert (back.type, back.at, back.data) == ("process.restarted", AT, {"attempt": 2})


def test_prepare_copies_containers_so_later_mutation_changes_nothing() -> None:
    items = [1, 2]
    data = {"items": items}

    prepared = JSON_CODEC.prepare(data)
    items.append(3)

    assert prepared == {"items": [1, 2]}


def test_stored_json_is_readable_text() -> None:
    payload = JSON_CODEC.encode(JSON_CODEC.prepare({"when": date(2024, 1, 2), "n": 1}))

    assert payload == (b'{"when":{"__phyxius__":"date","value":"2024-01-02"},"n":1}')


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"items": [1, 2, {3}]},
            r'^data\["items"\]\[2\]=\{3\} \(type=set\) cannot be encoded by the '
            r"JSON codec, which stores str, int, .*; convert it first \(a set to "
            r"a sorted list\), or pass codec=\.\.\. for a codec that supports it$",
        ),
        (
            {"a": {1: "x"}},
            r'^data\["a"\] has the key 1 \(type=int\); JSON object keys must be '
            r"str \(JSON would turn it into a string\), so convert the keys to str$",
        ),
        (
            [0.5, float("nan")],
            r"^data\[1\]=nan \(type=float\) is not JSON and is unequal to itself; "
            r"store None or a string instead$",
        ),
        (
            {"x": float("-inf")},
            r'^data\["x"\]=-inf \(type=float\) is not JSON',
        ),
        (
            {"x": Decimal("NaN")},
            r'^data\["x"\]=Decimal\(\'NaN\'\) \(type=Decimal\) is not finite; '
            r"store None or a string instead$",
        ),
        (
            {"meta": {"__phyxius__": 1}},
            r'^data\["meta"\] has the key "__phyxius__", which the JSON codec '
            r"reserves for tagged values; rename the key$",
        ),
        (
            {"point": complex(1, 2)},
            r'^data\["point"\]=\(1\+2j\) \(type=complex\) cannot be encoded by the '
            r"JSON codec, .*; store it as \[real, imag\], or pass codec=",
        ),
        (
            Event("t", AT, {"bad": object()}),
            r'^data\.data\["bad"\]=<object object at .*> \(type=object\) cannot',
        ),
        (
            Event(5, AT, {}),  # type: ignore[arg-type]
            r"^data\.type=5 \(type=int\) cannot be encoded: an Event's type must "
            r"be a str$",
        ),
    ],
)
def test_unencodable_data_is_refused_naming_its_path_and_type(
    value: Any, message: str
) -> None:
    with pytest.raises(EncodeError, match=message):
        JSON_CODEC.prepare(value)


def test_a_dataclass_gets_a_hint_to_convert_it() -> None:
    @dataclass
    class Point:
        x: int

    with pytest.raises(
        EncodeError,
        match=r"^data\[\"p\"\]=\S+Point\S* \(type=\S+\.Point\) cannot be encoded "
        r"by the JSON codec, which stores [^;]+; convert it first "
        r"\(dataclasses\.asdict\(value\)\), or pass codec=\.\.\. for a codec that "
        r"supports it$",
    ):
        JSON_CODEC.prepare({"p": Point(1)})


def test_long_values_are_cut_in_messages() -> None:
    with pytest.raises(EncodeError, match=r"^data=\{'x+\.\.\. \(type=set\)"):
        JSON_CODEC.prepare({"x" * 500})


def test_a_cycle_or_extreme_nesting_is_refused_clearly() -> None:
    looped: list[Any] = []
    looped.append(looped)

    with pytest.raises(EncodeError, match=r"^data is nested too deeply .* cycle$"):
        JSON_CODEC.prepare(looped)


def test_encode_error_is_a_value_error_and_a_type_error() -> None:
    message = r"^data=\{1, 2\} \(type=set\) cannot be encoded by the JSON codec"

    with pytest.raises(ValueError, match=message):
        JSON_CODEC.prepare({1, 2})
    with pytest.raises(TypeError, match=message):
        JSON_CODEC.prepare({1, 2})


def test_an_unprepared_value_is_refused_by_encode() -> None:
    with pytest.raises(
        EncodeError, match=r"^value was not prepared .*JsonCodec\.prepare first$"
    ):
        JSON_CODEC.encode({"s": {1}})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", r"^stored payload is not JSON written by the JSON codec: "),
        (
            b'{"__phyxius__":"spaceship","value":1}',
            r"^unknown tagged value 'spaceship' in stored JSON; .* upgrade phyxius",
        ),
        (
            b'{"__phyxius__":"date","value":"not a date"}',
            r"^malformed tagged 'date' value in stored JSON: ",
        ),
        (b"\xff\xfe", r"^stored payload is not JSON written by the JSON codec: "),
    ],
)
def test_payloads_that_do_not_decode_raise_decode_error(
    payload: bytes, message: str
) -> None:
    with pytest.raises(DecodeError, match=message):
        JSON_CODEC.decode(payload)


# -- properties ---------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary(max_size=20)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=st.none() | st.just(UTC))
    | st.dates()
    | st.uuids(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text().filter(lambda key: key != "__phyxius__"), children, max_size=4
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_prepare_predicts_exactly_what_a_store_reads_back(value: Any) -> None:
    prepared = JSON_CODEC.prepare(value)

    back = round_trip(value)

    assert back == prepared
    assert repr(back) == repr(prepared)


@given(st.recursive(st.integers() | st.text(), lambda c: st.tuples(c, c), max_leaves=8))
def test_nested_tuples_read_back_as_nested_lists(value: Any) -> None:
    def listify(item: Any) -> Any:
        return [listify(x) for x in item] if isinstance(item, tuple) else item

    assert round_trip(value) == listify(value)


# -- choosing codecs ------------------------------------------------------------------


def test_the_default_codec_is_json_and_pickle_is_used_only_by_name() -> None:
    assert resolve_codec(None) is JSON_CODEC
    assert resolve_codec("json") is JSON_CODEC
    assert isinstance(resolve_codec("pickle"), PickleCodec)
    assert create_journal().codec is JSON_CODEC


def test_the_pickle_codec_stores_any_picklable_value() -> None:
    codec = PickleCodec()
    value = {"set": {1, 2}, "tuple": (1, 2), 3: complex(1, 1)}

    assert codec.decode(codec.encode(codec.prepare(value))) == value


def test_the_pickle_codec_refuses_unpicklable_values_naming_them() -> None:
    with pytest.raises(EncodeError, match=r"^data=<function .* cannot be pickled: "):
        PickleCodec().prepare(lambda: None)


def test_the_pickle_codec_refuses_a_bad_protocol() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^protocol=99 \(type=int\) is not"):
        PickleCodec(protocol=99)


def test_an_unpicklable_payload_raises_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"^stored payload could not be unpickled"):
        PickleCodec().decode(b"not a pickle")


@pytest.mark.parametrize("codec", ["yaml", 5, object()])
def test_an_unknown_codec_is_refused(codec: object) -> None:
    with pytest.raises(
        InvalidArgumentError, match=r'^codec=.* is not a codec; pass "json", "pickle"'
    ):
        resolve_codec(codec)


class UpperCodec:
    """A codec without `prepare`: the journal round-trips through it instead."""

    name = "upper"

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise TypeError("strings only")
        return value.upper().encode()

    def decode(self, payload: bytes) -> Any:
        return payload.decode()


def test_a_codec_without_prepare_is_checked_by_a_round_trip() -> None:
    prepare = preparer_for(UpperCodec())

    assert prepare("abc", "data") == "ABC"
    with pytest.raises(
        EncodeError,
        match=r"^data=1 \(type=int\) cannot be encoded by codec 'upper': "
        r"TypeError: strings only$",
    ):
        prepare(1, "data")


def test_a_codec_that_cannot_read_back_what_it_wrote_is_refused_before_writing() -> (
    None
):
    class WriteOnly(UpperCodec):
        name = "write-only"

        def decode(self, payload: bytes) -> Any:
            raise ValueError("no decoder")

    journal = create_journal(codec=WriteOnly())

    with pytest.raises(
        EncodeError,
        match=r"^data was encoded by codec 'write-only' but does not decode again: "
        r"ValueError: no decoder$",
    ):
        journal.append("abc")

    assert journal.next_sequence == 0


def test_a_codec_needs_a_name() -> None:
    class Nameless(UpperCodec):
        name = ""

    with pytest.raises(InvalidArgumentError, match=r"^codec=.* has name=''; a codec"):
        resolve_codec(Nameless())


def test_json_codec_values_are_equal_and_hashable() -> None:
    assert JsonCodec() == JSON_CODEC
    assert hash(JsonCodec()) == hash(JSON_CODEC)
    assert repr(JSON_CODEC) == "JsonCodec()"
    assert math.isfinite(round_trip(1.0))
    assert pickle.loads(pickle.dumps(1)) == 1
