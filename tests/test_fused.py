"""The fused forward (parity.ops.roi_align.fused: one pass per geometry for result, bound and scale)
against the separate passes it replaces (reference.roi_align and bounds.rounding_bound_and_scale,
themselves checked against torchvision and tests/numpy_reference.py), bit for bit, and the
reference worker's deduplicated semantics."""
import dataclasses

import numpy as np
import pytest

from parity.engine.model import Case, RunResult, Status
from parity.ops.roi_align import fused, reference, tables, wire
from parity.ops.roi_align.attrs import Attrs
from parity.ops.roi_align.bounds import rounding_bound_and_scale
from parity.ops.roi_align.runners import reference as runner
from tests.test_kernel import _slope

CONVENTIONS = [
    reference.TORCHVISION_UNALIGNED,
    reference.TORCHVISION_ALIGNED,
    reference.MINDSPORE_END_MODE_1,
    dataclasses.replace(reference.TORCHVISION_UNALIGNED, name="origin", outside_reads_origin=True),
    dataclasses.replace(reference.TORCHVISION_ALIGNED, name="round", batch_index="round", adaptive_grid="floor"),
    dataclasses.replace(reference.MINDSPORE_END_MODE_0, name="skip", skip_x_near_zero=0.5, scale_dtype="float32"),
]


