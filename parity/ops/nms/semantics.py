"""Which reference evaluations a case's verdicts need: each framework's documented semantics, and
what each declared divergence predicts it computes."""
from __future__ import annotations

from itertools import combinations

from parity.engine import evaluations
from parity.engine.model import Case
from parity.ops.nms.divergences import applicable
from parity.ops.nms.reference import Semantics

#: Both document greedy NMS discarding IoU > iou_threshold, kept indices in decreasing score
#: (the migration note presents output_idx[selected_mask] as torchvision's indices); equal scores
#: by ascending index is torchvision's CPU sort (stable=True), which its documentation leaves open.
DOCUMENTED = Semantics("documented")

#: The ONNX NonMaxSuppression spec (opset 11): greedy, IoU > iou_threshold suppresses, boxes are
#: "any diagonal pair of box corners", iou_threshold is a tensor(float) (so the comparison is with
#: float32(t)); selected_indices in decreasing score, which the spec leaves for equal scores.
ONNX = Semantics("onnx", threshold="dtype", corners="any")


def documented(framework: str, case: Case) -> Semantics:
    return ONNX if framework == "onnxruntime" else DOCUMENTED


def predicted(framework: str, case: Case) -> list[tuple[str, Semantics]]:
    """(divergence names, the semantics they predict together) for every combination of the
    applicable predictions, smallest first: the judge names the fewest that explain a result."""
    found = [(d.name, d.predict) for d in applicable(case, framework) if d.predict is not None]
    out = []
    for size in range(1, len(found) + 1):
        for combo in combinations(found, size):
            sem = documented(framework, case)
            for _, predict in combo:
                sem = predict(sem)
            out.append((", ".join(name for name, _ in combo), sem))
    return out


def needed(case: Case, frameworks: tuple[str, ...]) -> list[Semantics]:
    """Every reference evaluation this case's verdicts need (documented + predicted), each once."""
    return evaluations.needed(frameworks, lambda fw: (documented(fw, case), *(s for _, s in predicted(fw, case))))
