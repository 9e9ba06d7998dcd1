"""The ``pytest_phyxius_snapshot_*`` hooks: where snapshots live and what they hold."""

from __future__ import annotations

import json

import pytest

from .snapshot_helpers import DIST, ORDERS, Project, unused_lines


@pytest.mark.parametrize("dist", DIST)
def test_the_dir_hook_moves_snapshots_and_cleanup_follows_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    pytester.makeconftest(
        """
        def pytest_phyxius_snapshot_dir(module_path, config):
            return config.rootpath / "golden" / module_path.stem
        """
    )
    project.module("test_orders", ORDERS)
    project.run().assert_outcomes(passed=5)
    golden = project.root / "golden" / "test_orders"
    (golden / "test_removed.json").write_text(
        (golden / "test_alpha.json").read_text().replace('"test_alpha"', '"x"')
    )

    result = project.run("--phyxius-update")

    assert not (project.root / "__snapshots__").exists()
    assert sorted(p.name for p in golden.iterdir()) == [
        "TestGroup.test_gamma.json",
        "test_alpha.json",
        "test_beta[1].json",
        "test_beta[2].json",
        "test_delta.json",
    ]
    result.stdout.fnmatch_lines(
        [
            "journal snapshots: 5 passed, 1 removed",
            "  golden/test_orders/test_removed.json: whole file (no such test)",
        ]
    )


def test_a_relative_folder_from_the_dir_hook_is_taken_from_the_rootdir(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    pytester.makeconftest(
        """
        def pytest_phyxius_snapshot_dir(module_path):
            return f"golden/{module_path.stem}"
        """
    )
    project.module("test_orders", ORDERS)
    elsewhere = pytester.mkdir("elsewhere")
    monkeypatch.chdir(elsewhere)

    project.run(str(project.root)).assert_outcomes(passed=5)

    assert len(list((project.root / "golden" / "test_orders").iterdir())) == 5
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("dist", DIST)
def test_the_filename_hook_names_the_files(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    pytester.makeconftest(
        """
        def pytest_phyxius_snapshot_filename(test_name, default):
            if test_name.startswith("TestGroup"):
                return None
            return "golden-" + default
        """
    )
    project.module("test_orders", ORDERS)

    project.run().assert_outcomes(passed=5)

    assert sorted(project.files()) == [
        "TestGroup.test_gamma.json",
        "golden-test_alpha.json",
        "golden-test_beta[1].json",
        "golden-test_beta[2].json",
        "golden-test_delta.json",
    ]


@pytest.mark.parametrize(
    "name",
    ["'../escape.json'", "'sub/name.json'", "'.hidden.json'", "'name.txt'", "42"],
)
def test_a_bad_file_name_from_the_hook_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    project = Project(pytester, monkeypatch, ())
    pytester.makeconftest(
        f"""
        def pytest_phyxius_snapshot_filename():
            return {name}
        """
    )
    project.module("test_orders", ORDERS)

    result = project.run()

    result.assert_outcomes(errors=5)
    result.stdout.fnmatch_lines(
        [
            "E   *SnapshotNameError: pytest_phyxius_snapshot_filename returned "
            f"name={name} (type=*) for test 'test_alpha'; return one file name "
            'ending in ".json", without a folder separator, not starting with ".", '
            "at most 255 bytes long"
        ]
    )
    assert not (project.root / "__snapshots__").exists()


def test_a_bad_folder_from_the_hook_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    pytester.makeconftest("def pytest_phyxius_snapshot_dir():\n    return 42\n")
    project.module("test_orders", ORDERS)

    result = project.run()

    result.assert_outcomes(errors=5)
    result.stdout.fnmatch_lines(
        [
            "E   *SnapshotNameError: pytest_phyxius_snapshot_dir returned 42 "
            "(type=int) for module test_orders.py; return a path (pathlib.Path or "
            "str), or None for the default folder"
        ]
    )


@pytest.mark.parametrize("dist", DIST)
def test_two_tests_given_one_file_by_the_hooks_is_a_clash(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    pytester.makeconftest(
        """
        def pytest_phyxius_snapshot_dir(module_path, config):
            return config.rootpath / "shared"
        """
    )
    same = """
        def test_same(journal, journal_snapshot):
            assert journal == journal_snapshot

        def test_own_{}(journal, journal_snapshot):
            assert journal == journal_snapshot
    """
    project.module("test_one", same.format("one"))
    project.module("test_two", same.format("two"))

    result = project.run()

    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "E   *SnapshotNameError: test test_one.py::test_same would share the "
            "snapshot file 'test_same.json' in */shared with test_two.py::test_same "
            "(the pytest_phyxius_snapshot_dir/filename hooks gave them one file); "
            "fix the hooks so that each test gets a file of its own"
        ]
    )
    assert sorted(p.name for p in (project.root / "shared").iterdir()) == [
        "test_own_one.json",
        "test_own_two.json",
    ]


SHARED = """
def pytest_phyxius_snapshot_dir(module_path, config):
    return config.rootpath / "shared"
"""


@pytest.mark.parametrize("dist", DIST)
def test_a_folder_shared_by_modules_loses_only_the_run_modules_unused_files(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    pytester.makeconftest(SHARED)
    test = """
        def test_{}(journal, journal_snapshot):
            journal.append({{"n": 1}})
            assert journal == journal_snapshot
    """
    project.module("test_one", test.format("a"))
    project.module("test_two", test.format("b"))
    project.run().assert_outcomes(passed=2)
    shared = project.root / "shared"
    assert json.loads((shared / "test_a.json").read_text())["module"] == (
        "../test_one.py"
    )
    # A test of test_one.py that was removed, and one of test_two.py.
    for name, module in (("test_gone", "one"), ("test_went", "two")):
        (shared / f"{name}.json").write_text(
            (shared / "test_a.json")
            .read_text()
            .replace('"test_a"', f'"{name}"')
            .replace("test_one.py", f"test_{module}.py")
        )

    result = project.run("--phyxius-update", "test_one.py")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "journal snapshots: 1 passed, 1 removed",
            "  shared/test_gone.json: whole file (no such test)",
        ]
    )
    assert sorted(p.name for p in shared.iterdir()) == [
        "test_a.json",
        "test_b.json",
        "test_went.json",
    ]


