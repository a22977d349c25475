"""Which reference evaluations a case's verdicts need: each framework's documented semantics for
its call, and what each declared divergence predicts it computes."""
from __future__ import annotations

from parity.engine import evaluations
from parity.engine.model import Case
from parity.ops.box_iou.divergences import applicable
from parity.ops.box_iou.reference import Semantics
from parity.ops.box_iou.signature import Attrs, to_mindspore


def documented(framework: str, case: Case) -> Semantics:
    attrs: Attrs = case.attrs
    if framework == "mindspore":
        call = to_mindspore(attrs, case.port)
        key = f"mindspore_{case.port.value}_{attrs.mode}"
        return Semantics(key, rows=call.gt, cols=call.anchor, mode=attrs.mode, shift=call.shift, dtype_shift=True, domain=framework)
    return Semantics(framework, rows="boxes1", cols="boxes2", domain=framework)


def predicted(framework: str, case: Case) -> list[tuple[str, Semantics]]:
    """(divergence name, the semantics it predicts) for each prediction that applies."""
    base = documented(framework, case)
    return [(d.name, d.predict(base)) for d in applicable(case, framework) if d.predict is not None]


def needed(case: Case, frameworks: tuple[str, ...]) -> list[Semantics]:
    """Every reference evaluation this case's verdicts need (documented + predicted), each once."""
    return evaluations.needed(frameworks, lambda fw: (documented(fw, case), *(s for _, s in predicted(fw, case))))
