"""`python -m examples.event_sourced_saas` runs on the real clock, saying what it did.

The first test starts the module in a child process, as a user would, for
half a second of live traffic, and checks the story it prints: the past
written on virtual time, the workers started, a billing worker crashing on
the gateway's outage and being restarted, the invoice charged once, and the
replay from the file matching what the workers held. Nothing about how long
any of it took is checked. The others check that a bad ``--seconds`` is
refused before anything runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_the_module_runs_the_service_and_prints_what_happened() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.event_sourced_saas", "--seconds", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a hung run fails instead of hanging the suite
        check=False,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("the past, on virtual time (")
    for tenant in ("acme", "globex", "initech"):
        assert f"started the worker of '{tenant}'" in out
    assert "[acme billing:0] IssueInvoice -> invoice.issued #" in out
    assert "tenant:acme crashed: examples.event_sourced_saas._gateway." in out
    assert "tenant:acme restarted: incarnation 2" in out
    assert "[acme payment:ACME-0001] RecordPayment -> invoice.paid #" in out
    assert "and charged 1 time(s): ACME-0001 $" in out
    assert "with a fresh reader: equal to what the workers held" in out
    assert "\ninvoice ACME-0001 for acme, " in out
    assert done.stderr == ""


@pytest.mark.parametrize("seconds", ["0", "soon"])
def test_a_bad_duration_is_refused_before_anything_runs(seconds: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.event_sourced_saas", "--seconds", seconds],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (done.returncode, done.stdout) == (2, "")
    assert re.search(
        rf"^python -m examples\.event_sourced_saas: error: argument --seconds: "
        rf"--seconds='{seconds}' is not a duration; pass a number of seconds above "
        r"zero, such as 4 or 0\.5$",
        done.stderr,
        re.M,
    )