def _case(rng: np.random.Generator, dtype: str, non_finite: bool) -> tuple[np.ndarray, np.ndarray, tuple[int, int], float, int]:
    n, c, h, w = int(rng.integers(1, 3)), int(rng.integers(1, 6)), int(rng.integers(1, 9)), int(rng.integers(1, 9))
    x = (rng.standard_normal((n, c, h, w)) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
    if non_finite:
        x.flat[rng.integers(0, x.size, 2)] = [np.nan, np.inf]
    scale = float(rng.choice([1.0, 0.5, 0.25, 1 / 3]))
    k = int(rng.integers(1, 7))
    boxes = np.sort(rng.uniform(-4.0, (max(h, w) + 4) / scale, (k, 2, 2)), axis=2)
    rois = np.concatenate([rng.integers(0, n, (k, 1)).astype(np.float64), boxes[:, 0, :1], boxes[:, 1, :1], boxes[:, 0, 1:], boxes[:, 1, 1:]], axis=1)
    rois[0, 1:] = [0.1, 0.2, 0.3, 0.4]  # a roi near x = 0 (the skip rule's scope)
    pooled = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    return x, rois, pooled, scale, int(rng.choice([-1, 1, 2, 3]))


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_fused_terms_equal_the_separate_passes_bit_for_bit(dtype):
    rng = np.random.default_rng({"float16": 11, "float32": 12, "float64": 13}[dtype])
    checked = 0
    for trial in range(60):
        x, rois, pooled, scale, sr = _case(rng, dtype, non_finite=trial % 3 == 0)
        conv = CONVENTIONS[trial % len(CONVENTIONS)]
        args = (rois, pooled, scale, sr, conv)
        assert fused.fusable(x, rois, pooled, conv)
        terms = fused.forward_terms(fused.FeatureTable(x), *args, dtype=dtype)
        x64 = x.astype(np.float64)
        bound, scale_ = rounding_bound_and_scale(x64, *args, dtype=dtype)
        geom = reference.roi_align(x64, *args, geometry_dtype=dtype)
        for got, want in ((terms.result, reference.roi_align(x64, *args)), (terms.bound, bound), (terms.scale, scale_), (terms.geom, geom)):
            np.testing.assert_array_equal(_bits(got), _bits(want))
        checked += int(np.count_nonzero(terms.result))
    assert checked > 100  # the cases sample something


def test_values_and_slopes_table_equals_its_numpy_definition():
    rng = np.random.default_rng(14)
    for dtype in ("float32", "float64"):
        x = rng.standard_normal((2, 3, 5, 70)).astype(dtype)
        x.flat[[3, 400]] = [np.nan, -np.inf]
        n, c, h, w = x.shape
        table = np.full((n * h * w + 1, 2 * c), 7.0)
        tables.values_and_slopes(x, table)
        x64 = x.astype(np.float64)
        expected = np.concatenate([x64, _slope(x64)], axis=1).transpose(0, 2, 3, 1).reshape(-1, 2 * c)
        np.testing.assert_array_equal(table[:-1], expected)
        assert (table[-1] == 7.0).all()


def test_rules_acting_on_sums_and_empty_problems_take_the_separate_passes():
    x, rois = np.ones((1, 1, 4, 4), np.float32), np.array([[0.0, 0, 0, 2, 2]])
    for changes in ({"empty_grid_nan": True}, {"sum_limit": 65504.0}, {"accumulate": "float16"}):
        assert not fused.fusable(x, rois, (2, 2), dataclasses.replace(reference.TORCHVISION_UNALIGNED, **changes))
    assert not fused.fusable(x, rois[:0], (2, 2), reference.TORCHVISION_UNALIGNED)
    assert not fused.fusable(x[:, :0], rois, (2, 2), reference.TORCHVISION_UNALIGNED)
    assert not fused.fusable(x, rois, (0, 2), reference.TORCHVISION_UNALIGNED)


def test_fused_result_equals_torchvision_float64():
    torch = pytest.importorskip("torch")
    tv_ops = pytest.importorskip("torchvision.ops")
    rng = np.random.default_rng(15)
    for aligned, conv in ((False, reference.TORCHVISION_UNALIGNED), (True, reference.TORCHVISION_ALIGNED)):
        for _ in range(10):
            x, rois, pooled, scale, sr = _case(rng, "float64", non_finite=False)
            terms = fused.forward_terms(fused.FeatureTable(x), rois, pooled, scale, sr, conv, "float32")
            want = tv_ops.roi_align(torch.from_numpy(x), torch.from_numpy(rois), pooled, scale, sr, aligned).numpy()
            np.testing.assert_array_equal(_bits(terms.result), _bits(want))


def _request(aligned: bool) -> tuple[Case, dict, dict]:
    rng = np.random.default_rng(16)
    features = rng.standard_normal((1, 3, 6, 7)).astype(np.float32)
    rois = np.array([[0.0, 0.5, 1.0, 4.5, 5.0], [0.0, -2.0, 0.0, 3.0, 9.0]], np.float32)
    case = Case("fused-dedup", "test", Attrs((2, 2), 1.0, 2, aligned), {"features": features, "rois": rois})
    header, arrays = wire.request(case, "reference", ("torchvision", "mindspore"), grad=True)
    return case, header, arrays


def test_semantics_that_compute_the_same_are_evaluated_and_sent_once():
    _, header, arrays = _request(aligned=False)
    names = [s["key"] for s in header["semantics"]]
    shared = [s for s in header["semantics"] if s["same"]]
    # torchvision aligned=False and MindSpore roi_end_mode=0 differ only in name: one evaluation
    assert any(k.startswith("torchvision aligned=False") for k in names)
    assert any(any(o.startswith("mindspore roi_end_mode=0") for o in s["same"]) for s in shared)
    outputs = runner.run(header, arrays)
    named = wire.named_reference(_result(outputs), header).outputs
    for sem in shared:
        for other in sem["same"]:
            for suffix in ("", "|bound", "|scale", "|geom", "|grad", "|grad|bound"):
                np.testing.assert_array_equal(named[other + suffix], named[sem["key"] + suffix])
    # each key is also what evaluating it on its own gives
    alone = dict(header, semantics=[dict(s, key=o, same=[]) for s in shared for o in s["same"]])
    solo = wire.named_reference(_result(runner.run(alone, arrays)), alone).outputs
    for key, value in solo.items():
        np.testing.assert_array_equal(_bits(named[key]), _bits(value))


def test_reference_worker_fused_outputs_equal_the_separate_passes():
    for aligned in (False, True):
        _, header, arrays = _request(aligned)
        outputs = runner.run(header, arrays)
        for sem in header["semantics"]:
            conv = reference.Convention(**sem["convention"])
            args = (arrays["rois"].astype(np.float64), (2, 2), 1.0, sem["sampling_ratio"], conv)
            separate = runner._forward(sem["name"], arrays["features"].astype(np.float64), args, "float32")
            for name, value in separate.items():
                np.testing.assert_array_equal(_bits(outputs[name]), _bits(value))


def _result(outputs: dict) -> RunResult:
    return RunResult("fused-dedup", "reference", Status.OK, outputs=outputs)
