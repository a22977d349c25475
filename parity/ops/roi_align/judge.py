"""Verdicts for one case: each framework against the reference, then framework against framework.

Three-way blame: a framework is judged against the reference evaluated under what it documents
for its own call; the torchvision-vs-MindSpore pair is then explained by those verdicts and by
the declared divergences (parity.ops.roi_align.divergence), never by a looser tolerance.  A framework that
raises, crashes or hangs is judged on that behaviour: for invalid input (parity.ops.roi_align.invalid) raising
is the right answer, and returning numbers where the reference finds the input undefined is not.

The judge runs in three steps, one module each: own verdicts against the reference
(parity.ops.roi_align.judge_own), the pair (parity.ops.roi_align.judge_pair), then what each named
divergence explains (parity.ops.roi_align.judge_scope).  This module runs them for one case, forward
and backward, and says which reference evaluations they need.
"""
from __future__ import annotations

from parity.engine import evaluations, pairs
from parity.engine.behaviour import describe_behaviour
from parity.engine.model import Case, Comparison, RunResult, Status, Verdict
from parity.engine.op import REFERENCE
from parity.ops.roi_align.divergence import documented_semantics, predicted_semantics
from parity.ops.roi_align.judge_own import GRAD, gradient_against_reference, own_verdict
from parity.ops.roi_align.judge_pair import documented_keys, numeric_pair, pair_evidence, pair_verdict
from parity.ops.roi_align.judge_scope import in_scope
from parity.ops.roi_align.mapping import Semantics


def reference_semantics(case: Case, frameworks: tuple[str, ...]) -> list[Semantics]:
    """Every reference evaluation this case's verdicts need (documented + predicted), each once."""
    return evaluations.needed(frameworks, lambda fw: (
        documented_semantics(fw, case.attrs, case.port), predicted_semantics(fw, case), predicted_semantics(fw, case, backward=True),
    ))


def judge(case: Case, results: dict[str, RunResult], ref_result: RunResult) -> list[Comparison]:
    """All comparisons for one case.  Reference outputs are keyed by Semantics.key.

    The reference either computes (OK) or rejects undefined input (UNSUPPORTED); any other
    outcome is a failure of parity itself, reported as such (the one comparison whose actual is
    the reference) and never blamed on a framework.  It hides no framework's verdict either: what
    a framework did on its own (raise, crash, hang) needs no reference and is still judged.
    """
    frameworks = [fw for fw in results if fw != REFERENCE]
    if ref_result.status not in (Status.OK, Status.UNSUPPORTED):
        msg = f"parity's reference failed on this case ({describe_behaviour(ref_result)}); this is parity's failure, not a framework's"
        failed = Comparison(case.id, REFERENCE, "(documented semantics)", Verdict.ERROR, None, None, msg)
        return [failed] + [own_verdict(case, fw, results[fw], ref_result) for fw in frameworks if results[fw].status is not Status.OK]
    own = {fw: own_verdict(case, fw, results[fw], ref_result) for fw in frameworks}
    comparisons = list(own.values())
    for target, source in pairs.framework_pairs(frameworks):  # source: the framework migrated from
        comparisons.append(pair_verdict(case, source, target, results, own, ref_result))
    return [in_scope(case, c, results, ref_result) for c in comparisons + _gradients(case, frameworks, results, ref_result, own)]


def _gradients(
    case: Case, frameworks: list[str], results: dict[str, RunResult], ref_result: RunResult, forward: dict[str, Comparison]
) -> list[Comparison]:
    """Backward parity: each framework's gradient against the reference's exact vector-Jacobian
    product, then against the source framework's gradient."""
    if ref_result.status is not Status.OK:
        return []
    ref = ref_result.outputs
    with_grad = [fw for fw in frameworks if "grad" in results[fw].outputs]
    own = {fw: gradient_against_reference(case, fw, results[fw].outputs["grad"], forward[fw], ref) for fw in with_grad}
    comparisons = list(own.values())
    if len(with_grad) < 2:
        return comparisons
    for target, source in pairs.framework_pairs(with_grad):
        pair = (source, target)
        keys = documented_keys(case, source, target, GRAD)
        if any(k not in ref for k in keys):
            continue  # one side's gradient is undefined: its own comparison says so
        outputs = (results[source].outputs["grad"], results[target].outputs["grad"])
        comparisons.append(numeric_pair(case, pair, outputs, own, pair_evidence(ref, keys), backward=True))
    return comparisons

