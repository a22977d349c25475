"""Verdicts that must not lie: undecidable float16 allowances, MindSpore's batch-index rule,
per-framework validity, and attributes checked before values.

Expected values come from the frameworks themselves (torchvision run in-process here, MindSpore
in tests/test_findings.py) or from the arithmetic of float16, never from the code under test.
"""
import dataclasses

import numpy as np
import pytest
import torch
from torchvision.ops import roi_align as tv_roi_align

from parity.ops.roi_align import wire
from parity.ops.roi_align import judge, reference
from parity.engine.model import RunResult, Status, Verdict
from parity.ops.roi_align.runners import reference as reference_runner
from parity.ops.roi_align.verdict_cases import verdict_cases

FRAMEWORKS = ("torchvision", "mindspore")


def _case(name: str):
    return next(c for c in verdict_cases() if name in c.id)


def _reference(case):
    header = wire.request_header(case, "reference", FRAMEWORKS)
    out = RunResult(case.id, "reference", Status.OK, reference_runner.run(header, {"features": case.features, "rois": case.rois}))
    return wire.named_reference(out, header)


def _torchvision(case) -> np.ndarray:
    a = case.attrs
    out = tv_roi_align(torch.from_numpy(case.features), torch.from_numpy(case.rois), a.output_size, a.spatial_scale, a.sampling_ratio, a.aligned)
    return out.numpy()


def _verdicts(case, outputs):
    results = {fw: RunResult(case.id, fw, Status.OK, {"out": out}) for fw, out in outputs.items()}
    return {c.actual if c.expected.startswith("reference") else "pair": c for c in judge.judge(case, results, _reference(case))}


def test_float16_stagnation_is_never_pass():
    """torchvision returns 0.1024 for a bin whose exact value is 2.0 (serial float16 sum stuck at 4096)."""
    case = _case("sr=200,out=1x1,s=1]-f16-stagnation")
    tv = _torchvision(case)
    assert float(tv.max()) == pytest.approx(4096 / 40000, abs=1e-3)  # the frameworks' own number
    v = _verdicts(case, {"torchvision": tv, "mindspore": tv.copy()})
    assert all(c.verdict is not Verdict.PASS for c in v.values())
    assert v["torchvision"].verdict is Verdict.EXPECTED_DIVERGENCE
    assert v["torchvision"].divergence == "float16-accumulation-stagnation"
    assert v["pair"].verdict is Verdict.UNDECIDABLE
    assert v["pair"].undecided.exact_error == pytest.approx(2.0 - 0.1024, abs=1e-3)


def test_a_float16_kernel_that_does_not_stagnate_breaks_the_prediction():
    """The prediction is checked: the exact average (what a float32 accumulator gives) is not it."""
    case = _case("sr=200,out=1x1,s=1]-f16-stagnation")
    exact = np.full_like(_torchvision(case), 2.0)
    v = _verdicts(case, {"torchvision": exact, "mindspore": exact.copy()})
    assert v["torchvision"].verdict is Verdict.DIVERGENCE_CHANGED


@pytest.mark.parametrize("sr", [2, 16, 50, 100, 200, 256])
@pytest.mark.parametrize("aligned", [False, True])
def test_float16_serial_bounds_hold_torchvision(sr, aligned):
    rng = np.random.default_rng(sr)
    x = rng.uniform(0, 4, (1, 2, 12, 12)).astype(np.float16)
    r = np.array([[0, 1, 1, 11, 11], [0, 0.3, 2.2, 7.7, 9.1], [0, -3, -2, 5, 14]], np.float16)
    tv = tv_roi_align(torch.from_numpy(x), torch.from_numpy(r), (2, 1), 1.0, sr, aligned).numpy().astype(np.float64)
    conv = reference.TORCHVISION_ALIGNED if aligned else reference.TORCHVISION_UNALIGNED
    lo, hi = reference.float16_serial_interval(x, r.astype(np.float64), (2, 1), 1.0, sr, conv)
    assert np.all((lo <= tv) & (tv <= hi))
    assert float(np.max(hi - lo)) < 0.05  # tight: the prediction tells the stagnated value from the exact one


