"""Regression folders (parity.engine.regressions): what a random suite keeps replays as it was."""
import json

import numpy as np
import pytest

from parity import ops
from parity.engine import regressions
from parity.engine.errors import FixtureError
from parity.engine.model import Port
from parity.ops.nms import signature
from parity.ops.nms.suites import case as nms_case

NAMES = ("boxes", "scores")


def _batched():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [30, 30, 40, 40]]
    return nms_case("nms-t", "random", signature.Attrs(0.5, batched=True), boxes, [0.9, 0.8, 0.7], "float32", Port.MAPPED, ("r",), idxs=[0, 0, 1])


def test_a_kept_case_replays_with_every_input_its_attrs_port_and_tags(tmp_path):
    case = regressions.as_regression(_batched(), _batched())
    regressions.add(case, tmp_path, "nms", signature.Attrs.from_json, NAMES)
    (back,) = ops.get("nms").load_fixtures(tmp_path, 1 << 20, None)
    assert back.id == "nms-t-shrunk" and back.suite == "regressions" and back.tags[-1] == "shrunk"
    assert back.attrs == case.attrs and back.port is Port.MAPPED and back.op == "nms"
    assert set(back.inputs) == {"boxes", "scores", "idxs"}
    for name in back.inputs:
        np.testing.assert_array_equal(back.inputs[name], case.inputs[name])
        assert back.inputs[name].dtype == case.inputs[name].dtype


def test_adding_a_case_of_the_same_id_replaces_it(tmp_path):
    case = _batched()
    regressions.add(case, tmp_path, "nms", signature.Attrs.from_json, NAMES)
    regressions.add(case.with_inputs(scores=np.array([0.1, 0.2, 0.3], np.float32)), tmp_path, "nms", signature.Attrs.from_json, NAMES)
    (back,) = regressions.load(tmp_path, 1 << 20, "nms", signature.Attrs.from_json, NAMES)
    np.testing.assert_array_equal(back.scores, np.array([0.1, 0.2, 0.3], np.float32))


def test_another_ops_folder_and_an_oversized_case_are_one_clear_refusal(tmp_path):
    regressions.add(_batched(), tmp_path, "nms", signature.Attrs.from_json, NAMES)
    with pytest.raises(FixtureError, match="--op nms"):
        regressions.load(tmp_path, 1 << 20, "box_iou", signature.Attrs.from_json, NAMES)
    with pytest.raises(FixtureError, match="cap per case"):
        regressions.load(tmp_path, 16, "nms", signature.Attrs.from_json, NAMES)
    manifest = tmp_path / regressions.MANIFEST
    manifest.write_text(json.dumps({"op": "nms", "cases": [{"id": "x"}]}))
    with pytest.raises(FixtureError, match="unreadable"):
        regressions.load(tmp_path, 1 << 20, "nms", signature.Attrs.from_json, NAMES)


def test_a_file_outside_the_folder_is_never_read(tmp_path):
    outside = tmp_path / "outside.npz"
    np.savez(outside, boxes=np.zeros((1, 4), np.float32), scores=np.zeros(1, np.float32))
    folder = tmp_path / "kept"
    regressions.add(_batched(), folder, "nms", signature.Attrs.from_json, NAMES)
    doc = json.loads((folder / regressions.MANIFEST).read_text())
    doc["cases"][0]["file"] = "../outside.npz"
    (folder / regressions.MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(FixtureError, match="not a readable"):
        regressions.load(folder, 1 << 20, "nms", signature.Attrs.from_json, NAMES)
