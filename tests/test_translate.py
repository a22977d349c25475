import numpy as np
import pytest

from parity.ops.roi_align import translate
from parity.ops.roi_align.mapping import MindSporeCall
from parity.ops.roi_align.attrs import Attrs
from parity.ops.roi_align.reference import roi_align

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


def _random_inputs(tmp_path, fractional_batch=False):
    rng = np.random.default_rng(3)
    features = rng.standard_normal((2, 3, 20, 24)).astype(np.float32)
    k = 9
    x1, y1 = rng.uniform(0, 250, k), rng.uniform(0, 200, k)
    batch = rng.integers(0, 2, k) + (0.6 if fractional_batch else 0.0)
    batch = np.minimum(batch, 1.4)
    rois = np.stack([batch, x1, y1, x1 + rng.uniform(16, 120, k), y1 + rng.uniform(16, 120, k)], 1).astype(np.float32)
    np.save(tmp_path / "f.npy", features)
    np.save(tmp_path / "r.npy", rois)
    return features, rois


def _run_script(text, tmp_path, name):
    import subprocess
    import sys

    script = tmp_path / f"{name}.py"
    script.write_text(text)
    out = tmp_path / f"{name}.npy"
    r = subprocess.run([sys.executable, str(script), str(tmp_path / "f.npy"), str(tmp_path / "r.npy"), str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return np.load(out)


def test_python_format_prints_a_script_that_reproduces_torchvision_in_mindspore(tmp_path):
    import torch
    from torchvision.ops import roi_align as tv_roi_align

    features, rois = _random_inputs(tmp_path)
    r = parity("translate", "--output-size", "7", "--spatial-scale", "1/16", "--sampling-ratio", "2", "--aligned",
               "--format", "python")
    assert r.returncode == 0, r.stderr
    assert "spatial_scale=0.0625" in r.stdout and "import mindspore" in r.stdout
    got = _run_script(r.stdout, tmp_path, "translated")
    expected = tv_roi_align(torch.from_numpy(features), torch.from_numpy(rois), output_size=7, spatial_scale=1 / 16,
                            sampling_ratio=2, aligned=True).numpy()
    np.testing.assert_allclose(got, expected, rtol=1.3e-6, atol=1e-5)  # float32 rounding
    # the roi shift is what makes it exact: without it the same MindSpore call is far off
    unshifted = _run_script(r.stdout.replace("+= -8.0", "+= 0.0").replace("+= -9.0", "+= 0.0"), tmp_path, "renamed")
    assert np.max(np.abs(unshifted - expected)) > 0.1


def test_python_format_from_mindspore_reproduces_mindspore_in_torchvision(tmp_path):
    import subprocess
    import sys

    features, rois = _random_inputs(tmp_path)
    args = ["--from", "mindspore", "--pooled-height", "7", "--pooled-width", "7", "--spatial-scale", "0.0625",
            "--sample-num", "2", "--roi-end-mode", "1"]
    r = parity("translate", *args, "--format", "python")
    assert r.returncode == 0, r.stderr
    got = _run_script(r.stdout, tmp_path, "torchvision_side")
    code = ("import numpy as np, sys, mindspore; from mindspore import ops; f, r = np.load(sys.argv[1]), np.load(sys.argv[2]); "
            "np.save(sys.argv[3], ops.ROIAlign(7, 7, 0.0625, 2, 1)(mindspore.Tensor(f), mindspore.Tensor(r)).asnumpy())")
    ms = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f.npy"), str(tmp_path / "r.npy"), str(tmp_path / "ms.npy")],
                        capture_output=True, text=True, timeout=600)
    assert ms.returncode == 0, ms.stderr
    np.testing.assert_allclose(got, np.load(tmp_path / "ms.npy"), rtol=1.3e-6, atol=1e-5)


def test_translate_exits_1_and_says_why_when_not_exact():
    for fmt in ("table", "python"):
        r = parity("translate", "--sampling-ratio", "-1", "--format", fmt, "--no-verify")
        assert r.returncode == 1
        assert "not exact" in r.stderr and "adaptive sampling" in r.stderr
        assert "import mindspore" not in r.stdout


def test_translate_verifies_on_the_users_arrays_with_pass_and_fail_rows(tmp_path):
    _random_inputs(tmp_path)
    args = ["translate", "--output-size", "7", "--spatial-scale", "1/16", "--sampling-ratio", "2", "--aligned",
            "--features", str(tmp_path / "f.npy"), "--rois", str(tmp_path / "r.npy")]
    good = parity(*args)
    assert good.returncode == 0, good.stdout + good.stderr
    rows = [ln for ln in good.stdout.splitlines() if "max |diff|" in ln]
    assert len(rows) == 1 and rows[0].split()[0] == "pass"
    # a fractional batch index breaks an exactness condition: torchvision truncates it, MindSpore rounds it
    _random_inputs(tmp_path, fractional_batch=True)
    bad = parity(*args)
    assert bad.returncode == 1
    assert [ln.split()[0] for ln in bad.stdout.splitlines() if "max |diff|" in ln] == ["fail"]
    lone = parity("translate", "--features", str(tmp_path / "f.npy"))
    assert lone.returncode == 2 and len(lone.stderr.strip().splitlines()) == 1
