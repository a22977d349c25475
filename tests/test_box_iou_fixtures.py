"""box_iou's shrinking, regression fixtures and a user's own boxes replayed with --fixtures."""
import json

import numpy as np
import pytest

from parity import ops
from parity.engine.errors import FixtureError
from parity.engine.model import Port
from parity.ops.box_iou import fixtures
from parity.ops.box_iou.shrink import shrink
from parity.ops.box_iou.signature import Attrs
from parity.ops.box_iou.suites import case as make_case

from tests.test_cli import parity

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

OP = ops.get("box_iou")


def _tv(case) -> np.ndarray:
    return torchvision.ops.box_iou(torch.from_numpy(case.boxes1), torch.from_numpy(case.boxes2)).numpy()


def test_shrink_keeps_only_the_boxes_that_fail():
    """A failure that needs exactly one pair: by hand, [0,0,2,2] and [1.25,1,3,3] overlap 0.75 of a union 6.75."""
    rng = np.random.default_rng(3)
    b1 = np.concatenate([rng.uniform(100, 200, (6, 2)), rng.uniform(300, 400, (6, 2))], axis=1)
    b2 = np.concatenate([rng.uniform(500, 600, (5, 2)), rng.uniform(700, 800, (5, 2))], axis=1)
    b1[4], b2[2] = [0, 0, 2, 2], [1.25, 1, 3, 3]
    big = make_case("box_iou[mode=iou]-f32-mapped-random-s0-1-6x5", "random", Attrs(), b1, b2, "float32", Port.MAPPED, ("random",))
    fails = lambda c: bool((np.abs(_tv(c) - 0.75 / 6.75) < 1e-6).any())  # noqa: E731 - the planted pair is there
    small = shrink(big, fails)
    assert small.boxes1.shape == (1, 4) and small.boxes2.shape == (1, 4) and fails(small)
    np.testing.assert_array_equal(small.boxes1, [[0, 0, 2, 2]])
    assert small.suite == "regressions" and small.id.endswith("-shrunk") and small.dtype == "float32"


def test_a_regression_is_saved_and_replays_as_it_was(tmp_path):
    case = next(c for c in OP.cases("standard") if "nested" in c.id)
    folder = tmp_path / "regressions"
    OP.save_regression(case, folder)
    OP.save_regression(case, folder)  # saving twice keeps one
    [back] = OP.load_fixtures(folder, 10**6, None)
    assert back.id == case.id and back.port is case.port and back.attrs == case.attrs
    np.testing.assert_array_equal(back.boxes1, case.boxes1)
    assert back.boxes1.dtype == case.boxes1.dtype
    assert len(json.loads((folder / fixtures.MANIFEST).read_text())["cases"]) == 1


def test_a_users_boxes_become_mapped_and_translated_cases(tmp_path):
    np.savez(tmp_path / "mine.npz", boxes1=np.array([[0, 0, 2, 2]], np.float32), boxes2=np.array([[1, 1, 3, 3]], np.float32))
    cases = OP.load_fixtures(tmp_path, 10**6, None)
    assert sorted(c.port.value for c in cases) == ["mapped", "translated"]
    assert OP.load_fixtures(tmp_path, 10**6, "mode == 'iof'") == []


@pytest.mark.parametrize(
    "arrays, words",
    [({"boxes1": np.zeros((1, 4))}, "no boxes2"), ({"boxes1": np.zeros((1, 4)), "boxes2": np.zeros((1, 4)), "mode": "giou"}, "mode 'giou'")],
)
def test_a_bad_user_file_is_one_clear_line(tmp_path, arrays, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FixtureError, match=words):
        OP.load_fixtures(tmp_path, 10**6, None)
    with pytest.raises(FixtureError, match="cap"):
        np.savez(tmp_path / "bad.npz", boxes1=np.zeros((100, 4)), boxes2=np.zeros((100, 4)))
        OP.load_fixtures(tmp_path, 100, None)


def test_run_with_fixtures_judges_a_users_boxes(tmp_path):
    folder = tmp_path / "boxes"
    folder.mkdir()
    np.savez(folder / "mine.npz", boxes1=np.array([[0, 0, 2, 2], [1, 1, 3, 3]], np.float32), boxes2=np.array([[1, 1, 3, 3], [0, 0, 1, 1]], np.float32))
    out = tmp_path / "run"
    r = parity("run", "--op", "box_iou", "--fixtures", str(folder), "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((out / "parity.json").read_text())
    verdicts = {(c["id"], k["actual"], k["expected"]): k["verdict"] for c in doc["cases"] for k in c["comparisons"]}
    assert verdicts[("box_iou[mode=iou]-translated-mine", "mindspore", "torchvision")] == "PASS"  # the exact translation
    assert verdicts[("box_iou[mode=iou]-mapped-mine", "torchvision", "reference")] == "PASS"
    bad = tmp_path / "empty"
    bad.mkdir()
    r = parity("run", "--op", "box_iou", "--fixtures", str(bad), "--out", str(tmp_path / "r2"))
    assert r.returncode == 2 and "no .npz files" in r.stderr + r.stdout


def test_the_random_suites_shrunk_float16_overflow_is_undecidable_not_a_changed_divergence():
    """Found by the random suite and shrunk to one box each: areas of 386 x 292 = 112712 exceed
    float16's 65504, and MindSpore's float16 kernel returns NaN there; no verdict can blame that."""
    from parity.engine.model import RunResult, Status, Verdict

    from tests.test_box_iou import _mindspore_iou
    from tests.test_box_iou_invalid import _judged

    case = make_case("shrunk", "regressions", Attrs(), np.array([[108, 550, 494, 842]]), np.array([[124, 295, 610, 888]]), "float16", Port.TRANSLATED, ())
    shift = np.array([0, 0, 1, 1], np.float16)
    ms = _mindspore_iou(case.boxes2 - shift, case.boxes1 - shift)
    assert ms.dtype == np.float16 and not np.isfinite(ms).all()  # measured: the overflow's NaN
    results = {"mindspore": RunResult(case.id, "mindspore", Status.OK, {"out": ms}), "torchvision": RunResult(case.id, "torchvision", Status.OK, {"out": _tv(case)})}
    judged = _judged(case, results)
    assert judged[("mindspore", "reference")].verdict is Verdict.UNDECIDABLE
    assert judged[("mindspore", "torchvision")].verdict is Verdict.UNDECIDABLE
    assert judged[("torchvision", "reference")].verdict is Verdict.EXPECTED_DIVERGENCE  # float32 inside: no overflow
