"""``python -m examples.realtime_collaboration``, run as a user would run it.

The demonstration runs on the real clock in a subprocess, for half a second
with its journal in the test's temporary directory. It must finish on its
own, report the crash and the restart, and end with every copy converged
(it exits with 1 otherwise).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from examples.realtime_collaboration.__main__ import parse

ROOT = Path(__file__).resolve().parents[3]


def test_the_demonstration_runs_and_every_copy_converges(tmp_path: Path) -> None:
    journal = tmp_path / "collaboration.sqlite3"

    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.realtime_collaboration",
            "--seconds",
            "0.5",
            "--editors",
            "2",
            "--journal",
            str(journal),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    out = finished.stdout
    assert "ada joined" in out
    assert "grace joined" in out
    assert "document:notes crashed: " in out
    assert "document:notes restarted (incarnation 2), rebuilt from its journal" in out
    assert out.rstrip().endswith("every copy converged")
    assert finished.stderr == ""
    assert journal.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--seconds", "0"], "error: --seconds 0.0 must be more than 0"),
        (["--editors", "0"], "error: --editors 0 must be 1 or more"),
    ],
)
def test_the_demonstration_refuses_bad_options(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(arguments)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err
