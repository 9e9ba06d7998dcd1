"""Fault plans as data: printable, comparable, replayable, and checked."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from phyxius import InvalidArgumentError, InvalidDurationError
from phyxius.testing import (
    FAULT_KINDS,
    FAULT_TYPES,
    AppendFailure,
    Crash,
    Delay,
    Drop,
    Duplicate,
    FaultPlan,
    FaultSpace,
    WallJump,
)

EVERY_KIND = FaultPlan(
    WallJump(at=30, by=-3600),
    AppendFailure("ledger", 2, point="after"),
    Delay("db", 3, by=timedelta(milliseconds=250), sender="api"),
    Duplicate("db", 1),
    Drop("cache", 4, sender="api"),
    Crash("db", 2),
)


def test_a_plan_lists_its_faults_in_canonical_order_once_each() -> None:
    assert EVERY_KIND.faults == (
        Crash("db", 2),
        Drop("cache", 4, sender="api"),
        Duplicate("db", 1),
        Delay("db", 3, by=0.25, sender="api"),
        WallJump(at=30.0, by=-3600.0),
        AppendFailure("ledger", 2, point="after"),
    )
    assert FaultPlan(Crash("db", 1), Crash("db", 1)) == FaultPlan(Crash("db", 1))
    assert len(EVERY_KIND) == 6
    assert list(EVERY_KIND) == list(EVERY_KIND.faults)


def test_plans_with_the_same_faults_are_equal_and_hash_alike() -> None:
    shuffled = list(EVERY_KIND)
    random.Random(4).shuffle(shuffled)

    assert FaultPlan(*shuffled) == EVERY_KIND
    assert hash(FaultPlan(*shuffled)) == hash(EVERY_KIND)
    assert FaultPlan(Crash("db", 1)) != FaultPlan(Crash("db", 2))
    assert FaultPlan(Crash("db", 1)) != FaultPlan(Crash("db", 1, point="after"))


def test_a_plan_prints_as_stable_text() -> None:
    assert str(EVERY_KIND) == (
        "crash(process='db', message=2); "
        "drop(to='cache', message=4, sender='api'); "
        "duplicate(to='db', message=1); "
        "delay(to='db', message=3, by=0.25, sender='api'); "
        "wall_jump(at=30.0, by=-3600.0); "
        "append_failure(journal='ledger', append=2, point='after')"
    )
    assert str(FaultPlan()) == "none"
    assert not FaultPlan()
    assert EVERY_KIND


def test_the_text_reads_back_as_the_same_plan() -> None:
    assert FaultPlan.parse(EVERY_KIND.to_text()) == EVERY_KIND
    assert FaultPlan.parse("none") == FaultPlan()
    assert FaultPlan.parse("  ") == FaultPlan()
    assert FaultPlan.parse("crash('db', 2)\ndrop(to='x', message=1)") == FaultPlan(
        Crash("db", 2), Drop("x", 1)
    )


def test_the_repr_is_python_that_rebuilds_the_plan() -> None:
    namespace = {kind.__name__: kind for kind in FAULT_TYPES}
    namespace["FaultPlan"] = FaultPlan

    assert eval(repr(EVERY_KIND), namespace) == EVERY_KIND
    assert repr(FaultPlan()) == "FaultPlan()"
    assert repr(FaultPlan(Crash("db", 2))) == (
        "FaultPlan(Crash(process='db', message=2, point='before'))"
    )


def test_durations_are_stored_as_seconds() -> None:
    assert Delay("db", 1, by=timedelta(seconds=2)).by == 2.0
    assert WallJump(at=timedelta(minutes=1), by=timedelta(hours=-1)) == WallJump(
        60, -3600
    )
    assert WallJump(at=0, by=0.5).by == 0.5


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: Crash("", 1),
            InvalidArgumentError,
            r"^process='' \(type=str\) is not a process name; pass a non-empty str$",
        ),
        (
            lambda: Crash("db", 0),
            InvalidArgumentError,
            r"^message=0 \(type=int\) is not a position; pass an int, 1 or more "
            r"\(1 is the first\)$",
        ),
        (
            lambda: Crash("db", 1, point="during"),
            InvalidArgumentError,
            r"^point='during' is not a point; pass 'before' or 'after'$",
        ),
        (
            lambda: Drop("db", 1, sender=""),
            InvalidArgumentError,
            r"^sender='' \(type=str\) is not a process name; pass a non-empty str$",
        ),
        (
            lambda: Duplicate(None, 1),
            InvalidArgumentError,
            r"^to=None \(type=NoneType\) is not a process name; pass a non-empty "
            r"str$",
        ),
        (
            lambda: Delay("db", 1, by=-1),
            InvalidDurationError,
            r"^by=-1 ",
        ),
        (
            lambda: WallJump(at=1, by="soon"),
            InvalidDurationError,
            r"^by='soon' \(type=str\) is not a signed duration; pass seconds "
            r"\(negative to go back\) or a timedelta$",
        ),
        (
            lambda: AppendFailure("ledger", True),
            InvalidArgumentError,
            r"^append=True \(type=bool\) is not a position; pass an int, 1 or more "
            r"\(1 is the first\)$",
        ),
    ],
    ids=[
        "empty-process",
        "message-zero",
        "bad-point",
        "empty-sender",
        "no-recipient",
        "negative-delay",
        "bad-jump",
        "bool-append",
    ],
)
def test_a_bad_fault_is_refused(
    build: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        build()  # type: ignore[operator]


def test_a_plan_holds_faults_only() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^faults\[1\]='crash' \(type=str\) is not a fault; pass Crash, Drop, "
        r"Duplicate, Delay, WallJump or AppendFailure records$",
    ):
        FaultPlan(Crash("db", 1), "crash")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "crash(process='db'",
            r"^text=\"crash\(process='db'\" is not a fault plan: .*; write faults "
            r"as kind\(field=value, \.\.\.\) separated by '; '$",
        ),
        (
            "explode(process='db', message=1)",
            r"^text=.* is not a fault plan: 'explode' is not a fault kind; known "
            r"kinds: crash, drop, duplicate, delay, wall_jump, append_failure$",
        ),
        (
            "crash(process=name, message=1)",
            r"^text=.* is not a fault plan: 'crash\(process=name, message=1\)' has "
            r"a value that is not a literal \(a str, a number or None\)$",
        ),
        (
            "x = 1",
            r"^text='x = 1' is not a fault plan: 'x = 1' is not a fault; write "
            r"kind\(field=value, \.\.\.\)$",
        ),
        (
            "crash(**fields)",
            r"^text=.* is not a fault plan: 'crash\(\*\*fields\)' unpacks arguments; "
            r"write each field as field=value$",
        ),
        (
            "crash(process='db', message=1, when='now')",
            r"^text=.* is not a fault plan: .* got an unexpected keyword argument "
            r"'when'$",
        ),
        (
            "crash(process='db', message=0)",
            r"^message=0 \(type=int\) is not a position",
        ),
    ],
    ids=[
        "syntax",
        "unknown-kind",
        "not-literal",
        "not-a-call",
        "unpacking",
        "unknown-field",
        "bad-value",
    ],
)
def test_text_that_is_no_plan_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        FaultPlan.parse(text)


def test_parse_takes_text_only() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^text=3 \(type=int\) is not a fault plan's text; pass a str such "
        r"as \"crash\(process='db', message=2\)\"$",
    ):
        FaultPlan.parse(3)  # type: ignore[arg-type]


# -- fault spaces ---------------------------------------------------------------------


SPACE = FaultSpace(
    processes=("db", "api"),
    links=(("api", "db"),),
    journals=("ledger",),
    max_faults=3,
    max_message=4,
    max_delay=0.5,
    horizon=10,
    max_wall_jump=60,
)


def test_a_space_draws_the_same_plan_from_the_same_generator() -> None:
    plans = [SPACE.draw(random.Random(seed)) for seed in range(300)]

    assert plans == [SPACE.draw(random.Random(seed)) for seed in range(300)]
    assert len(set(plans)) > 200


def test_a_space_draws_only_what_it_allows() -> None:
    kinds = set()
    for seed in range(500):
        plan = SPACE.draw(random.Random(seed))
        assert len(plan) <= 3
        for fault in plan:
            kinds.add(type(fault).kind)
            if isinstance(fault, Crash):
                assert fault.process in ("db", "api")
                assert 1 <= fault.message <= 4
            elif isinstance(fault, Drop | Duplicate | Delay):
                assert (fault.sender, fault.to) in (
                    (None, "db"),
                    (None, "api"),
                    (
                        "api",
                        "db",
                    ),
                )
                if isinstance(fault, Delay):
                    assert 0.001 <= fault.by <= 0.5
            elif isinstance(fault, WallJump):
                assert 0 <= fault.at <= 10
                assert 0 < abs(fault.by) <= 60
            else:
                assert fault.journal == "ledger"

    assert kinds == set(FAULT_KINDS)


def test_a_space_without_targets_draws_wall_jumps_only() -> None:
    space = FaultSpace(max_faults=5)
    plans = [space.draw(random.Random(seed)) for seed in range(50)]

    assert space.available_kinds == ("wall_jump",)
    assert all(isinstance(fault, WallJump) for plan in plans for fault in plan)


def test_a_space_limited_to_some_kinds_draws_those() -> None:
    space = FaultSpace(processes=("db",), kinds=("drop", "crash"))
    plans = [space.draw(random.Random(seed)) for seed in range(100)]

    assert space.kinds == ("crash", "drop")
    assert {type(fault) for plan in plans for fault in plan} == {Crash, Drop}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"processes": "db"},
            r"^processes='db' \(type=str\) is not a list of names; pass a tuple of "
            r"non-empty str$",
        ),
        (
            {"journals": ("",)},
            r"^journals\[0\]='' \(type=str\) is not a name; pass a non-empty str$",
        ),
        (
            {"links": (("api",),)},
            r"^links\[0\]=\('api',\) is not a link; pass a \(sender, to\) pair of "
            r"process names$",
        ),
        (
            {"links": "api->db"},
            r"^links='api->db' \(type=str\) is not a list of links; pass a tuple of "
            r"\(sender, to\) pairs of names$",
        ),
        (
            {"kinds": ("crash", "flood")},
            r"^kinds=\('crash', 'flood'\) names unknown kind\(s\) flood; known: "
            r"crash, drop, duplicate, delay, wall_jump, append_failure$",
        ),
        (
            {"max_faults": -1},
            r"^max_faults=-1 \(type=int\) is not a limit; pass an int, 0 or more$",
        ),
        (
            {"max_message": 0},
            r"^max_message=0 \(type=int\) is not a limit; pass an int, 1 or more$",
        ),
        (
            {"max_delay": 0.0001},
            r"^max_delay=0\.0001 is under a millisecond; delays are drawn in whole "
            r"milliseconds, so pass 0\.001 or more$",
        ),
        (
            {"kinds": ("crash",)},
            r"^kinds=\('crash',\) have no target in this space: crashes need "
            r"processes, message faults need processes or links, append failures "
            r"need journals; add targets or other kinds$",
        ),
    ],
    ids=[
        "processes-str",
        "empty-journal",
        "short-link",
        "links-str",
        "unknown-kind",
        "negative-max-faults",
        "zero-max-message",
        "tiny-delay",
        "no-target",
    ],
)
def test_a_bad_space_is_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        FaultSpace(**options)  # type: ignore[arg-type]


def test_draw_needs_a_random_generator() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^rng=7 \(type=int\) is not a random\.Random; pass "
        r"random\.Random\(seed\)$",
    ):
        SPACE.draw(7)  # type: ignore[arg-type]
