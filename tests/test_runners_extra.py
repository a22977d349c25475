"""The ONNX Runtime and Paddle runners, against the reference under what each documents (or declares)."""
import dataclasses
import json

import numpy as np
import pytest

from parity.ops.roi_align.mapping import (
    ONNX_HALF_PIXEL,
    PADDLE_ALIGNED,
    PADDLE_UNALIGNED,
    OnnxCall,
    Semantics,
    onnx_semantics,
    paddle_semantics,
    to_onnx,
    to_paddle,
)
from parity.engine.model import Port, Status
from parity.ops.roi_align.attrs import Attrs
from parity.engine.pool import Worker
from parity.ops.roi_align.reference import roi_align, roi_align_backward
from tests.test_cli import parity as parity_cli

pytest.importorskip("onnxruntime", reason="ONNX Runtime is the onnx extra (pip install -e '.[onnx]'; make test installs it)")
pytest.importorskip("paddle", reason="Paddle is the paddle extra (pip install -e '.[paddle]'; make test installs it)")

FRAMEWORKS = ("torchvision", "mindspore", "onnxruntime", "paddle")


@pytest.fixture(scope="module")
def ort(tmp_path_factory):
    w = Worker("onnxruntime", tmp_path_factory.mktemp("logs") / "onnxruntime.log")
    yield w
    w.stop()


@pytest.fixture(scope="module")
def paddle(tmp_path_factory):
    w = Worker("paddle", tmp_path_factory.mktemp("logs") / "paddle.log")
    yield w
    w.stop()


def _send(worker: Worker, header: dict, features: np.ndarray, rois: np.ndarray, **more: np.ndarray):
    header = {"case_id": "extra", "port": "mapped", **header}
    worker.send(header, {"features": features, "rois": rois, **more})
    return worker.receive("extra")


def _run(worker: Worker, attrs: Attrs, features: np.ndarray, rois: np.ndarray, **header) -> np.ndarray:
    result = _send(worker, {"attrs": attrs.to_json(), **header}, features, rois)
    assert result.status is Status.OK, result.message
    return result.outputs["out"].astype(np.float64)


def _reference(sem: Semantics, attrs: Attrs, features: np.ndarray, rois: np.ndarray) -> np.ndarray:
    return roi_align(features, rois, attrs.output_size, attrs.spatial_scale, sem.sampling_ratio, sem.convention)


def _rois(rng: np.random.Generator, k: int, sizes: tuple[float, ...], batch: int = 2) -> np.ndarray:
    """Rois on a 10x12 map (spatial scale 0.5: image coordinates twice the feature ones)."""
    x1, y1 = rng.uniform(0, 20, k), rng.uniform(0, 16, k)
    w, h = rng.choice(sizes, k), rng.choice(sizes, k)
    return np.stack([rng.integers(0, batch, k), x1, y1, x1 + w, y1 + h], 1).astype(np.float32)


CASES = [Attrs((3, 4), 0.5, sr, aligned) for aligned in (False, True) for sr in (-1, 0, 1, 2)]


@pytest.mark.parametrize("attrs", CASES, ids=lambda a: a.label())
def test_onnxruntime_follows_the_onnx_spec(ort, attrs):
    """Clamp for output_half_pixel only, ceil grid, empty grid -> 0: what the spec (and onnx.reference) say."""
    rng = np.random.default_rng(20)
    x = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    rois = _rois(rng, 12, (-5.0, -0.6, 0.0, 0.4, 1.1, 3.0, 9.0))  # sub-pixel and inverted too
    if attrs.aligned and attrs.sampling_ratio <= 0:
        rois = rois[(rois[:, 3] >= rois[:, 1]) & (rois[:, 4] >= rois[:, 2])]  # see the next test
    got = _run(ort, attrs, x, rois)
    sem = onnx_semantics(to_onnx(attrs, Port.MAPPED, 16))
    np.testing.assert_allclose(got, _reference(sem, attrs, x, rois), atol=1e-5)
    other = dataclasses.replace(sem.convention, min_size=None if sem.convention.min_size else 1.0)
    assert np.max(np.abs(got - _reference(Semantics(other, sem.sampling_ratio), attrs, x, rois))) > 0.1


