"""parity.ops.roi_align.capture: a real model's torchvision roi_align calls become a fixture folder that replays."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import parity
from parity.ops.roi_align import fixtures
from parity.engine.errors import UsageError

torch = pytest.importorskip("torch", reason="parity.ops.roi_align.capture records torchvision calls")
torchvision = pytest.importorskip("torchvision", reason="parity.ops.roi_align.capture records torchvision calls")
from torchvision.ops import MultiScaleRoIAlign  # noqa: E402
from torchvision.ops import poolers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROI_ALIGN = sys.modules["torchvision.ops.roi_align"]


def _bindings() -> tuple:
    return torchvision.ops.roi_align, ROI_ALIGN.roi_align, poolers.roi_align


def _feature_maps(image: int = 64):
    """FPN-like maps at strides 4, 8, 16 of an ``image`` x ``image`` picture."""
    g = torch.Generator().manual_seed(0)
    return {str(i): torch.randn(2, 3, image // s, image // s, generator=g) for i, s in enumerate((4, 8, 16))}


def test_multiscale_roi_align_calls_are_recorded_with_their_real_arguments(tmp_path):
    before = _bindings()
    pool = MultiScaleRoIAlign(["0", "1", "2"], output_size=5, sampling_ratio=2)
    maps = _feature_maps()
    boxes = [torch.tensor([[1.0, 2.0, 30.0, 40.0], [0.5, 0.5, 8.0, 9.0]]), torch.tensor([[3.0, 4.0, 60.0, 50.0]])]
    with parity.capture(tmp_path / "cap") as summary:
        out = pool(maps, boxes, [(64, 64), (64, 64)])
        assert _bindings() != before  # the lookups go through the recorder while it is active
    assert _bindings() == before
    assert summary.calls == summary.recorded == 3 and summary.dropped == {"max_calls": 0, "max_bytes": 0, "unsupported": 0}
    cases = fixtures.load(tmp_path / "cap")
    # MultiScaleRoIAlign's own inference of the levels' scales (from the feature maps' sizes).
    assert sorted(c.attrs.spatial_scale for c in cases) == sorted(pool.scales) == [1 / 16, 1 / 8, 1 / 4]
    assert {c.attrs.output_size for c in cases} == {(5, 5)} and {c.attrs.sampling_ratio for c in cases} == {2}
    assert all(not c.attrs.aligned for c in cases)
    by_scale = {c.attrs.spatial_scale: c for c in cases}
    for name, scale in zip(("0", "1", "2"), (1 / 4, 1 / 8, 1 / 16)):
        np.testing.assert_array_equal(by_scale[scale].features, maps[name].numpy())
    # Every roi went to some level, with its image index in front (torchvision's roi format).
    rois = np.concatenate([c.rois for c in cases])
    expected = poolers._convert_to_roi_format(boxes).numpy()
    assert sorted(map(tuple, rois)) == sorted(map(tuple, expected))
    assert all("poolers._multiscale_roi_align" in c.id and c.suite == "captured" for c in cases)
    assert out.shape == (3, 3, 5, 5)


def test_a_direct_call_with_a_list_of_boxes_is_converted_as_torchvision_does(tmp_path):
    x = torch.randn(2, 2, 9, 11, dtype=torch.float64)
    boxes = [torch.tensor([[0.0, 1.0, 5.0, 6.0]], dtype=torch.float64), torch.tensor([[1.0, 1.0, 4.0, 8.0], [2.0, 0.0, 9.0, 3.0]], dtype=torch.float64)]
    with parity.capture(tmp_path) as summary:
        got = torchvision.ops.roi_align(x, boxes, [3, 2], 0.5, -1, True)
    [case] = fixtures.load(tmp_path)
    assert summary.recorded == 1 and case.boxes == "list" and case.dtype == "float64"
    assert (case.attrs.output_size, case.attrs.spatial_scale, case.attrs.sampling_ratio, case.attrs.aligned) == ((3, 2), 0.5, -1, True)
    from torchvision.ops._utils import convert_boxes_to_roi_format

    np.testing.assert_array_equal(case.rois, convert_boxes_to_roi_format(boxes).numpy())
    # The recorded call gives what the model got.
    again = torchvision.ops.roi_align(torch.from_numpy(case.features), torch.from_numpy(case.rois), (3, 2), 0.5, -1, True)
    torch.testing.assert_close(again, got, rtol=0, atol=0)


def test_bindings_are_restored_when_the_block_raises(tmp_path):
    before = _bindings()
    x, rois = torch.randn(1, 1, 4, 4), torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]])
    with pytest.raises(ZeroDivisionError):
        with parity.capture(tmp_path):
            torchvision.ops.roi_align(x, rois, 2)
            raise ZeroDivisionError
    assert _bindings() == before
    assert len(fixtures.load(tmp_path)) == 1  # what was recorded before the error is kept


def test_caps_on_calls_and_bytes_drop_the_rest_and_say_so(tmp_path):
    x, rois = torch.randn(1, 2, 8, 8), torch.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]])
    with parity.capture(tmp_path / "n", max_calls=2) as by_count:
        for _ in range(5):
            torchvision.ops.roi_align(x, rois, 2)
    one = x.numpy().nbytes + rois.numpy().nbytes
    with parity.capture(tmp_path / "b", max_bytes=one + 1) as by_size:
        for _ in range(3):
            torchvision.ops.roi_align(x, rois, 2)
        with pytest.raises(RuntimeError):  # torchvision's CPU kernel has no bfloat16; the fixture format neither
            torchvision.ops.roi_align(x.to(torch.bfloat16), rois.to(torch.bfloat16), 2)
    assert (by_count.recorded, by_count.dropped["max_calls"]) == (2, 3)
    assert (by_size.recorded, by_size.dropped["max_bytes"], by_size.dropped["unsupported"]) == (1, 2, 1)
    manifest = json.loads((tmp_path / "n" / "manifest.json").read_text())
    assert manifest["captured"]["dropped"]["max_calls"] == 3 and len(manifest["cases"]) == 2
    assert "3 over max_calls" in str(by_count)


def test_bad_caps_and_nesting_are_refused(tmp_path):
    with pytest.raises(UsageError, match="max_calls"):
        parity.capture(tmp_path, max_calls=0)
    with parity.capture(tmp_path / "a"):
        with pytest.raises(UsageError, match="nest"):
            with parity.capture(tmp_path / "b"):
                pass


def _parity(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "parity.shells.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=900)


@pytest.mark.slow
def test_a_mask_rcnn_under_capture_replays_with_a_verdict_for_every_call(tmp_path):
    torch.manual_seed(0)
    model = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=64, max_size=96
    ).eval()
    image = torch.rand(3, 64, 96)
    with torch.no_grad(), parity.capture(tmp_path / "captured") as summary:
        model([image])
    assert summary.recorded == summary.calls > 0
    cases = fixtures.load(tmp_path / "captured")
    # The FPN levels' scales as the model's own MultiScaleRoIAlign inferred them: strides 4 to 32.
    pooler_scales = model.roi_heads.box_roi_pool.scales
    assert sorted(pooler_scales) == [2.0**-k for k in (5, 4, 3, 2)]
    assert {c.attrs.spatial_scale for c in cases} == set(pooler_scales)
    assert {c.attrs.output_size for c in cases} <= {(7, 7), (14, 14)}  # box head, mask head
    assert sum(len(c.rois) for c in cases if c.attrs.output_size == (7, 7)) > 0  # the RPN's proposals
    assert all(math.isfinite(v) for c in cases for v in c.rois.ravel())
    r = _parity("run", "--fixtures", str(tmp_path / "captured"), "--out", str(tmp_path / "run"))
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads((tmp_path / "run" / "parity.json").read_text())
    judged = {c["id"]: {x["verdict"] for x in c["comparisons"]} for c in doc["cases"]}
    assert set(judged) == {c.id for c in cases}
    pairs = {c["id"]: len(c["comparisons"]) for c in doc["cases"]}
    assert all(n >= 3 for n in pairs.values()), pairs  # each framework vs the reference, and vs torchvision
