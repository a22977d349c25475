"""The op-agnostic mutation engine on a package of its own (two modules, one importing the other):
edits must match once, copies are loaded under the real names in import order, and sys.modules
and the package's attributes are as before once the block ends."""
import importlib
import sys

import pytest

from parity.engine import mutation
from parity.engine.errors import ParityError
from parity.engine.model import Case


@pytest.fixture
def package(tmp_path, monkeypatch):
    root = tmp_path / "mutpkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "base.py").write_text("def scale(x):\n    return 2 * x\n")
    (root / "top.py").write_text("from mutpkg.base import scale\n\n\ndef f(x):\n    return scale(x) + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("mutpkg.top")
    yield root
    for name in [n for n in sys.modules if n == "mutpkg" or n.startswith("mutpkg.")]:
        del sys.modules[name]


def _sources(root, **kw):
    return mutation.Sources("mutpkg", (root / "base.py", root / "top.py"), **kw)


def test_a_copy_imports_the_copies_before_it_and_everything_is_restored(package):
    real_base, real_top = sys.modules["mutpkg.base"], sys.modules["mutpkg.top"]
    m = mutation.Mutant("triple", "3x for 2x", (("base", "return 2 * x", "return 3 * x"),))
    with mutation.loaded(m, _sources(package, rebind=("base",))) as modules:
        assert modules["top"].f(1) == 4  # 3 * 1 + 1: the copy of top imported the copy of base
        assert sys.modules["mutpkg.base"] is modules["base"] and sys.modules["mutpkg"].base is modules["base"]
    assert sys.modules["mutpkg.base"] is real_base and sys.modules["mutpkg.top"] is real_top
    assert sys.modules["mutpkg"].base is real_base and real_top.f(1) == 3


def test_an_entry_absent_before_is_removed_again_not_left_as_none(package):
    del sys.modules["mutpkg.top"]
    with mutation.loaded(mutation.Mutant("none", "no edit", ()), _sources(package)):
        assert "mutpkg.top" in sys.modules
    assert "mutpkg.top" not in sys.modules


def test_a_file_only_copied_when_edited_is_the_real_one_otherwise(package):
    real_base = sys.modules["mutpkg.base"]
    m = mutation.Mutant("plus-two", "+2 for +1", (("top", "+ 1", "+ 2"),))
    with mutation.loaded(m, _sources(package, only_if_edited={"base"})) as modules:
        assert "base" not in modules and sys.modules["mutpkg.base"] is real_base
        assert modules["top"].f(1) == 4


def test_an_edit_that_no_longer_matches_once_is_an_error(package):
    twice = mutation.Mutant("x", "x", (("top", "f", "g"),))  # 'f' occurs more than once in top.py
    with pytest.raises(ParityError, match="occurs [0-9]+ times in top.py"):
        mutation.edited(twice, _sources(package))
    with pytest.raises(ParityError, match="occurs 0 times in nowhere.py"):
        mutation.edited(mutation.Mutant("y", "y", (("nowhere", "a", "b"),)), _sources(package))


def test_run_stops_at_the_first_differing_case_and_report_gives_the_exit_status(package, capsys):
    cases = [Case(id=f"x={x}", suite="t", attrs=None, inputs={}) for x in (0, 5, 7)]
    m = mutation.Mutant("triple", "3x for 2x", (("base", "return 2 * x", "return 3 * x"),))
    seen = []

    def difference(modules, case):
        seen.append(case.id)
        x = int(case.id[2:])
        return f"{modules['top'].f(x)} != {2 * x + 1}" if modules["top"].f(x) != 2 * x + 1 else None

    outcomes = mutation.run([m, mutation.Mutant("none", "no edit", ())], cases, _sources(package), difference)
    assert [(o.killed_by, o.how) for o in outcomes] == [("x=5", "16 != 11"), (None, "")]
    assert seen == ["x=0", "x=5", "x=0", "x=5", "x=7"]
    assert mutation.report(outcomes, "t") == 1 and "mutation score: 1/2 (50%)" in capsys.readouterr().out
    assert mutation.report(outcomes[:1], "t") == 0 and "mutation score: 1/1 (100%)" in capsys.readouterr().out


def test_suite_names_are_comma_separated():
    assert mutation.suite_names("standard, edge,,invalid") == ["standard", "edge", "invalid"]
