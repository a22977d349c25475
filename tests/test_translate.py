import numpy as np
import pytest

from parity import translate
from parity.mapping import MindSporeCall
from parity.model import Attrs
from parity.reference import roi_align

from tests.test_cli import parity


def _reference_agrees(attrs: Attrs, call: MindSporeCall, t: translate.Translation, source_is_torchvision: bool):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 12, 14))
    x1 = rng.uniform(-2, 10, 8)
    rois = np.stack([rng.integers(0, 2, 8), x1, x1 / 2, x1 + rng.uniform(2, 8, 8), x1 / 2 + rng.uniform(2, 8, 8)], 1) / attrs.spatial_scale
    rois[:, 0] *= attrs.spatial_scale
    tv_rois, ms_rois = (rois, t.shift.apply(rois)) if source_is_torchvision else (t.shift.apply(rois), rois)
    tv_conv = translate.TORCHVISION_ALIGNED if attrs.aligned else translate.TORCHVISION_UNALIGNED
    a = roi_align(x, tv_rois, attrs.output_size, attrs.spatial_scale, attrs.sampling_ratio, tv_conv)
    b = roi_align(x, ms_rois, (call.pooled_height, call.pooled_width), call.spatial_scale, call.sample_num, translate.MINDSPORE_MODES[call.roi_end_mode])
    return float(np.max(np.abs(a - b)))


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("scale", [1.0, 0.25, 0.3])
def test_derived_translation_is_exact_on_the_documented_conventions(aligned, scale):
    attrs = Attrs((5, 3), scale, 2, aligned)
    call, t = translate.torchvision_to_mindspore(attrs)
    assert call.roi_end_mode == int(aligned)  # same clamp behaviour: no clamp condition needed
    assert _reference_agrees(attrs, call, t, True) < 1e-12
    back, t2 = translate.mindspore_to_torchvision(call)
    assert back == attrs
    assert _reference_agrees(back, call, t2, False) < 1e-12


def test_aligned_translation_shifts_rois_by_half_a_pixel_and_one_pixel():
    _, t = translate.torchvision_to_mindspore(Attrs((3, 3), 0.25, 2, True))
    assert (t.shift.start, t.shift.end) == (-2.0, -3.0)


def test_adaptive_sampling_is_declared_not_exact():
    _, t = translate.torchvision_to_mindspore(Attrs((3, 3), 0.25, -1, False))
    assert any("floor" in n for n in t.not_exact)


def test_translate_command_verifies_the_seed_example_with_aligned():
    r = parity("translate", "--output-size", "3", "--spatial-scale", "0.25", "--sampling-ratio", "2", "--aligned")
    assert r.returncode == 0, r.stderr
    assert "roi_end_mode=1" in r.stdout and "x1' = x1 - 2" in r.stdout
    lines = [ln for ln in r.stdout.splitlines() if "max |diff|" in ln]
    assert len(lines) == 5
    assert all(float(ln.split("=")[1].split()[0]) <= 1e-5 for ln in lines)
