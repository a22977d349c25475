"""Backward parity and determinism, end to end through the frameworks."""
import json

import pytest

from tests.test_cli import parity


@pytest.fixture(scope="module")
def grad_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("grad")
    r = parity("run", "--grad", "--repeat", "2", "-k", "f32-inside", "--out", str(out))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return json.loads((out / "parity.json").read_text()), r.stdout


def test_gradients_are_judged_for_every_convention(grad_run):
    doc, _ = grad_run
    summary = doc["summary"]
    n = len(doc["cases"])
    assert summary["torchvision (grad) vs reference"] == {"PASS": n}
    ms = summary["mindspore (grad) vs reference"]
    assert sum(ms.values()) == n and ms.get("EXPECTED_DIVERGENCE", 0) > 0
    by_name = {d["name"]: d for d in doc["divergences"]}
    assert by_name["mindspore-backward-ignores-roi-end-mode"]["max_abs"] > 0.1
    conventions = {c["attrs"]["aligned"] for c in doc["cases"]}
    assert conventions == {True, False}


def test_determinism_figures_cover_forward_and_backward(grad_run):
    doc, stdout = grad_run
    rows = {(r["runner"], r["output"]): r for r in doc["determinism"]}
    for runner in ("torchvision", "mindspore"):
        for output in ("out", "grad"):
            assert rows[(runner, output)]["cases"] == len(doc["cases"])
    assert "determinism torchvision backward" in stdout


def test_cuda_runner_is_skipped_cleanly_without_a_gpu(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: the CUDA runner really runs here")
    r = parity("run", "--suite", "seed", "--runners", "torchvision,torchvision-cuda", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "parity.json").read_text())
    assert doc["summary"]["torchvision-cuda vs reference"] == {"UNSUPPORTED": 1}