def test_onnxruntime_raises_on_a_mixed_sign_adaptive_grid(ort):
    """Declared: onnxruntime-mixed-sign-adaptive-grid-raises (the spec computes an empty grid, 0)."""
    x = np.random.default_rng(21).standard_normal((1, 1, 10, 12)).astype(np.float32)
    attrs = Attrs((1, 1), 1.0, -1, True)
    result = _send(ort, {"attrs": attrs.to_json()}, x, np.array([[0, 5, 5, 3, 8]], np.float32))  # grid (3, -2)
    assert result.status is Status.ERROR and "Integer overflow" in result.message
    both = _run(ort, attrs, x, np.array([[0, 5, 5, 3, 3]], np.float32))  # grid (-2, -2): 0 as specified
    np.testing.assert_array_equal(both, 0.0)


def test_onnx_opset_10_is_output_half_pixel(ort):
    rng = np.random.default_rng(22)
    x = rng.standard_normal((2, 2, 10, 12)).astype(np.float64)
    rois = _rois(rng, 6, (0.3, 2.0, 7.0)).astype(np.float64)
    attrs = Attrs((2, 3), 0.5, 0, False)
    got = _run(ort, attrs, x, rois, onnx_opset=10)
    sem = onnx_semantics(to_onnx(attrs, Port.MAPPED, 10))
    np.testing.assert_allclose(got, _reference(sem, attrs, x, rois), atol=1e-12)
    np.testing.assert_array_equal(got, _run(ort, attrs, x, rois, onnx_opset=16))
    aligned = _send(ort, {"attrs": Attrs((2, 3), 0.5, 0, True).to_json(), "onnx_opset": 10}, x, rois)
    assert aligned.status is Status.UNSUPPORTED and "opset 10" in aligned.message


def test_onnxruntime_argument_checks(ort):
    """What the runner's docstring states: -1 is rejected natively, float16 runs, int64 batch indices."""
    x = np.random.default_rng(23).standard_normal((2, 3, 8, 10)).astype(np.float32)
    rois = np.array([[0, 1, 1, 6, 5], [1, 2, 0.5, 9, 7]], np.float32)
    call = dataclasses.asdict(OnnxCall(2, 2, 1.0, -1, "half_pixel"))
    negative = _send(ort, {"attrs": Attrs((2, 2)).to_json(), "onnx_call": call}, x, rois)
    assert negative.status is Status.ERROR and "Sampling ratio should be >=0" in negative.message
    attrs = Attrs((2, 2), 1.0, 2, True)
    half = _run(ort, attrs, x.astype(np.float16), rois.astype(np.float16))
    np.testing.assert_allclose(half, _reference(Semantics(ONNX_HALF_PIXEL, 2), attrs, x.astype(np.float16), rois), atol=5e-3)
    wrong = _send(ort, {"attrs": attrs.to_json(), "raw": True}, x, rois.astype(np.float64))
    assert wrong.status is Status.ERROR


