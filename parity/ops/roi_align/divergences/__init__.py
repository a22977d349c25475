"""The catalogue of declared divergences (data only; the machinery is parity.ops.roi_align.divergence).

Each entry names its scope, explains the difference, says whether a framework documents it
or it was found by measurement (with the evidence), and predicts what each framework does.
The entries live by theme, one module each: ``core`` (the torchvision -> MindSpore mapping on valid
inputs), ``edge`` (the edge of the domain, float16 accumulation), ``robustness`` (invalid input),
``other_frameworks`` (ONNX Runtime, Paddle), ``backward`` (the gradient alone) and ``random_findings``
(the random suite).  :data:`DIVERGENCES` joins them in one fixed order: the order reports list them in.
May import: parity.engine, parity.frameworks, and parity.ops.roi_align.
"""
from __future__ import annotations

from parity.ops.roi_align.divergence import Divergence
from parity.ops.roi_align.divergences.backward import BACKWARD
from parity.ops.roi_align.divergences.core import CORE, MINDSPORE_ROIS
from parity.ops.roi_align.divergences.edge import EDGE, PRECISION
from parity.ops.roi_align.divergences.other_frameworks import FLOAT32_SCALE, OTHER_FRAMEWORKS
from parity.ops.roi_align.divergences.random_findings import RANDOM_FINDINGS
from parity.ops.roi_align.divergences.robustness import OTHER_ROBUSTNESS, PADDLE_INVALID, ROBUSTNESS

DIVERGENCES: tuple[Divergence, ...] = (
    CORE + MINDSPORE_ROIS + EDGE + PRECISION + ROBUSTNESS + OTHER_FRAMEWORKS + OTHER_ROBUSTNESS + PADDLE_INVALID
    + FLOAT32_SCALE + BACKWARD + RANDOM_FINDINGS
)
