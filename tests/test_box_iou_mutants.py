"""box_iou's mutants: every plausible fault in the reference is told apart by some case, and an
edit-free copy is not (so a kill means a changed verdict, never noise)."""
import numpy as np

from parity import ops
from parity.ops.box_iou import mutants
from parity.ops.box_iou.mutants import MUTANTS, Mutant

from tests.test_cli import parity

OP = ops.get("box_iou")


def _cases(*suites):
    return [c for s in suites for c in OP.cases(s)]


def test_every_mutant_is_killed_by_the_suites():
    outcomes = mutants.run(_cases("standard", "edge", "invalid"))
    assert [o.mutant.name for o in outcomes] == [m.name for m in MUTANTS]
    survivors = [o.mutant.name for o in outcomes if o.killed_by is None]
    assert survivors == []
    assert len(MUTANTS) >= 8


def test_an_unmutated_copy_survives_every_case():
    [outcome] = mutants.run(_cases("standard", "edge", "invalid"), (Mutant("none", "no edit", ()),))
    assert outcome.killed_by is None, outcome.how


def test_domain_mutants_need_the_invalid_suite():
    """Only the invalid suite holds boxes outside the documented domain: without it those faults live."""
    alive = {o.mutant.name for o in mutants.run(_cases("standard")) if o.killed_by is None}
    assert {"zero-extent-box-accepted", "negative-coordinates-accepted"} <= alive


def test_a_mutant_that_no_longer_matches_is_an_error():
    import pytest

    from parity.engine.errors import ParityError

    with pytest.raises(ParityError, match="occurs 0 times"):
        with mutants._mutated(Mutant("stale", "gone", (("reference", "no such text", "x"),))):
            pass


def test_the_real_reference_is_restored_after_a_mutant():
    from parity.ops.box_iou import domain

    with mutants._mutated(MUTANTS[-1]):
        pass
    import sys

    assert sys.modules["parity.ops.box_iou.domain"] is domain
    good = {"boxes1": np.array([[-1, 0, 1, 1]], np.float32), "boxes2": np.array([[0, 0, 1, 1]], np.float32)}
    assert "negative" in domain.problem(good, "torchvision")


def test_mutants_command_scores_all():
    r = parity("mutants", "--op", "box_iou")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"mutation score: {len(MUTANTS)}/{len(MUTANTS)}" in r.stdout