@pytest.mark.parametrize("attrs", CASES, ids=lambda a: a.label())
def test_paddle_follows_its_docs_except_the_empty_grid(paddle, attrs):
    """Documented (torchvision's conventions), but an empty adaptive grid gives NaN (paddle-adaptive-empty-grid-nan)."""
    rng = np.random.default_rng(24)
    x = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    rois = _rois(rng, 12, (-1.0, 0.0, 0.4, 1.1, 3.0, 9.0))  # unsorted batch indices; grids >= 0
    got = _run(paddle, attrs, x, rois)
    sem = paddle_semantics(to_paddle(attrs))
    expected = _reference(sem, attrs, x, rois)
    empty = attrs.aligned and attrs.sampling_ratio <= 0
    if empty:
        predicted = dataclasses.replace(sem.convention, empty_grid_nan=True)
        expected = _reference(Semantics(predicted, sem.sampling_ratio), attrs, x, rois)
        assert np.isnan(got).any()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_paddle_gradient_clamps_the_aligned_roi_size(paddle):
    """Declared: paddle-backward-clamps-aligned-roi-size (the forward does not clamp)."""
    rng = np.random.default_rng(25)
    x = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    rois = _rois(rng, 8, (0.3, 0.9, 4.0))
    attrs = Attrs((2, 3), 0.5, 2, True)
    w = rng.standard_normal((len(rois), 3, 2, 3)).astype(np.float32)
    result = _send(paddle, {"attrs": attrs.to_json(), "layout": "non-contiguous"}, x, rois, grad_weight=w)
    assert result.status is Status.OK, result.message
    args = (w, x.shape, rois, (2, 3), 0.5, 2)
    np.testing.assert_allclose(result.outputs["grad"], roi_align_backward(*args, dataclasses.replace(PADDLE_ALIGNED, min_size=1.0)), atol=1e-5)
    assert np.max(np.abs(result.outputs["grad"] - roi_align_backward(*args, PADDLE_ALIGNED))) > 0.1
    np.testing.assert_allclose(result.outputs["out"], _reference(Semantics(PADDLE_ALIGNED, 2), attrs, x, rois), atol=1e-5)


def test_paddle_defaults_and_dtypes(paddle):
    rng = np.random.default_rng(26)
    x = rng.standard_normal((1, 2, 10, 12))
    rois = _rois(rng, 4, (2.0, 5.0), batch=1).astype(np.float64)
    attrs = Attrs((2, 2), 0.5)  # torchvision defaults: sampling_ratio=-1, aligned=False
    ported = _run(paddle, attrs, x, rois, port=Port.DEFAULTS.value)
    np.testing.assert_allclose(ported, _reference(Semantics(PADDLE_ALIGNED, -1), attrs, x, rois), atol=1e-12)
    np.testing.assert_allclose(_run(paddle, attrs, x, rois), _reference(Semantics(PADDLE_UNALIGNED, -1), attrs, x, rois), atol=1e-12)
    half = _send(paddle, {"attrs": attrs.to_json()}, x.astype(np.float16), rois.astype(np.float16))
    assert half.status is Status.UNSUPPORTED


def test_seed_suite_runs_all_four_frameworks(tmp_path):
    r = parity_cli("run", "--suite", "seed", "--runners", ",".join(FRAMEWORKS), "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((tmp_path / "parity.json").read_text())
    summary = doc["summary"]
    for fw in FRAMEWORKS:
        assert summary[f"{fw} vs reference"] == {"PASS": 1}
    for fw in FRAMEWORKS[1:]:
        assert summary[f"{fw} vs torchvision"] == {"PASS": 1}


def test_mapping_lists_the_new_frameworks():
    r = parity_cli("mapping")
    assert r.returncode == 0
    for text in ("coordinate_transformation_mode", "half_pixel", "batch_indices", "boxes_num", "aligned = True"):
        assert text in r.stdout


@pytest.mark.slow
def test_standard_suite_with_four_frameworks(tmp_path):
    r = parity_cli("run", "--runners", ",".join(FRAMEWORKS), "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    doc = json.loads((tmp_path / "parity.json").read_text())
    summary = doc["summary"]
    explained = {"PASS", "EXPECTED_DIVERGENCE", "UNSUPPORTED", "UNDECIDABLE"}
    for fw in FRAMEWORKS:
        assert set(summary[f"{fw} vs reference"]) <= explained, summary
    assert set(summary["onnxruntime vs reference"]) <= {"PASS", "UNDECIDABLE"}  # UNDECIDABLE: float16 only
    assert summary["paddle vs reference"]["UNSUPPORTED"] == sum("-f16-" in c["id"] for c in doc["cases"])
    names = {d["name"] for d in doc["divergences"]}
    assert {"onnxruntime-ported-with-defaults", "paddle-ported-with-defaults"} <= names
