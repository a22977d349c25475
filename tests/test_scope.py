"""What a divergence explains is measured where it applies: magnitudes over the elements it covers,
and what came back where a prediction leaves the output unspecified."""
import numpy as np

from parity.ops.roi_align import judge
from parity.engine import summary
from parity.engine.model import Case, RunResult, Status, Verdict
from parity.ops.roi_align.attrs import Attrs
from parity.ops.roi_align.reference import roi_align
from parity.engine.session import RunReport
from tests.test_judge import FRAMEWORKS, _behaves_as_declared, _verdicts

#: MindSpore's stale output in a roi it skips: far from anything the call computes.
GARBAGE = 6.0e4


def _skipped_roi_case(aligned: bool) -> Case:
    """Three rois, the last with x1 = x2 = 0 (MindSpore skips it: mindspore-skips-rois-at-x-zero)."""
    rng = np.random.default_rng(7)
    features = rng.standard_normal((1, 2, 8, 9)).astype(np.float32)
    rois = np.array([[0, 1.0, 1.0, 6.0, 5.0], [0, 2.5, 0.5, 8.0, 7.0], [0, 0.0, 1.0, 0.0, 6.0]], np.float32)
    return Case(f"scope-aligned={int(aligned)}", "test", Attrs((3, 3), 1.0, 2, aligned), {"features": features, "rois": rois})


def _mindspore_leaves(case: Case, value: float) -> dict[str, RunResult]:
    results = {fw: _behaves_as_declared(case, fw) for fw in FRAMEWORKS}
    out = results["mindspore"].outputs["out"].copy()
    out[2] = value
    results["mindspore"] = RunResult(case.id, "mindspore", Status.OK, {"out": out})
    return results


def test_largest_difference_explained_is_measured_over_the_divergence_s_own_elements():
    case = _skipped_roi_case(aligned=True)
    v = _verdicts(case, _mindspore_leaves(case, GARBAGE))
    pair = v["pair"]
    assert pair.verdict is Verdict.EXPECTED_DIVERGENCE
    assert set(pair.divergence.split(", ")) == {"aligned-vs-roi-end-mode-1", "mindspore-skips-rois-at-x-zero"}
    assert pair.metrics.max_abs > GARBAGE / 2  # the whole comparison holds the stale roi
    # The window difference, from the two documented semantics alone (independent of the judge):
    tv, ms = (roi_align(case.features, case.rois, (3, 3), 1.0, 2, conv) for conv in (
        judge.documented_semantics(f, case.attrs, case.port).convention for f in FRAMEWORKS))
    window = float(np.abs(tv - ms)[:2].max())
    assert 0.05 < window < 10
    explained = dict(pair.explained)
    assert abs(explained["aligned-vs-roi-end-mode-1"] - window) < 1e-3
    assert explained["mindspore-skips-rois-at-x-zero"] > GARBAGE / 2

    report = RunReport("test", ("torchvision", "mindspore", "reference"), {}, "", list(v.values()))
    seen = {s.divergence.name: s for s in summary.divergences_seen(report)}
    assert abs(seen["aligned-vs-roi-end-mode-1"].max_abs - window) < 1e-3
    assert seen["mindspore-skips-rois-at-x-zero"].max_abs > GARBAGE / 2


def test_a_variant_divergence_is_measured_where_its_prediction_differs():
    """mindspore-adaptive-sampling (floor grid): only bins whose grid changes count."""
    case = _skipped_roi_case(aligned=False)
    case = Case("scope-adaptive", "test", Attrs((3, 3), 1.0, 0, False), {"features": case.features, "rois": case.rois[:2]})
    v = _verdicts(case, {fw: _behaves_as_declared(case, fw) for fw in FRAMEWORKS})
    own = v["mindspore"]
    assert own.verdict is Verdict.EXPECTED_DIVERGENCE and own.divergence == "mindspore-adaptive-sampling"
    assert dict(own.explained)["mindspore-adaptive-sampling"] == own.metrics.max_abs > 0.01


def test_the_report_shows_what_skipped_rois_returned():
    case = _skipped_roi_case(aligned=False)
    for value, shown in ((0.0, "returned all zeros"), (1.25, "returned values from 1.25 to 1.25")):
        v = _verdicts(case, _mindspore_leaves(case, value))
        for c in (v["mindspore"], v["pair"]):
            assert c.verdict is Verdict.EXPECTED_DIVERGENCE, c.message
            assert f"[mindspore-skips-rois-at-x-zero] mindspore rois [2]: {shown}; the documented semantics give" in c.message


def test_explained_magnitudes_survive_the_results_log():
    case = _skipped_roi_case(aligned=True)
    pair = _verdicts(case, _mindspore_leaves(case, GARBAGE))["pair"]
    again = type(pair).from_json(case.id, pair.to_json())
    assert again.explained == pair.explained and again == pair


def test_the_divergence_section_says_what_came_back():
    from parity.reporters import markdown

    case = _skipped_roi_case(aligned=False)
    v = _verdicts(case, _mindspore_leaves(case, 0.0))
    report = RunReport("test", ("torchvision", "mindspore", "reference"), {}, "", list(v.values()), cases=1)
    seen = {s.divergence.name: s for s in summary.divergences_seen(report)}
    held = seen["mindspore-skips-rois-at-x-zero"].held
    assert len(held) == 1 and held[0].startswith(f"{case.id}: mindspore rois [2]: returned all zeros; the documented")
    assert held[0].endswith(".") and not held[0].endswith("..")
    assert f"- came back: `{held[0]}`" in markdown.render(report, [case])