def test_far_from_origin_float16_cannot_decide_conventions():
    """At x ~ 300 float16 spaces positions 0.25 px apart: aligned=True vs roi_end_mode=1 (documented
    difference >= 1) hides inside the allowance, so the pair must not PASS."""
    case = _case("aligned=1,sr=2,out=3x3,s=1]-f16-far-from-origin")
    ref = _reference(case).outputs
    doc = {fw: judge.documented_semantics(fw, case.attrs, case.port).key for fw in FRAMEWORKS}
    assert float(np.max(np.abs(ref[doc["torchvision"]] - ref[doc["mindspore"]]))) > 0.5
    tv = _torchvision(case)
    v = _verdicts(case, {"torchvision": tv, "mindspore": tv.copy()})  # a MindSpore that copies torchvision
    assert v["pair"].verdict is Verdict.UNDECIDABLE
    assert v["pair"].undecided is not None


def test_float32_stays_decided():
    case = _case("half-batch-index")
    tv = _torchvision(case)
    v = _verdicts(case, {"torchvision": tv})
    assert v["torchvision"].verdict is Verdict.PASS


def test_mindspore_batch_index_rule_as_measured():
    """MindSpore 2.10.0 CPU picks these images (tests/test_findings.py re-measures them)."""
    b = np.array([0.5, 1.5, 2.5, 3.5, 0.49995, 1.49993, 0.49993, 0.4999, 2.49993, 0.7], np.float32)
    picked = [1, 2, 3, 4, 1, 2, 0, 0, 2, 1]
    conv = dataclasses.replace(reference.MINDSPORE_END_MODE_0, batch_index="round")
    assert reference.batch_indices(b.astype(np.float64), conv).tolist() == picked
    assert reference.batch_indices(np.array([0.7, -0.9, 1.99]), reference.TORCHVISION_UNALIGNED).tolist() == [0, 0, 1]


def test_half_batch_indices_follow_the_declared_rule():
    """MindSpore picking 1, 3, 1 for 0.5, 2.5, 0.49995 did what the catalogue declares."""
    case = _case("half-batch-index")
    sem = judge.predicted_semantics("mindspore", case)
    a = case.attrs
    ms_like = reference.roi_align(case.features, case.rois, a.output_size, a.spatial_scale, sem.sampling_ratio, sem.convention)
    v = _verdicts(case, {"torchvision": _torchvision(case), "mindspore": ms_like.astype(np.float32)})
    assert v["mindspore"].verdict is Verdict.EXPECTED_DIVERGENCE
    assert v["pair"].verdict is Verdict.EXPECTED_DIVERGENCE


@pytest.mark.parametrize("label", ["1.7", "minus-0.9"])
def test_an_index_invalid_for_mindspore_only_leaves_torchvision_judged(label):
    case = _case(f"batch-index-valid-for-one-{label}")
    results = {
        "torchvision": RunResult(case.id, "torchvision", Status.OK, {"out": _torchvision(case)}),
        "mindspore": RunResult(case.id, "mindspore", Status.ERROR, message="RuntimeError: image_index must be a number in [0,1]"),
    }
    ref = _reference(case)
    assert ref.status is Status.OK
    v = {c.actual if c.expected.startswith("reference") else "pair": c for c in judge.judge(case, results, ref)}
    assert v["torchvision"].verdict is Verdict.PASS
    assert v["mindspore"].verdict is Verdict.EXPECTED_DIVERGENCE
    assert v["pair"].verdict is Verdict.EXPECTED_DIVERGENCE


@pytest.mark.parametrize("wrong", [np.float64, np.int32])
def test_output_dtype_is_checked_before_values(wrong):
    case = _case("half-batch-index")
    tv = _torchvision(case)
    v = _verdicts(case, {"torchvision": tv.astype(wrong)})
    assert v["torchvision"].verdict is Verdict.MISMATCH
    assert "dtype" in v["torchvision"].message and "float32" in v["torchvision"].message


