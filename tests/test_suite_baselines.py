"""CI: the edge and invalid suites, with gradients, against their committed baselines.

A declared divergence that stops holding (a framework changed, or parity did) turns a verdict
unexpected, and the gate fails on it.  Update a baseline in the change that moves a verdict on
purpose: ``parity run --suite edge --grad --out DIR`` then ``parity baseline update DIR --out
cases/baseline-edge.json``.
"""
from pathlib import Path

import pytest

from tests.test_cli import parity

CASES = Path(__file__).resolve().parent.parent / "cases"


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["edge", "invalid"])
def test_suite_with_gradients_holds_its_baseline(tmp_path, suite):
    out = tmp_path / suite
    run = parity("run", "--suite", suite, "--grad", "--out", str(out))
    assert run.returncode in (0, 1), run.stdout + run.stderr  # 1: unexpected verdicts, for the gate to judge
    gate = parity("gate", "--baseline", str(CASES / f"baseline-{suite}.json"), str(out))
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert run.returncode == 0, "unexpected verdicts, though the baseline knows them:\n" + run.stdout
