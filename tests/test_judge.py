"""Verdict logic, driven by reference-computed stand-ins for the frameworks (no framework needed)."""
import dataclasses

import numpy as np
import pytest

from parity.ops.roi_align import wire
from parity.ops.roi_align import divergence, generate, judge
from parity.engine.behaviour import failure_verdict
from parity.ops.roi_align.divergence import predicted_semantics
from parity.engine.model import RunResult, Status, Verdict
from parity.ops.roi_align.attrs import Attrs
from parity.ops.roi_align.reference import roi_align
from parity.ops.roi_align.runners import reference as reference_runner

FRAMEWORKS = ("torchvision", "mindspore")


def _reference(case):
    header = wire.request_header(case, "reference", FRAMEWORKS)
    arrays = {"features": case.features, "rois": case.rois}
    out = RunResult(case.id, "reference", Status.OK, reference_runner.run(header, arrays))
    return wire.named_reference(out, header)


def _behaves_as_declared(case, fw):
    sem = predicted_semantics(fw, case)
    out = roi_align(case.features, case.rois, case.attrs.output_size, case.attrs.spatial_scale, sem.sampling_ratio, sem.convention)
    return RunResult(case.id, fw, Status.OK, {"out": out.astype(case.features.dtype)})


def _verdicts(case, results):
    return {c.actual if c.expected.startswith("reference") else "pair": c for c in judge.judge(case, results, _reference(case))}


def _case(aligned: bool, sr: int):
    return generate.make_case("test", Attrs((4, 3), 0.25, sr, aligned), "float32", "mixed")


def test_documented_aligned_divergence_is_expected_with_magnitude():
    case = _case(True, 2)
    v = _verdicts(case, {fw: _behaves_as_declared(case, fw) for fw in FRAMEWORKS})
    assert v["torchvision"].verdict is Verdict.PASS
    assert v["mindspore"].verdict is Verdict.PASS
    assert v["pair"].verdict is Verdict.EXPECTED_DIVERGENCE
    assert v["pair"].divergence == "aligned-vs-roi-end-mode-1"
    assert v["pair"].metrics.max_abs > 0.1


def test_unaligned_frameworks_agree():
    case = _case(False, 2)
    v = _verdicts(case, {fw: _behaves_as_declared(case, fw) for fw in FRAMEWORKS})
    assert {c.verdict for c in v.values()} == {Verdict.PASS}


def test_measured_adaptive_divergence_is_expected_only_while_its_prediction_holds(monkeypatch):
    case = _case(False, 0)
    results = {fw: _behaves_as_declared(case, fw) for fw in FRAMEWORKS}
    v = _verdicts(case, results)
    assert v["mindspore"].verdict is Verdict.EXPECTED_DIVERGENCE
    assert v["pair"].verdict is Verdict.EXPECTED_DIVERGENCE
    # Edit the prediction (keep floor, drop the NaN): the same MindSpore output no longer matches it.
    edited = dict(divergence.VARIANTS)
    edited["floor-grid-no-guard"] = lambda sem: dataclasses.replace(
        sem, convention=dataclasses.replace(sem.convention, name="edited", adaptive_grid="floor")
    )
    monkeypatch.setattr(divergence, "VARIANTS", edited)
    v = _verdicts(case, results)
    assert v["mindspore"].verdict is Verdict.DIVERGENCE_CHANGED
    assert v["pair"].verdict is Verdict.DIVERGENCE_CHANGED


def test_undeclared_difference_is_a_mismatch_blaming_the_deviating_framework():
    case = _case(False, 2)
    results = {fw: _behaves_as_declared(case, fw) for fw in FRAMEWORKS}
    shifted = results["mindspore"].outputs["out"] * (1 + 1e-4)  # an error no rounding explains
    results["mindspore"] = RunResult(case.id, "mindspore", Status.OK, {"out": shifted})
    v = _verdicts(case, results)
    assert v["torchvision"].verdict is Verdict.PASS
    assert v["mindspore"].verdict is Verdict.MISMATCH
    assert v["pair"].verdict is Verdict.MISMATCH
    assert "deviating from the reference: mindspore" in v["pair"].message


@pytest.mark.parametrize("status, verdict", [(Status.CRASH, Verdict.CRASH), (Status.UNSUPPORTED, Verdict.UNSUPPORTED),
                                             (Status.TIMEOUT, Verdict.TIMEOUT), (Status.ERROR, Verdict.ERROR)])
def test_framework_without_output(status, verdict):
    case = _case(False, 2)
    results = {"torchvision": _behaves_as_declared(case, "torchvision"), "mindspore": RunResult(case.id, "mindspore", status, message="x")}
    v = _verdicts(case, results)
    assert v["mindspore"].verdict is verdict and v["pair"].verdict is verdict
    assert v["torchvision"].verdict is Verdict.PASS


def test_a_run_with_output_has_no_failure_verdict():
    """Judging an output is the op's judge's work; the engine's table covers only runs without one."""
    with pytest.raises(ValueError, match="has output to judge"):
        failure_verdict(Status.OK)


def _invalid_case():
    case = _case(False, 2)
    return dataclasses.replace(case.with_inputs(rois=np.array([[9, 0, 0, 1, 1]], dtype=np.float32)), suite="invalid")


def test_invalid_input_rejected_by_both_frameworks_passes():
    bad = _invalid_case()
    results = {fw: RunResult(bad.id, fw, Status.ERROR, message="index out of range") for fw in FRAMEWORKS}
    refused = RunResult(bad.id, "reference", Status.UNSUPPORTED, message="outside the batch")
    assert {c.verdict for c in judge.judge(bad, results, refused)} == {Verdict.PASS}


def test_silent_output_for_undefined_input_is_flagged_against_a_framework_that_raises():
    bad = _invalid_case()
    results = {
        "torchvision": RunResult(bad.id, "torchvision", Status.OK, {"out": np.full((1, 3, 4, 3), 1e30, np.float32)}),
        "mindspore": RunResult(bad.id, "mindspore", Status.ERROR, message="RuntimeError: image_index 9 out of range"),
    }
    v = {c.actual if c.expected == "reference" else "pair": c for c in judge.judge(bad, results, RunResult(bad.id, "reference", Status.UNSUPPORTED, message="outside the batch"))}
    assert v["torchvision"].verdict is Verdict.MISMATCH and "silent output" in v["torchvision"].message
    assert v["mindspore"].verdict is Verdict.PASS
    assert v["pair"].verdict is Verdict.MISMATCH and "mindspore: raises" in v["pair"].message


def test_a_failing_reference_is_a_parity_error_not_a_framework_verdict():
    case = _case(False, 2)
    results = {fw: _behaves_as_declared(case, fw) for fw in FRAMEWORKS}
    [c] = judge.judge(case, results, RunResult(case.id, "reference", Status.TIMEOUT, message="no result"))
    assert c.verdict is Verdict.ERROR and c.actual == "reference" and "parity's failure" in c.message