def test_an_output_on_another_device_is_the_frameworks_error(monkeypatch):
    """The device is checked on the native tensor, before it is copied to the host as numbers."""
    import torchvision.ops

    from parity.engine.errors import FrameworkError
    from parity.ops.roi_align.runners import torchvision as runner

    case = _case("half-batch-index")
    real = torchvision.ops.roi_align
    monkeypatch.setattr(torchvision.ops, "roi_align", lambda *a, **k: real(*a, **k).to("meta"))
    header = wire.request_header(case, "torchvision", FRAMEWORKS)
    with pytest.raises(FrameworkError) as err:
        runner.run(header, {"features": case.features, "rois": case.rois})
    assert "device meta" in str(err.value.__cause__)


def test_float16_bounds_cover_a_grid_that_float16_changes():
    """The roi is 16.0078125 pixels wide: 17 samples per bin side exactly, 16 once float16 rounds
    the width (a tie, to even); torchvision's float16 kernel must land inside the bounds."""
    case = _case("float16-grid-change")
    x1, x2 = (np.float16(v) * np.float16(0.125) for v in case.rois[0, [1, 3]])
    assert np.ceil(np.float16(x2 - x1)) == 16 and np.ceil((195.625 - 67.5625) * 0.125) == 17
    tv = _torchvision(case).astype(np.float64)
    lo, hi = reference.float16_serial_interval(case.features, case.rois.astype(np.float64), (2, 1), 0.125, -1, reference.TORCHVISION_UNALIGNED)
    assert np.all((lo <= tv) & (tv <= hi))
    assert _verdicts(case, {"torchvision": _torchvision(case)})["torchvision"].verdict is not Verdict.DIVERGENCE_CHANGED


def _with_gradients(case, outputs, weight):
    header = wire.request_header(case, "reference", FRAMEWORKS)
    arrays = {"features": case.features, "rois": case.rois, "grad_weight": weight}
    ref = wire.named_reference(RunResult(case.id, "reference", Status.OK, reference_runner.run(header, arrays)), header)
    results = {fw: RunResult(case.id, fw, Status.OK, out) for fw, out in outputs.items()}
    return {c.actual: c for c in judge.judge(case, results, ref) if c.expected.startswith("reference")}


def test_a_window_no_reference_can_sample_is_judged_by_the_declared_skip():
    """MindSpore's documented window here is 1e30 pixels wide, but MindSpore skips both rois
    (|x1|, |x2| < 0.001, measured in tests/test_findings.py): its output is unspecified and its
    gradient must be zero; a nonzero gradient breaks the prediction."""
    case = _case("unevaluable-window-skipped")
    weight = np.random.default_rng(3).standard_normal((2, 2, 2, 2)).astype(np.float32)
    leaf = torch.from_numpy(case.features).requires_grad_()
    a = case.attrs
    out = tv_roi_align(leaf, torch.from_numpy(case.rois), a.output_size, a.spatial_scale, a.sampling_ratio, a.aligned)
    (out * torch.from_numpy(weight)).sum().backward()
    tv = {"out": out.detach().numpy(), "grad": leaf.grad.numpy()}
    assert np.abs(tv["grad"]).max() > 0.1  # torchvision samples the (documented, tiny) window
    zero = {"out": np.zeros_like(tv["out"]), "grad": np.zeros_like(tv["grad"])}
    v = _with_gradients(case, {"torchvision": tv, "mindspore": zero}, weight)
    assert v["torchvision"].verdict is Verdict.PASS and v["torchvision (grad)"].verdict is Verdict.PASS
    assert v["mindspore"].verdict is Verdict.EXPECTED_DIVERGENCE
    assert v["mindspore (grad)"].verdict is Verdict.EXPECTED_DIVERGENCE
    assert "mindspore-backward-skips-rois-at-x-zero" in v["mindspore (grad)"].divergence
    v = _with_gradients(case, {"torchvision": tv, "mindspore": {"out": zero["out"], "grad": tv["grad"]}}, weight)
    assert v["mindspore (grad)"].verdict is Verdict.DIVERGENCE_CHANGED
