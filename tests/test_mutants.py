import dataclasses

import numpy as np
import pytest

from parity.ops.roi_align import generate, mutants
from parity.ops.roi_align.discriminate import discriminates, non_discriminating
from parity.engine.errors import ParityError

from tests.test_cli import parity


def test_every_mutant_is_killed_by_the_default_suite():
    outcomes = mutants.run(generate.cases_for("standard"))
    assert len(outcomes) >= 8
    survivors = [o.mutant.name for o in outcomes if o.killed_by is None]
    assert survivors == []


def test_a_mutant_that_no_longer_matches_the_source_is_an_error(monkeypatch):
    broken = mutants.Mutant("stale", "text gone", (("reference", "this text is not in the source", "x"),))
    monkeypatch.setattr(mutants, "MUTANTS", (broken,))
    with pytest.raises(ParityError, match="occurs 0 times"):
        mutants.run(generate.cases_for("seed"))


def test_mutating_leaves_the_real_reference_untouched():
    from parity.ops.roi_align import reference

    case = next(iter(generate.cases_for("seed")))
    before = reference.roi_align(case.features, case.rois, (3, 3), 0.25, 2)
    mutants.run([case])
    np.testing.assert_array_equal(reference.roi_align(case.features, case.rois, (3, 3), 0.25, 2), before)


def test_constant_features_are_flagged_as_non_discriminating():
    case = next(c for c in generate.cases_for("standard") if c.id.endswith("-f32-inside"))
    assert discriminates(case) is True
    flat = dataclasses.replace(case.with_inputs(features=np.ones_like(case.features)), id="flat")
    assert non_discriminating([case, flat]) == ["flat"]


def test_mutants_command_prints_a_full_score():
    r = parity("mutants")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"mutation score: {len(mutants.MUTANTS)}/{len(mutants.MUTANTS)} (100%)" in r.stdout


def test_an_unmutated_copy_survives_the_default_suite():
    """An edit-free copy (kernel included) is told apart by no case: a kill means a fault, never noise."""
    [outcome] = mutants.run(generate.cases_for("standard"), (mutants.Mutant("none", "no edit", ()),))
    assert outcome.killed_by is None, outcome.how
