import numpy as np

from parity.ops.roi_align import fixtures, generate
from parity.ops.roi_align.random_suite import random_case
from parity.ops.roi_align.shrink import save_regression, shrink


def test_random_cases_are_reproducible_distinct_and_robustness_cases_are_marked():
    a, b = random_case(3, 7), random_case(3, 7)
    assert a.id == b.id
    np.testing.assert_array_equal(a.features, b.features)
    cases = generate.cases_for("random", budget=400, seed=3)
    assert len({c.id for c in cases}) == 400
    assert [c.id for c in generate.cases_for("random", budget=40, seed=3)] == [c.id for c in cases[:40]]  # a prefix
    for c in cases:
        r = c.rois.astype(np.float64)
        finite = np.isfinite(r).all()
        same_dtype = c.rois.dtype == c.features.dtype
        in_batch = (r[:, 0] > -1).all() and (r[:, 0] < c.features.shape[0]).all()
        if not c.invalid:  # inside the domain: the reference defines the result for torchvision
            assert finite and same_dtype and in_batch, c.id
        else:  # outside it: marked like the invalid suite's cases, with the kind of bad input
            assert c.tags[0] == "invalid" and c.tags[1] in c.id, c.id
            grid_overflow = c.attrs.sampling_ratio <= 0 and c.attrs.spatial_scale >= 1e12
            assert not (finite and same_dtype and in_batch) or grid_overflow, c.id
    kinds = {c.tags[1] for c in cases}
    assert {"plain", "batch-index", "float16-large", "huge-scale", "dtype-mismatch", "adaptive-grid-overflow"} <= kinds
    assert {"coordinate-nan", "coordinate-inf", "coordinate-negative-inf"} <= kinds
    halves = {float(b) % 1 for c in cases if c.tags[1] == "batch-index" for b in c.rois[:, 0].astype(np.float64)}
    assert 0.5 in halves and any(abs(f - 0.5) < 2e-4 and f != 0.5 for f in halves)


def test_shrinking_keeps_only_what_the_failure_needs(tmp_path):
    case = next(c for c in generate.cases_for("random", budget=200, seed=1) if c.features.shape[1] >= 3 and len(c.rois) >= 4)
    culprit = case.rois[2].copy()

    def fails(candidate):  # "fails" while the culprit roi and channel 1's values are present
        has_roi = any(np.array_equal(r[1:], culprit[1:]) for r in candidate.rois)
        has_channel = any(np.array_equal(candidate.features[:, i], case.features[:, 1]) for i in range(candidate.features.shape[1]))
        return has_roi and has_channel

    small = shrink(case, fails)
    assert len(small.rois) == 1 and small.features.shape[1] == 1 and small.attrs.output_size == (1, 1)
    assert fails(small) and small.id.endswith("-shrunk")
    save_regression(small, tmp_path)
    save_regression(small, tmp_path)  # idempotent
    [loaded] = fixtures.load(tmp_path)
    assert loaded.id == small.id
    np.testing.assert_array_equal(loaded.rois, small.rois)


def test_a_failing_random_case_is_shrunk_and_replays_from_its_fixture(tmp_path, monkeypatch):
    from parity.engine import results, session
    from parity.ops.roi_align.runners import RUNNERS

    monkeypatch.setitem(RUNNERS, "mindspore", "tests.wrong_framework")
    meta = results.RunMeta("random", "aligned=0,sr=2", ("torchvision", "mindspore", "reference"), budget=60, seed=11)
    cases = [c for c in meta.all_cases() if c.dtype == "float32"][:3]
    report = session.run(cases, meta, tmp_path / "out", regressions=tmp_path / "regressions")
    assert report.shrunk, "the wrong framework was not caught"
    replayed = fixtures.load(tmp_path / "regressions")
    assert {c.id for c in replayed} == set(report.shrunk)
    for small in replayed:
        assert len(small.rois) == 1 and small.features.shape[1] == 1
    again = session.run(replayed, meta, tmp_path / "again")
    assert any(c.verdict.unexpected for c in again.comparisons)


def test_a_shrunk_robustness_case_is_still_judged_on_behaviour(tmp_path):
    case = next(c for c in generate.cases_for("random", budget=200, seed=2) if c.invalid and len(c.rois) > 1)
    small = shrink(case, lambda candidate: True)
    assert small.invalid and "invalid" in small.tags and len(small.rois) == 1
    save_regression(small, tmp_path)
    [loaded] = fixtures.load(tmp_path)
    assert loaded.invalid


def test_float16_large_cases_keep_large_grids_within_the_sample_cap():
    from parity.ops.roi_align.random_suite import FLOAT16_LARGE_SAMPLES

    cases = [c for c in generate.cases_for("random", budget=1500, seed=5) if c.tags[1] == "float16-large"]
    assert len(cases) >= 100
    grids = []
    for c in cases:
        n, ch, h, w = c.features.shape
        (ph, pw), sr = c.attrs.output_size, c.attrs.sampling_ratio
        side = sr if sr > 0 else max(h, w)
        assert len(c.rois) * ch * ph * pw * side * side <= FLOAT16_LARGE_SAMPLES or (len(c.rois), ch, ph, pw) == (1, 1, 1, 1), c.id
        grids.append(sr)
    assert 256 in grids and 200 in grids and 128 in grids  # the grids this kind is about are still drawn
    assert any(len(c.rois) > 1 or c.features.shape[1] > 1 for c in cases if c.attrs.sampling_ratio <= 32)
