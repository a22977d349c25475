"""The one case filter: substrings and tags as before, expressions over attributes, never code."""
import subprocess
import sys

import pytest

from parity.ops.roi_align import generate
from parity.engine.case_filter import matches as generic_matches
from parity.engine.errors import UsageError
from parity.ops.roi_align.attributes import FILTER_ATTRIBUTES


def matches(text):
    """The filter as roi_align suites apply it (every op's names plus roi_align's)."""
    return generic_matches(text, FILTER_ATTRIBUTES)

STANDARD = generate.cases_for("standard")


def _ids(text):
    return [c.id for c in generate.matching(STANDARD, text)]


def test_an_expression_selects_by_attributes():
    want = [c.id for c in STANDARD if c.attrs.aligned and c.dtype == "float16"]
    assert want and _ids("aligned and dtype == 'float16'") == want
    want = [c.id for c in STANDARD if c.attrs.sampling_ratio <= 0 and "ported-with-defaults" not in c.id]
    assert _ids("sampling_ratio <= 0 and port != 'defaults'") == want
    assert _ids("output_size == (7, 7) or not aligned") == [c.id for c in STANDARD if c.attrs.output_size == (7, 7) or not c.attrs.aligned]
    assert _ids("'float16' in tags") == [c.id for c in STANDARD if "float16" in c.tags]
    assert _ids("-1 < sampling_ratio < 3") == [c.id for c in STANDARD if -1 < c.attrs.sampling_ratio < 3]


def test_substrings_and_tags_are_not_expressions():
    """``edge-zero-size`` parses as a subtraction and a case id as a subscript: both stay substrings."""
    case = STANDARD[0]
    assert _ids(case.id) == [case.id]
    assert _ids("f32-inside") == [c.id for c in STANDARD if "f32-inside" in c.id or "f32-inside" in c.tags]
    assert _ids("float16") == [c.id for c in STANDARD if "float16" in c.id or "float16" in c.tags]


@pytest.mark.parametrize("text", ["__import__('os').system('true') == 0", "aligned and open('x')", "dtype.upper() == 'X'"])
def test_an_expression_is_never_evaluated(text):
    """Refused as a whole before any case is looked at (no short-circuit lets a call through)."""
    with pytest.raises(UsageError):
        matches(text)


def test_text_that_is_no_filter_expression_is_only_a_substring():
    assert _ids("lambda: 1 == 1") == []


def test_unknown_names_say_which_exist():
    with pytest.raises(UsageError, match="unknown name 'aligend'.*aligned"):
        matches("aligend == True")(STANDARD[0])


def test_the_cli_takes_the_expression_and_a_bad_one_is_a_usage_error():
    run = [sys.executable, "-m", "parity", "cases", "-k", "aligned and dtype == 'float16'"]
    out = subprocess.run(run, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [c.id for c in STANDARD if c.attrs.aligned and c.dtype == "float16"]
    bad = subprocess.run([*run[:-1], "aligned and frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown name 'frobnicate'" in bad.stderr and bad.stderr.count("\n") == 1


def test_the_plugin_takes_the_same_filter(tmp_path):
    """``--parity-k EXPR`` collects the cases ``parity cases -k EXPR`` lists, one item per pair."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--parity", "--parity-only", "--collect-only", "-q",
           "--parity-k", "aligned and dtype == 'float64' and sampling_ratio == 2"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    want = [c.id for c in STANDARD if c.attrs.aligned and c.dtype == "float64" and c.attrs.sampling_ratio == 2]
    assert want and out.returncode == 0, out.stdout + out.stderr
    items = [line for line in out.stdout.splitlines() if "::" in line]
    assert len(items) == 3 * len(want)
    assert all(any(case_id in item for case_id in want) for item in items)