def test_a_file_of_another_module_in_a_shared_folder_is_not_taken_over(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    pytester.makeconftest(SHARED)
    test = """
        def test_same(journal, journal_snapshot):
            journal.append({"n": 1})
            assert journal == journal_snapshot
    """
    project.module("test_one", test)
    project.module("test_two", test)
    project.run("test_one.py").assert_outcomes(passed=1)
    written = (project.root / "shared" / "test_same.json").read_text()

    result = project.run("--phyxius-update", "test_two.py")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *SnapshotNameError: snapshot file */shared/test_same.json belongs "
            "to test 'test_same' of module '../test_one.py', not 'test_same' of "
            "'../test_two.py'; two tests were given one file (check the "
            "pytest_phyxius_snapshot_* hooks), or the file was copied or its module "
            "moved: delete or rename it"
        ]
    )
    assert (project.root / "shared" / "test_same.json").read_text() == written


@pytest.mark.parametrize("dist", DIST)
def test_the_entry_and_value_hooks_shape_what_is_written(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    pytester.makeconftest(
        """
        from money import Money

        def pytest_phyxius_snapshot_entry(entry, document):
            del document["at"]
            document["kind"] = document["data"].pop("type", None)

        def pytest_phyxius_snapshot_value(value):
            if isinstance(value, Money):
                return {"amount": str(value.cents / 100), "currency": value.currency}
            return None
        """
    )
    pytester.makepyfile(
        money="""
        class Money:
            def __init__(self, cents, currency):
                self.cents = cents
                self.currency = currency
        """
    )
    project.module(
        "test_orders",
        """
        from money import Money

        def test_orders(journal_factory, journal_snapshot):
            journal = journal_factory(codec="pickle")
            journal.append({"type": "order.paid", "total": Money(1250, "EUR")})
            assert journal == journal_snapshot
        """,
    )

    project.run().assert_outcomes(passed=1)

    entry = project.snapshots("test_orders.json")["1"]["entries"][0]
    assert entry == {
        "sequence": 0,
        "id": entry["id"],
        "data": {"total": {"amount": "12.5", "currency": "EUR"}},
        "kind": "order.paid",
    }
    project.run().assert_outcomes(passed=1)


def test_a_hook_in_a_sub_folder_conftest_applies_only_below_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    module = """
        def test_orders(journal, journal_snapshot):
            journal.append({"n": 1})
            assert journal == journal_snapshot
    """
    sub = pytester.mkpydir("sub")
    (sub / "conftest.py").write_text(
        "def pytest_phyxius_snapshot_entry(document):\n    document.pop('at')\n"
    )
    (sub / "test_below.py").write_text(module.replace("\n        ", "\n"))
    project.module("test_above", module)

    project.run().assert_outcomes(passed=2)

    above = json.loads((project.folder("test_above") / "test_orders.json").read_text())
    below = json.loads(
        (sub / "__snapshots__" / "test_below" / "test_orders.json").read_text()
    )
    assert "at" in above["snapshots"]["1"]["entries"][0]
    assert "at" not in below["snapshots"]["1"]["entries"][0]


@pytest.mark.parametrize(
    "conftest",
    [
        "def pytest_phyxius_snapshot_dirr(module_path):\n    return None\n",
        "def pytest_phyxius_snapshot_dir(path):\n    return None\n",
    ],
    ids=["misspelt-hook", "misspelt-argument"],
)
def test_a_misspelt_hook_is_refused_at_start_up(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, conftest: str
) -> None:
    project = Project(pytester, monkeypatch, ())
    pytester.makeconftest(conftest)
    project.module("test_orders", ORDERS)

    result = project.run()

    assert result.ret != pytest.ExitCode.OK
    assert "pytest_phyxius_snapshot_dir" in result.stdout.str() + result.stderr.str()
    assert unused_lines(result) == []
