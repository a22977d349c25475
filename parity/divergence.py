"""Known divergences, declared as data: scope, explanation, evidence and a checkable prediction.

A divergence is never a skipped check.  It predicts what each framework computes inside its
scope (as a reference evaluation), and the judge grants EXPECTED_DIVERGENCE only when the
observed outputs match that prediction; a framework that changes yields DIVERGENCE_CHANGED.
"""
from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Any, Callable

from parity.mapping import MindSporeCall, Semantics, mindspore_semantics, to_mindspore, torchvision_semantics
from parity.model import Attrs, Port

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Condition:
    """``field op value`` over the case's calls: ``torchvision.<attr>``, ``mindspore.<arg>`` or ``port``."""

    field: str
    op: str
    value: Any

    def holds(self, attrs: Attrs, call: MindSporeCall, port: Port) -> bool:
        side, _, name = self.field.partition(".")
        source = {"torchvision": attrs, "mindspore": call}.get(side)
        actual = port.value if self.field == "port" else getattr(source, name)
        return _OPS[self.op](actual, self.value)


@dataclass(frozen=True)
class Divergence:
    """A declared difference between torchvision and MindSpore.

    ``predictions`` maps a framework to the semantics it is predicted to follow inside the
    scope; frameworks not listed are predicted to follow their own documented semantics.
    ``documented`` says whether a framework's documentation states the difference (True) or
    it was found by measurement (False, with ``evidence``).
    """

    name: str
    scope: tuple[Condition, ...]
    explanation: str
    documented: bool
    evidence: str = ""
    predictions: tuple[tuple[str, str], ...] = ()  # (framework, variant name in VARIANTS)

    def applies(self, attrs: Attrs, port: Port) -> bool:
        call = to_mindspore(attrs, port)
        return all(c.holds(attrs, call, port) for c in self.scope)



def _floor_grid_no_guard(sem: Semantics) -> Semantics:
    conv = dataclasses.replace(
        sem.convention,
        name=sem.convention.name + " [floor grid, no empty-grid guard]",
        adaptive_grid="floor",
        empty_grid_nan=True,
    )
    return Semantics(conv, sem.sampling_ratio)


VARIANTS: dict[str, Callable[[Semantics], Semantics]] = {
    "floor-grid-no-guard": _floor_grid_no_guard,
}

DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        name="aligned-vs-roi-end-mode-1",
        scope=(Condition("torchvision.aligned", "==", True), Condition("mindspore.roi_end_mode", "==", 1)),
        explanation=(
            "torchvision aligned=True shifts the whole roi by -0.5 pixel (x*s - 0.5) and does not clamp its "
            "size; MindSpore roi_end_mode=1 keeps the start (x1*s), moves the end to (x2+1)*s and does not "
            "clamp either. Same call in the migration note, different sampling windows."
        ),
        documented=True,
        evidence="MindSpore migration note for torchvision.ops.roi_align: 'different for True'.",
    ),
    Divergence(
        name="ported-with-defaults",
        scope=(Condition("port", "==", Port.DEFAULTS.value),),
        explanation=(
            "A call ported by renaming only keeps MindSpore's defaults sample_num=2 and roi_end_mode=1, "
            "while torchvision's defaults are sampling_ratio=-1 (adaptive) and aligned=False: a different "
            "sampling grid and a different roi end."
        ),
        documented=True,
        evidence="Defaults in both frameworks' signatures (mapping table rows sampling_ratio, aligned).",
    ),
    Divergence(
        name="mindspore-adaptive-sampling",
        scope=(Condition("mindspore.sample_num", "<=", 0),),
        explanation=(
            "With sample_num <= 0 MindSpore uses floor(roi_size / pooled_size) samples per bin side where "
            "torchvision (and MindSpore's own 'legacy implementation' wording) uses ceil, and divides by "
            "gh*gw without torchvision's max(., 1) guard: bins smaller than one pixel give 0/0 = NaN, and "
            "every other roi whose size is not a multiple of the output size is sampled more coarsely."
        ),
        documented=False,
        evidence=(
            "Measured on mindspore 2.10.0 CPU: with the prediction below, max |MindSpore - reference| "
            "<= 1e-6 over 40 random rois (sample_num 0, both roi_end_modes) and NaN exactly where the "
            "floor grid is empty; against the documented (ceil) semantics the difference is O(0.1-1) "
            "and NaN. The MindSpore CPU kernel source computes "
            "static_cast<int>(floor(roi_height / pooled_height)) and count = gh * gw."
        ),
        predictions=(("mindspore", "floor-grid-no-guard"),),
    ),
)


def applicable(attrs: Attrs, port: Port) -> tuple[Divergence, ...]:
    """The declared divergences whose scope contains this case."""
    return tuple(d for d in DIVERGENCES if d.applies(attrs, port))


def documented_semantics(framework: str, attrs: Attrs, port: Port) -> Semantics:
    """What ``framework`` documents for its (mapped) call."""
    if framework == "torchvision":
        return torchvision_semantics(attrs)
    return mindspore_semantics(to_mindspore(attrs, port))


def predicted_semantics(framework: str, attrs: Attrs, port: Port) -> Semantics:
    """Documented semantics with every in-scope divergence's variant for ``framework`` applied."""
    sem = documented_semantics(framework, attrs, port)
    for d in applicable(attrs, port):
        for fw, variant in d.predictions:
            if fw == framework:
                sem = VARIANTS[variant](sem)
    return sem
